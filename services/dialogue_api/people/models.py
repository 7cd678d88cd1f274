from __future__ import annotations

from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.people.schemas import PersonRole
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Person(Timestamped, Versioned, Base):
    """Someone who takes part in the dialogue: a mayor, a focal point, an expert…"""

    __tablename__ = "person"
    __audit__: ClassVar[Audited | None] = Audited(resource="person", city="city_code")
    __table_args__ = (Index("ix_person_city", "city_code", "id"), distribution(REFERENCE))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    organisation: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[PersonRole] = mapped_column(StrEnumColumn(PersonRole, 32))
    city_code: Mapped[str | None] = mapped_column(ForeignKey("city_ref.code", ondelete="RESTRICT"))
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    consent_listed: Mapped[bool] = mapped_column(server_default="false")
    consent_contact: Mapped[bool] = mapped_column(server_default="false")


# E-mail addresses are unique whatever their case.
Index("uq_person_email", func.lower(Person.email), unique=True)
