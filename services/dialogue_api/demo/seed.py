"""Demo data of the dialogue for ``make dev`` and the tests (filled in by the demo story)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class SeedResult:
    events_created: int = 0
    people_created: int = 0
    registrations_created: int = 0
    recommendations_created: int = 0
    actions_created: int = 0


async def seed(session: AsyncSession) -> SeedResult:
    """Load the demo story; idempotent."""
    return SeedResult()
