"""Loading the demo data of every service, in the order they depend on each other.

Profiles first (it owns the cities, the indicator catalogue and the assessments); then the
dialogue's read models of the cities, of the catalogue and of the published assessments,
filled from the same contracts the worker applies from ``city.*``, ``indicator.changed`` and
``assessment.published`` events (applying one twice changes nothing); then the dialogue's
story.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.assessments.service import apply_assessment_published
from services.dialogue_api.cities.service import resync_city_refs
from services.dialogue_api.demo.seed import SeedResult as DialogueSeedResult
from services.dialogue_api.demo.seed import seed as seed_dialogue
from services.dialogue_api.indicators.service import resync_indicator_refs
from services.profiles_api.assessments.announcements import published_assessments
from services.profiles_api.cities.service import city_refs
from services.profiles_api.demo.seed import SeedResult as ProfilesSeedResult
from services.profiles_api.demo.seed import seed as seed_profiles
from services.profiles_api.indicators.service import indicator_refs
from shared.settings import Settings


@dataclass
class SeedReport:
    profiles: ProfilesSeedResult
    cities_synced: int
    dialogue: DialogueSeedResult


async def seed_all(session: AsyncSession, *, editions: Settings | None = None) -> SeedReport:
    """Load every service's demo data; idempotent. With the platform's ``editions``
    settings, also publish the demo editions (``make dev``, ``mc2cm seed``)."""
    profiles = await seed_profiles(session, editions=editions)
    synced = await resync_city_refs(session, await city_refs(session))
    await resync_indicator_refs(session, await indicator_refs(session))
    for published in await published_assessments(session):
        await apply_assessment_published(session, published)
    dialogue = await seed_dialogue(session)
    return SeedReport(profiles=profiles, cities_synced=synced, dialogue=dialogue)


def describe_seed(report: SeedReport) -> str:
    """One paragraph saying what seeding added."""
    profiles, dialogue = report.profiles, report.dialogue
    return (
        f"Demo data: {profiles.cities_created} cities and {profiles.indicators_created} "
        f"indicators added; figures {profiles.figures.inserted} inserted, "
        f"{profiles.figures.updated} updated, {profiles.figures.unchanged} unchanged; "
        f"{profiles.sections_published} demo sections published, "
        f"{profiles.challenges_created} demo challenges added, "
        f"{len(profiles.editions_published)} demo editions published "
        f"({', '.join(profiles.editions_published) or 'none'}), "
        f"{profiles.frameworks_published} assessment frameworks and "
        f"{profiles.assessments_published} demo assessments published, "
        f"demo focal points given to "
        f"{profiles.focal_points_added} existing cities; "
        f"{report.cities_synced} cities synced to the dialogue; {dialogue.events_created} "
        f"events, {dialogue.people_created} people, {dialogue.registrations_created} "
        f"registrations, {dialogue.recommendations_created} recommendations and "
        f"{dialogue.actions_created} actions added."
    )
