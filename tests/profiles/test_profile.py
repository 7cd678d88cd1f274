"""A city's assembled profile: preferred latest figures, published sections, needs, coverage."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.profiles.repository import theme_coverage
from tests.factories import Api, assert_problem, observation

MADRID_SOURCE = "MC2CM City Migration Profile Madrid (city migration dashboard)"
THEMES = {
    "demography",
    "intercultural",
    "health",
    "education",
    "housing",
    "urban_planning",
    "human_rights",
    "co_development",
    "employment",
}


async def profile(api: Api, code: str = "ESMAD", **kwargs: Any) -> dict[str, Any]:
    response = await api.get(f"/v1/cities/{code}/profile", **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def barcelona(api: Api) -> str:
    """A city added for the test, with no figures, sections or challenges (the demo data gives
    each of the network's cities a published narrative and challenges); its code."""
    created = await api.post(
        "/v1/cities",
        role=Api.ADMIN,
        json={
            "code": "ESBCN",
            "names": {"en": "Barcelona"},
            "country": "ES",
            "region": "europe",
            "timezone": "Europe/Madrid",
            "membership": {"status": "expected"},
        },
    )
    assert created.status_code == 201, created.text
    return "ESBCN"


def figure(body: dict[str, Any], indicator: str) -> dict[str, Any]:
    found = [f for f in body["figures"] if f["indicator"] == indicator]
    assert len(found) == 1, (indicator, [f["indicator"] for f in body["figures"]])
    return found[0]


def coverage(body: dict[str, Any], theme: str) -> dict[str, Any]:
    [row] = [row for row in body["coverage"] if row["theme"] == theme]
    return row


async def write_observations(api: Api, *observations: dict[str, Any]) -> None:
    response = await api.post(
        "/v1/observations", role=Api.ADMIN, json={"observations": list(observations)}
    )
    assert response.status_code == 200, response.text


def madrid(**overrides: Any) -> dict[str, Any]:
    """An observation of Madrid's foreign nationals, with a source given inline."""
    body = observation(
        city="ESMAD",
        period="2017-07-01",
        value=405233,
        source={"title": "Padrón municipal 2017", "url": "https://www.madrid.es/padron"},
    )
    body.update(overrides)
    return body


# Figures


async def test_madrid_foreign_nationals_is_405233_with_its_source_and_status(api: Api) -> None:
    body = await profile(api)
    foreign = figure(body, "foreign_nationals")
    assert foreign["value"] == 405233, foreign
    assert (foreign["period"], foreign["scope"], foreign["obs_status"]) == (
        "2017-07-01",
        "municipality",
        "A",
    ), foreign
    assert foreign["source"]["title"] == MADRID_SOURCE, foreign["source"]
    assert foreign["source"]["kind"] == "mc2cm_profile", foreign["source"]
    assert foreign["unit"] == "persons" and foreign["population_concept"] == "citizenship"


async def test_profile_figures_are_totals_only(api: Api) -> None:
    body = await profile(api)
    indicators = [f["indicator"] for f in body["figures"]]
    assert indicators == ["foreign_born", "foreign_born_share", "foreign_nationals"], indicators
    # Madrid's shares by citizenship exist only broken down: they are no total figure.
    lisbon = await profile(api, "PTLIS")
    assert figure(lisbon, "foreign_nationals")["value"] == 260503, lisbon["figures"]


async def test_less_reliable_source_does_not_replace_the_preferred_value(api: Api) -> None:
    press = {"title": "El País", "url": "https://elpais.com/madrid", "kind": "press"}
    await write_observations(api, madrid(value=410000, source=press))
    foreign = figure(await profile(api), "foreign_nationals")
    assert (foreign["value"], foreign["source"]["title"]) == (405233, MADRID_SOURCE), foreign


async def test_more_reliable_source_becomes_the_preferred_value(api: Api) -> None:
    census = {
        "title": "Padrón municipal 2017",
        "url": "https://www.madrid.es/p",
        "kind": "register",
    }
    await write_observations(api, madrid(value=404000, source=census))
    foreign = figure(await profile(api), "foreign_nationals")
    assert (foreign["value"], foreign["source"]["title"]) == (404000, "Padrón municipal 2017")


async def test_newer_period_is_the_latest_value(api: Api) -> None:
    await write_observations(api, madrid(period="2023", value=598000, obs_status="P"))
    foreign = figure(await profile(api), "foreign_nationals")
    assert (foreign["period"], foreign["value"], foreign["obs_status"]) == ("2023", 598000, "P")


async def test_city_without_figures_has_an_empty_profile(api: Api) -> None:
    body = await profile(api, await barcelona(api))
    assert body["city"]["code"] == "ESBCN", body["city"]
    assert (body["figures"], body["sections"], body["challenges"]) == ([], [], []), body
    assert all(row["with_data"] == 0 for row in body["coverage"]), body["coverage"]


async def test_profile_of_unknown_city_is_404(api: Api) -> None:
    assert_problem(await api.get("/v1/cities/XXABC/profile"), 404)


async def test_profile_hides_focal_points_from_anonymous_callers(api: Api) -> None:
    etag = (await api.get("/v1/cities/ESMAD")).headers["ETag"]
    changed = await api.patch(
        "/v1/cities/ESMAD",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"focal_points": [{"kind": "technical", "name": "Lucía Gómez"}]},
    )
    assert changed.status_code == 200, changed.text
    assert (await profile(api))["city"]["focal_points"] is None
    shown = (await profile(api, role=Api.VIEWER))["city"]["focal_points"]
    assert [fp["name"] for fp in shown] == ["Lucía Gómez"], shown


