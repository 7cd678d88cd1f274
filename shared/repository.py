"""A repository bound to a session, typed by the model it stores."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.exc import StaleDataError

from shared.errors import PreconditionFailed

M = TypeVar("M", bound=DeclarativeBase)


class Repository(Generic[M]):
    """Queries of one model; subclasses set ``model`` and add their own queries."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def get(self, ident: Any) -> M | None:
        return await self.session.get(self.model, ident)

    async def add(self, instance: M) -> M:
        self.session.add(instance)
        await self.session.flush()
        return instance

    async def flush(self, *, resource: str | None = None) -> None:
        """Write pending changes; 412 if a versioned row changed since it was read."""
        try:
            await self.session.flush()
        except StaleDataError as exc:
            name = resource or self.model.__tablename__
            raise PreconditionFailed(
                f"The {name} was changed by someone else meanwhile; read it again and reapply "
                "your change."
            ) from exc

    async def save_changes(self, instance: M, *, resource: str | None = None) -> bool:
        """Write the changes made to a versioned ``instance``, raising its version by one.

        A change that changes nothing is no change: no write, same version (same ETag), and
        ``False`` so the caller announces nothing. 412 if the row changed since it was read.
        """
        if not self.session.is_modified(instance):
            return False
        instance.version += 1  # type: ignore[attr-defined]
        await self.flush(resource=resource)
        await self.session.refresh(instance)
        return True

    async def delete(self, instance: M) -> None:
        await self.session.delete(instance)
        await self.flush()
