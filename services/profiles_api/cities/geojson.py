"""The network's cities as a GeoJSON FeatureCollection (RFC 7946), for mapping tools.

Each city is a ``Point`` at ``[longitude, latitude]`` (RFC 7946 §3.1.1: longitude first), or
a null geometry when its location is not known (RFC 7946 §3.2 allows it). Properties: code,
names (every language) and the name in the caller's language, country, region, membership.
With an indicator, each city's latest preferred total of it (as ``/v1/compare`` reads it;
totals are never suppressed, for any caller) is added as flat properties, which is what
mapping tools style and label by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.models import City
from services.profiles_api.cities.repository import CityRepository
from shared.i18n import Languages

GEOJSON_MEDIA_TYPE = "application/geo+json"


def city_feature(city: City, languages: Languages) -> dict[str, Any]:
    """A city as a GeoJSON Feature, without figures."""
    located = city.longitude is not None and city.latitude is not None
    return {
        "type": "Feature",
        "id": city.code,
        "geometry": (
            {"type": "Point", "coordinates": [city.longitude, city.latitude]} if located else None
        ),
        "properties": {
            "code": city.code,
            "name": languages.text(city.names) or city.code,
            "names": dict(city.names),
            "country": city.country,
            "region": str(city.region),
            "membership": str(city.membership_status),
            "membership_since": (
                city.membership_since.isoformat() if city.membership_since else None
            ),
        },
    }


async def feature_collection(
    session: AsyncSession,
    cities: Sequence[City],
    languages: Languages,
    *,
    indicator: str | None,
) -> dict[str, Any]:
    """The cities as a FeatureCollection, each with ``indicator``'s latest preferred total
    (``LookupError`` when the indicator is unknown). Totals are what every caller reads
    alike: the suppression rule hides small breakdowns only."""
    features = [city_feature(city, languages) for city in cities]
    if indicator is not None:
        repository = CityRepository.from_session(session)
        definition = await repository.indicator(indicator)
        if definition is None:
            raise LookupError(f"unknown indicator: {indicator}")
        totals = {
            observation.city_code: (observation, source)
            for observation, source in await repository.latest_totals(
                indicator, [city.code for city in cities]
            )
        }
        for feature in features:
            observation, source = totals.get(feature["id"], (None, None))
            feature["properties"] |= {
                "indicator": indicator,
                "unit": str(definition.unit),
                "value": observation.value if observation else None,
                "value_low": observation.value_low if observation else None,
                "value_high": observation.value_high if observation else None,
                "obs_status": str(observation.obs_status) if observation else None,
                "period": observation.period if observation else None,
                "scope": observation.scope if observation else None,
                "source": source.title if source else None,
                "source_url": source.url if source else None,
            }
    return {"type": "FeatureCollection", "features": features}
