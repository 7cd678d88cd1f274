from __future__ import annotations

from datetime import date
from typing import ClassVar

from sqlalchemy import BigInteger, Date, Identity, Index, SmallInteger, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from services.profiles_api.sources.schemas import SourceKind
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Source(Timestamped, Versioned, Base):
    __tablename__ = "source"
    __audit__: ClassVar[Audited | None] = Audited(resource="source")
    __table_args__ = (distribution(REFERENCE),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[SourceKind] = mapped_column(StrEnumColumn(SourceKind, 32))
    reliability_rank: Mapped[int] = mapped_column(SmallInteger)
    licence: Mapped[str | None] = mapped_column(Text)
    accessed_on: Mapped[date | None] = mapped_column(Date)


# A source is the same source when its title and address are: imports match sources on this.
Index("uq_source_title_url", Source.title, func.coalesce(Source.url, ""), unique=True)