async def test_profile_names_follow_accept_language(api: Api) -> None:
    body = await profile(api, headers={"Accept-Language": "fr"})
    assert body["city"]["name"] == "Madrid", body["city"]
    assert figure(body, "foreign_born")["name"] == "Résidents nés à l'étranger", body["figures"]
    assert coverage(body, "demography")["name"] == "Démographie", body["coverage"]


# Sections and challenges


async def test_profile_shows_only_published_sections_with_their_published_text(
    api: Api,
) -> None:
    city = await barcelona(api)
    editor: dict[str, Any] = {"role": Api.EDITOR, "cities": (city,)}
    url = f"/v1/cities/{city}/sections/housing"
    etag = (await api.put(url, json={"narrative": {"en": "Published text."}}, **editor)).headers[
        "ETag"
    ]
    for status in ("in_review", "published"):
        moved = await api.post(
            f"{url}/status", headers={"If-Match": etag}, json={"status": status}, **editor
        )
        assert moved.status_code == 200, moved.text
        etag = moved.headers["ETag"]
    rewritten = await api.put(
        url, headers={"If-Match": etag}, json={"narrative": {"en": "Draft text."}}, **editor
    )
    assert rewritten.status_code == 200, rewritten.text
    draft_only = await api.put(
        f"/v1/cities/{city}/sections/health",
        json={"narrative": {"en": "Never published."}},
        **editor,
    )
    assert draft_only.status_code == 201, draft_only.text

    for caller in ({}, editor):
        sections = (await profile(api, city, **caller))["sections"]
        shown = [(s["code"], s["status"], s["narrative"]) for s in sections]
        assert shown == [("housing", "published", "Published text.")], (caller, shown)


async def test_profile_lists_the_citys_challenges(api: Api) -> None:
    city = await barcelona(api)
    created = await api.post(
        f"/v1/cities/{city}/challenges",
        role=Api.ADMIN,
        json={
            "theme": "employment",
            "need_type": "capabilities",
            "description": {"en": "Recognition of foreign diplomas takes years."},
        },
    )
    assert created.status_code == 201, created.text
    other = await api.post(
        "/v1/cities/FRLYS/challenges",
        role=Api.ADMIN,
        json={"theme": "health", "need_type": "resources", "description": {"en": "Lyon"}},
    )
    assert other.status_code == 201, other.text
    challenges = (await profile(api, city))["challenges"]
    assert [c["id"] for c in challenges] == [created.json()["id"]], challenges


# Coverage


async def test_coverage_has_every_theme_with_its_catalogue_size(api: Api) -> None:
    body = await profile(api)
    assert {row["theme"] for row in body["coverage"]} == THEMES, body["coverage"]
    for row in body["coverage"]:
        listed = await api.get("/v1/indicators", params={"theme": row["theme"], "limit": 1000})
        size = len(listed.json()["items"])
        assert row["indicators"] == size, (row, size)


async def test_madrid_coverage_counts_indicators_with_data_and_recent_data(api: Api) -> None:
    body = await profile(api)
    demography = coverage(body, "demography")
    # foreign_nationals, foreign_born, foreign_born_share and the shares by citizenship.
    assert (demography["with_data"], demography["recent"]) == (4, 0), demography
    assert demography["latest_period_end"] == "2017-12-31", demography
    assert coverage(body, "health")["with_data"] == 0, body["coverage"]


async def test_recent_figure_counts_as_recent_coverage(api: Api) -> None:
    current_year = str(date.today().year - 1)
    await write_observations(
        api,
        madrid(period=current_year, value=600000),
        madrid(indicator="work_permits", period=current_year, value=12000),
    )
    body = await profile(api)
    demography = coverage(body, "demography")
    assert (demography["with_data"], demography["recent"]) == (4, 1), demography
    assert demography["latest_period_end"] == f"{current_year}-12-31", demography
    employment = coverage(body, "employment")
    assert (employment["with_data"], employment["recent"]) == (1, 1), employment


async def test_coverage_is_computed_on_the_29th_of_february(session: AsyncSession) -> None:
    rows = {row.theme: row for row in await theme_coverage(session, "ESMAD", date(2028, 2, 29))}
    assert rows["demography"].with_data == 4, rows["demography"]
    recent = {row.theme: row for row in await theme_coverage(session, "ESMAD", date(2022, 7, 1))}
    assert recent["demography"].recent == 4, recent["demography"]
