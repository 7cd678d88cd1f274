"""SDMX: the structure of the platform's data, generated from its catalogue."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.sdmx.catalogue import Catalogue, IndicatorEntry
from services.profiles_api.sdmx.export import ExportWrite, sdmx_csv_writer
from services.profiles_api.sdmx.repository import CatalogueRepository
from services.profiles_api.sdmx.structure import structure_message


async def load_catalogue(session: AsyncSession) -> Catalogue:
    """The catalogue as it is now: cities, indicators, their breakdowns, and its version."""
    repository = CatalogueRepository.from_session(session)
    indicators = {
        row.code: IndicatorEntry(
            code=row.code,
            names=row.names,
            unit=row.unit.value,
            breakdowns=tuple(row.dimensions),
        )
        for row in await repository.indicators()
    }
    return Catalogue(
        cities={row.code: row.names for row in await repository.cities()},
        indicators=indicators,
        breakdowns=tuple(sorted({name for i in indicators.values() for name in i.breakdowns})),
        last_change=await repository.last_change(),
    )


async def structure(session: AsyncSession) -> tuple[str, bytes]:
    """The SDMX-ML 3.0 structure message of ``MC2CM:CITY_MIGRATION``, and its version."""
    catalogue = await load_catalogue(session)
    return catalogue.version, structure_message(catalogue)


async def source_ids_by_title(session: AsyncSession) -> dict[str, list[int]]:
    """The sources of each title, for ``SOURCE`` cells of an SDMX-CSV import."""
    return await CatalogueRepository.from_session(session).source_ids_by_title()


async def sdmx_csv_export(session: AsyncSession) -> ExportWrite:
    """The SDMX-CSV writer of observations for the catalogue as it is now."""
    return sdmx_csv_writer(await load_catalogue(session))
