"""The network's cities as GeoJSON (RFC 7946), for mapping tools, read by geojson-pydantic."""

from __future__ import annotations

from typing import Any

import httpx
from geojson_pydantic import FeatureCollection

from shared.auth import Role
from tests.factories import Api, assert_problem, error_fields, new_city

GEOJSON = "application/geo+json"


def collection(response: httpx.Response) -> dict[str, Any]:
    """The FeatureCollection of ``response``, valid by the GeoJSON schema."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(GEOJSON), response.headers
    FeatureCollection.model_validate_json(response.content)
    body: dict[str, Any] = response.json()
    return body


async def test_the_cities_are_a_valid_feature_collection_in_longitude_latitude_order(
    api: Api,
) -> None:
    listed = (await api.get("/v1/cities", params={"limit": 100})).json()["items"]

    body = collection(await api.get("/v1/cities", headers={"Accept": GEOJSON}))

    assert body["type"] == "FeatureCollection"
    features = {feature["properties"]["code"]: feature for feature in body["features"]}
    assert set(features) == {city["code"] for city in listed}, features.keys()
    lisbon = features["PTLIS"]
    assert lisbon["geometry"]["type"] == "Point", lisbon
    longitude, latitude = lisbon["geometry"]["coordinates"]
    # Lisbon is west of Greenwich (negative longitude) and about 38.7° north.
    assert -10 < longitude < -9 and 38 < latitude < 39, lisbon["geometry"]
    properties = lisbon["properties"]
    assert properties["names"]["en"] == "Lisbon", properties
    assert (properties["region"], properties["membership"]) == ("europe", "confirmed"), properties


async def test_a_city_without_a_location_has_a_null_geometry(api: Api) -> None:
    city = new_city(latitude=None, longitude=None)
    created = await api.post("/v1/cities", json=city, role=Role.admin)
    assert created.status_code == 201, created.text

    body = collection(await api.get("/v1/cities", params={"format": "geojson"}))

    feature = next(f for f in body["features"] if f["properties"]["code"] == city["code"])
    assert feature["geometry"] is None, feature


async def test_an_indicator_adds_each_citys_latest_preferred_total(api: Api) -> None:
    params = {"indicator": "foreign_nationals", "cities": "ESMAD,ITTRN,PTLIS"}
    compared = {
        v["city"]: v for v in (await api.get("/v1/compare", params=params)).json()["values"]
    }

    body = collection(
        await api.get(
            "/v1/cities",
            params={"format": "geojson", "indicator": "foreign_nationals", "region": "europe"},
        )
    )

    features = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert {"ESMAD", "ITTRN", "PTLIS"} <= set(features), features.keys()
    for code, value in compared.items():
        properties = features[code]
        assert properties["indicator"] == "foreign_nationals", properties
        assert (properties["value"], properties["period"]) == (value["value"], value["period"])
        expected_source = value["source"]["title"] if value["source"] else None
        assert properties["source"] == expected_source, properties
    assert features["ITTRN"]["value"] is not None, features["ITTRN"]
    assert {p["region"] for p in features.values()} == {"europe"}, features


async def test_unknown_indicator_and_bad_format_are_refused_naming_them(api: Api) -> None:
    unknown = await api.get("/v1/cities", params={"format": "geojson", "indicator": "nope"})
    bad = await api.get("/v1/cities", params={"format": "kml"})
    without = await api.get("/v1/cities", params={"indicator": "foreign_nationals"})
    paged = await api.get("/v1/cities", params={"format": "geojson", "limit": 5})

    assert "indicator" in error_fields(assert_problem(unknown, 422))
    assert "format" in error_fields(assert_problem(bad, 422))
    assert "indicator" in error_fields(assert_problem(without, 422))
    assert "limit" in error_fields(assert_problem(paged, 422))
