"""A valid request of every operation of both APIs, on objects of Lisbon made for it.

``BUILDERS`` maps (service, operation id) to a function that creates, as an administrator,
what the request needs (a fresh object each time, so deletes can run once per caller) and
returns the request with the city its object belongs to and what a refused caller must never
see of it. Used by the authorisation matrix test and the object-level tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.models import Notification
from shared.access_matrix import DIALOGUE, PROFILES
from tests.dialogue.factories import new_action, new_event, new_person, new_recommendation
from tests.factories import CSV_HEADER, Api, new_challenge, new_city, new_indicator

#: The city whose objects the matrix is proven on, and the city of the "other" editor.
CITY = "PTLIS"
OTHER_CITY = "FRLYS"


@dataclass
class World:
    """The two APIs inside the test's transaction, and its session."""

    profiles: Api
    dialogue: Api
    session: AsyncSession

    def client(self, service: str) -> Api:
        return self.profiles if service == PROFILES else self.dialogue


@dataclass
class Call:
    """A valid request of an operation, on an object of ``city``; ``private`` holds what a
    refused caller must never see of the object (names, titles, e-mail addresses), and
    ``witness`` a URL whose reading a refused change must leave as it was."""

    method: str
    url: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    city: str = CITY
    private: tuple[str, ...] = ()
    witness: str | None = None

    def witness_url(self) -> str | None:
        """What an administrator reads before and after a refused change, which must not
        differ: ``witness``, else the URL of the call itself (without its query)."""
        if self.method == "GET":
            return None
        return self.witness or self.url.split("?", 1)[0]


Builder = Callable[[World], Awaitable[Call]]
BUILDERS: dict[tuple[str, str], Builder] = {}


def builds(service: str, operation_id: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        BUILDERS[(service, operation_id)] = builder
        return builder

    return register


def secret() -> str:
    """A text only one object holds, to look for in answers to refused callers."""
    return f"Confidential {uuid.uuid4().hex[:12]}"


async def made(client: Api, url: str, body: Any, *, method: str = "POST") -> dict[str, Any]:
    """What an administrator creates at ``url``."""
    response = await client.request(method, url, role=Api.ADMIN, json=body)
    assert response.status_code in (200, 201), f"{method} {url}: {response.text}"
    created: dict[str, Any] = response.json()
    return created


async def etag(client: Api, url: str) -> dict[str, str]:
    """``If-Match`` with the ETag of what ``url`` is now (read by an administrator)."""
    response = await client.get(url, role=Api.ADMIN)
    assert response.status_code == 200, f"GET {url}: {response.text}"
    return {"If-Match": response.headers["ETag"]}


# --- profiles -------------------------------------------------------------------------------


def _plain(service: str, operation_id: str, method: str, url: str) -> None:
    async def build(world: World) -> Call:
        return Call(method, url)

    BUILDERS[(service, operation_id)] = build


for _service in (PROFILES, DIALOGUE):
    _plain(_service, "healthz", "GET", "/healthz")
    _plain(_service, "readyz", "GET", "/readyz")
    _plain(_service, "metrics", "GET", "/metrics")
    _plain(_service, "api_index", "GET", "/v1")
    _plain(_service, "list_cities", "GET", "/v1/cities")
    _plain(_service, "get_city", "GET", f"/v1/cities/{CITY}")
    _plain(_service, "list_audit", "GET", f"/v1/audit?city={CITY}")
_plain(PROFILES, "list_themes", "GET", "/v1/themes")
_plain(PROFILES, "list_indicators", "GET", "/v1/indicators")
_plain(PROFILES, "get_indicator", "GET", "/v1/indicators/foreign_nationals")
_plain(PROFILES, "list_sources", "GET", "/v1/sources")
_plain(PROFILES, "get_sdmx_structure", "GET", "/v1/sdmx/structure")
_plain(PROFILES, "list_observations", "GET", f"/v1/observations?city={CITY}")
_plain(PROFILES, "list_sections", "GET", f"/v1/cities/{CITY}/sections")
_plain(PROFILES, "list_challenges", "GET", f"/v1/cities/{CITY}/challenges")
_plain(PROFILES, "get_profile", "GET", f"/v1/cities/{CITY}/profile")
_plain(PROFILES, "list_editions", "GET", f"/v1/cities/{CITY}/editions")
_plain(PROFILES, "compare_cities", "GET", f"/v1/compare?indicator=foreign_nationals&cities={CITY}")
_plain(PROFILES, "get_indicator_chart", "GET", f"/v1/cities/{CITY}/charts/foreign_nationals")
_plain(PROFILES, "get_report_preview", "GET", f"/v1/cities/{CITY}/report")
_plain(
    PROFILES,
    "get_compare_chart",
    "GET",
    f"/v1/compare/chart?indicator=foreign_nationals&cities={CITY}",
)
_plain(PROFILES, "list_aggregates", "GET", "/v1/aggregates")
_plain(PROFILES, "list_derived_values", "GET", f"/v1/derived-values?city={CITY}")
_plain(PROFILES, "coverage_matrix", "GET", f"/v1/coverage?city={CITY}")
_plain(PROFILES, "list_aggregation_runs", "GET", "/v1/aggregation-runs")
_plain(DIALOGUE, "list_events", "GET", "/v1/events")
_plain(DIALOGUE, "list_people", "GET", "/v1/people")
_plain(DIALOGUE, "list_recommendations", "GET", "/v1/recommendations")
_plain(DIALOGUE, "list_assessment_gaps", "GET", f"/v1/cities/{CITY}/assessment-gaps")
_plain(DIALOGUE, "list_actions", "GET", "/v1/actions")
_plain(DIALOGUE, "list_exchanges", "GET", "/v1/exchanges")
_plain(DIALOGUE, "propose_matches", "GET", "/v1/exchanges/matches")
# The public pages.
_plain(PROFILES, "index_page", "GET", "/")
_plain(PROFILES, "city_page", "GET", f"/cities/{CITY}")
_plain(PROFILES, "city_editions_page", "GET", f"/cities/{CITY}/editions")
_plain(PROFILES, "compare_page", "GET", f"/compare?indicator=foreign_nationals&cities={CITY}")
_plain(DIALOGUE, "events_page", "GET", "/events")
_plain(DIALOGUE, "get_calendar_feed", "GET", "/v1/calendar.ics")
_plain(DIALOGUE, "list_webhooks", "GET", "/v1/webhooks")
_plain(DIALOGUE, "list_notifications", "GET", "/v1/notifications")


@builds(PROFILES, "create_city")
async def _create_city(world: World) -> Call:
    return Call("POST", "/v1/cities", json=new_city(), city="GRATH", witness="/v1/cities/GRATH")


@builds(PROFILES, "update_city")
async def _update_city(world: World) -> Call:
    url = f"/v1/cities/{CITY}"
    return Call("PATCH", url, json={"latitude": 38.72}, headers=await etag(world.profiles, url))


@builds(PROFILES, "delete_city")
async def _delete_city(world: World) -> Call:
    await made(world.profiles, "/v1/cities", new_city())
    return Call("DELETE", "/v1/cities/GRATH", city="GRATH", private=("Αθήνα",))


@builds(PROFILES, "create_indicator")
async def _create_indicator(world: World) -> Call:
    return Call("POST", "/v1/indicators", json=new_indicator(names={"en": secret()}))


@builds(PROFILES, "update_indicator")
async def _update_indicator(world: World) -> Call:
    url = "/v1/indicators/foreign_nationals"
    body = {"descriptions": {"en": secret()}}
    return Call("PATCH", url, json=body, headers=await etag(world.profiles, url))


@builds(PROFILES, "delete_indicator")
async def _delete_indicator(world: World) -> Call:
    name = secret()
    await made(world.profiles, "/v1/indicators", new_indicator(names={"en": name}))
    return Call("DELETE", "/v1/indicators/language_classes_places", private=(name,))


async def a_source(world: World) -> tuple[int, str]:
    title = secret()
    source = await made(world.profiles, "/v1/sources", {"title": title, "kind": "census"})
    return source["id"], title


@builds(PROFILES, "create_source")
async def _create_source(world: World) -> Call:
    return Call("POST", "/v1/sources", json={"title": secret(), "kind": "survey"})


@builds(PROFILES, "get_source")
async def _get_source(world: World) -> Call:
    source_id, _ = await a_source(world)
    return Call("GET", f"/v1/sources/{source_id}")


@builds(PROFILES, "update_source")
async def _update_source(world: World) -> Call:
    source_id, title = await a_source(world)
    url = f"/v1/sources/{source_id}"
    headers = await etag(world.profiles, url)
    return Call("PATCH", url, json={"publisher": secret()}, headers=headers, private=(title,))


@builds(PROFILES, "delete_source")
async def _delete_source(world: World) -> Call:
    source_id, title = await a_source(world)
    return Call("DELETE", f"/v1/sources/{source_id}", private=(title,))


NEW_OBSERVATIONS = f"/v1/observations?city={CITY}&period=2031"


def new_observation(value: int = 545000) -> dict[str, Any]:
    """Lisbon's foreign nationals in 2031: a figure no demo or other test holds."""
    return {
        "city": CITY,
        "indicator": "foreign_nationals",
        "period": "2031",
        "scope": "municipality",
        "value": value,
        "source": {"title": "Matrix census", "kind": "census"},
    }


async def an_observation(world: World) -> int:
    await made(world.profiles, "/v1/observations", {"observations": [new_observation()]})
    response = await world.profiles.get(
        f"/v1/observations?city={CITY}&indicator=foreign_nationals&period=2031"
    )
    assert response.status_code == 200, response.text
    observation_id: int = response.json()["items"][0]["id"]
    return observation_id


@builds(PROFILES, "upsert_observations")
async def _upsert_observations(world: World) -> Call:
    return Call(
        "POST",
        "/v1/observations",
        json={"observations": [new_observation()]},
        witness=NEW_OBSERVATIONS,
    )


@builds(PROFILES, "get_observation")
async def _get_observation(world: World) -> Call:
    return Call("GET", f"/v1/observations/{await an_observation(world)}")


@builds(PROFILES, "delete_observation")
async def _delete_observation(world: World) -> Call:
    observation_id = await an_observation(world)
    return Call("DELETE", f"/v1/observations/{observation_id}?reason=withdrawn")


@builds(PROFILES, "observation_history")
async def _observation_history(world: World) -> Call:
    return Call("GET", f"/v1/observations/{await an_observation(world)}/history")


@builds(PROFILES, "import_figures")
async def _import_figures(world: World) -> Call:
    row = f"{CITY},foreign_nationals,2031,municipality,,545000,,,A,Matrix census,,,census,"
    content = f"{CSV_HEADER}\n{row}\n".encode()
    return Call(
        "POST",
        "/v1/imports",
        content=content,
        headers={"Content-Type": "text/csv"},
        witness=NEW_OBSERVATIONS,
    )


SECTION = f"/v1/cities/{CITY}/sections/employment"


async def a_section(world: World, *, published: bool = False) -> str:
    """Lisbon's employment chapter (a draft unless told), with a narrative of its own."""
    text = secret()
    current = await world.profiles.get(SECTION, role=Api.ADMIN)
    headers = {"If-Match": current.headers["ETag"]} if current.status_code == 200 else {}
    response = await world.profiles.put(
        SECTION, role=Api.ADMIN, json={"narrative": {"en": text}}, headers=headers
    )
    assert response.status_code in (200, 201), response.text
    if published:
        for status in ("in_review", "published"):
            moved = await world.profiles.post(
                f"{SECTION}/status",
                role=Api.ADMIN,
                json={"status": status},
                headers=await etag(world.profiles, SECTION),
            )
            assert moved.status_code == 200, moved.text
    return text


@builds(PROFILES, "get_section")
async def _get_section(world: World) -> Call:
    await a_section(world, published=True)
    return Call("GET", SECTION)


@builds(PROFILES, "write_section")
async def _write_section(world: World) -> Call:
    text = await a_section(world)
    headers = await etag(world.profiles, SECTION)
    return Call(
        "PUT", SECTION, json={"narrative": {"en": secret()}}, headers=headers, private=(text,)
    )


@builds(PROFILES, "delete_section")
async def _delete_section(world: World) -> Call:
    text = await a_section(world)
    return Call("DELETE", SECTION, private=(text,))


@builds(PROFILES, "transition_section")
async def _transition_section(world: World) -> Call:
    text = await a_section(world)
    headers = await etag(world.profiles, SECTION)
    return Call(
        "POST",
        f"{SECTION}/status",
        json={"status": "in_review"},
        headers=headers,
        private=(text,),
        witness=SECTION,
    )


_plain(PROFILES, "list_assessment_frameworks", "GET", "/v1/assessment-frameworks")
_plain(PROFILES, "get_assessment_framework", "GET", "/v1/assessment-frameworks/mgi_local/1.0")
_plain(PROFILES, "list_assessments", "GET", f"/v1/cities/{CITY}/assessments")
ASSESSMENTS = f"/v1/cities/{CITY}/assessments"


@builds(PROFILES, "publish_assessment_framework")
async def _publish_assessment_framework(world: World) -> Call:
    titles = {"en": "Matrix", "fr": "Matrice", "ar": "مصفوفة"}
    options = [
        {"code": "no", "titles": titles, "value": 0},
        {"code": "yes", "titles": titles, "value": 100},
    ]
    question = {"code": "q1", "titles": titles, "options": options}
    indicator = {"code": "i1", "titles": titles, "questions": [question]}
    body = {
        "code": f"matrix_{uuid.uuid4().hex[:12]}",
        "version": "1.0",
        "titles": titles,
        "model": "A framework of the access tests",
        "licence": "Written for the tests; not an original instrument.",
        "rankable": True,
        "areas": [{"code": "a1", "titles": titles, "indicators": [indicator]}],
    }
    return Call("POST", "/v1/assessment-frameworks", json=body)


async def an_assessment(world: World, *, published: bool = False) -> str:
    """A draft assessment of Lisbon (published: with an answer, through the four-eyes
    review: submitted by an administrator, validated by an editor of the city); its URL."""
    body = {"framework": "mgi_local", "version": "1.0", "reference_date": "2026-06-30"}
    url = f"{ASSESSMENTS}/{(await made(world.profiles, ASSESSMENTS, body))['id']}"
    if not published:
        return url
    answer = {"option": "absent", "comment": secret(), "evidence": []}
    written = await world.profiles.put(
        f"{url}/answers/rig_1a", json=answer, role=Api.ADMIN, headers={"If-None-Match": "*"}
    )
    assert written.status_code == 201, written.text
    steps = ((Api.ADMIN, "submitted"), (Api.EDITOR, "validated"), (Api.ADMIN, "published"))
    for role, status in steps:
        cities = (CITY,) if role is Api.EDITOR else ()
        read = await world.profiles.get(url, role=Api.ADMIN)
        moved = await world.profiles.post(
            f"{url}/status",
            json={"status": status},
            role=role,
            cities=cities,
            headers={"If-Match": read.headers["ETag"]},
        )
        assert moved.status_code == 200, moved.text
    return url


@builds(PROFILES, "create_assessment")
async def _create_assessment(world: World) -> Call:
    body = {"framework": "mgi_local", "version": "1.0", "reference_date": "2026-06-30"}
    return Call("POST", ASSESSMENTS, json=body, witness=ASSESSMENTS)


@builds(PROFILES, "get_assessment")
async def _get_assessment(world: World) -> Call:
    return Call("GET", await an_assessment(world, published=True))


@builds(PROFILES, "list_assessment_answers")
async def _list_assessment_answers(world: World) -> Call:
    return Call("GET", f"{await an_assessment(world, published=True)}/answers")


@builds(PROFILES, "get_assessment_answer")
async def _get_assessment_answer(world: World) -> Call:
    return Call("GET", f"{await an_assessment(world, published=True)}/answers/rig_1a")


@builds(PROFILES, "list_assessment_history")
async def _list_assessment_history(world: World) -> Call:
    return Call("GET", f"{await an_assessment(world, published=True)}/history")


@builds(PROFILES, "list_assessment_gaps")
async def _list_assessment_gaps(world: World) -> Call:
    return Call("GET", f"{await an_assessment(world, published=True)}/gaps")


@builds(PROFILES, "compare_assessments")
async def _compare_assessments(world: World) -> Call:
    await an_assessment(world, published=True)
    return Call("GET", f"/v1/assessments/compare?framework=mgi_local&cities={CITY},{OTHER_CITY}")


@builds(PROFILES, "get_assessment_compare_chart")
async def _get_assessment_compare_chart(world: World) -> Call:
    await an_assessment(world, published=True)
    query = f"framework=mgi_local&cities={CITY},{OTHER_CITY}&lang=fr"
    return Call("GET", f"/v1/assessments/compare/chart?{query}")


@builds(PROFILES, "get_assessment_chart")
async def _get_assessment_chart(world: World) -> Call:
    return Call("GET", f"{await an_assessment(world, published=True)}/chart")


@builds(PROFILES, "transition_assessment")
async def _transition_assessment(world: World) -> Call:
    url = await an_assessment(world)
    headers = await etag(world.profiles, url)
    return Call("POST", f"{url}/status", json={"status": "submitted"}, headers=headers, witness=url)


@builds(PROFILES, "write_assessment_answer")
async def _write_assessment_answer(world: World) -> Call:
    url = await an_assessment(world)
    body = {
        "option": "partial",
        "comment": secret(),
        "evidence": [{"kind": "url", "ref": "https://www.lisboa.pt/"}],
    }
    return Call(
        "PUT",
        f"{url}/answers/rig_1a",
        json=body,
        headers={"If-None-Match": "*"},
        witness=f"{url}/answers",
    )


async def a_challenge(world: World) -> tuple[str, str]:
    description = secret()
    url = f"/v1/cities/{CITY}/challenges"
    challenge = await made(world.profiles, url, new_challenge(description={"en": description}))
    return f"{url}/{challenge['id']}", description


@builds(PROFILES, "create_challenge")
async def _create_challenge(world: World) -> Call:
    return Call(
        "POST", f"/v1/cities/{CITY}/challenges", json=new_challenge(description={"en": secret()})
    )


@builds(PROFILES, "get_challenge")
async def _get_challenge(world: World) -> Call:
    url, _ = await a_challenge(world)
    return Call("GET", url)


@builds(PROFILES, "update_challenge")
async def _update_challenge(world: World) -> Call:
    url, description = await a_challenge(world)
    headers = await etag(world.profiles, url)
    return Call("PATCH", url, json={"priority": "low"}, headers=headers, private=(description,))


@builds(PROFILES, "delete_challenge")
async def _delete_challenge(world: World) -> Call:
    url, description = await a_challenge(world)
    return Call("DELETE", url, private=(description,))


EDITIONS = f"/v1/cities/{CITY}/editions"


async def an_edition(world: World) -> str:
    """The URL of a new edition of the city."""
    edition = await made(world.profiles, EDITIONS, None)
    return f"/v1/editions/{edition['id']}"


@builds(PROFILES, "create_edition")
async def _create_edition(world: World) -> Call:
    return Call("POST", EDITIONS, witness=EDITIONS)


@builds(PROFILES, "get_edition")
async def _get_edition(world: World) -> Call:
    return Call("GET", await an_edition(world))


@builds(PROFILES, "edition_changes")
async def _edition_changes(world: World) -> Call:
    since = (await an_edition(world)).rsplit("/", 1)[1]
    return Call("GET", f"{await an_edition(world)}/changes?since={since}")


@builds(PROFILES, "edition_citation")
async def _edition_citation(world: World) -> Call:
    return Call("GET", f"{await an_edition(world)}/citation")


@builds(PROFILES, "get_edition_report")
async def _get_edition_report(world: World) -> Call:
    return Call("GET", f"{await an_edition(world)}/report?lang=ar")


@builds(PROFILES, "get_edition_report_html")
async def _get_edition_report_html(world: World) -> Call:
    return Call("GET", f"{await an_edition(world)}/report.html")


@builds(PROFILES, "get_edition_report_pdf")
async def _get_edition_report_pdf(world: World) -> Call:
    return Call("GET", f"{await an_edition(world)}/report.pdf?lang=fr")


@builds(PROFILES, "withdraw_edition")
async def _withdraw_edition(world: World) -> Call:
    url = await an_edition(world)
    return Call("POST", f"{url}/withdrawal", json={"reason": secret()}, witness=url)


# --- dialogue -------------------------------------------------------------------------------


async def an_event(world: World) -> tuple[int, str]:
    """A public technical meeting hosted by Lisbon, open for registration."""
    title = secret()
    event = await made(
        world.dialogue,
        "/v1/events",
        new_event(host_city=CITY, title={"en": title}, timezone="Europe/Lisbon"),
    )
    return event["id"], title


@builds(DIALOGUE, "create_event")
async def _create_event(world: World) -> Call:
    return Call("POST", "/v1/events", json=new_event(host_city=CITY, title={"en": secret()}))


@builds(DIALOGUE, "get_event")
async def _get_event(world: World) -> Call:
    event_id, _ = await an_event(world)
    return Call("GET", f"/v1/events/{event_id}")


@builds(DIALOGUE, "get_event_calendar")
async def _get_event_calendar(world: World) -> Call:
    event_id, _ = await an_event(world)
    return Call("GET", f"/v1/events/{event_id}/calendar.ics")


@builds(DIALOGUE, "update_event")
async def _update_event(world: World) -> Call:
    event_id, title = await an_event(world)
    url = f"/v1/events/{event_id}"
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"venue": secret()}, headers=headers, private=(title,))


@builds(DIALOGUE, "delete_event")
async def _delete_event(world: World) -> Call:
    event_id, title = await an_event(world)
    return Call("DELETE", f"/v1/events/{event_id}", private=(title,))


def new_item(title: str) -> dict[str, Any]:
    return {
        "starts_at": "2027-03-10T10:00:00+01:00",
        "ends_at": "2027-03-10T11:00:00+01:00",
        "title": {"en": title},
        "room": "Room A",
    }


async def an_agenda_item(world: World) -> tuple[str, str]:
    event_id, _ = await an_event(world)
    title = secret()
    item = await made(world.dialogue, f"/v1/events/{event_id}/agenda", new_item(title))
    return f"/v1/events/{event_id}/agenda/{item['id']}", title


@builds(DIALOGUE, "list_agenda_items")
async def _list_agenda_items(world: World) -> Call:
    url, _ = await an_agenda_item(world)
    return Call("GET", url.rsplit("/", 1)[0])


@builds(DIALOGUE, "create_agenda_item")
async def _create_agenda_item(world: World) -> Call:
    event_id, _ = await an_event(world)
    return Call("POST", f"/v1/events/{event_id}/agenda", json=new_item(secret()))


@builds(DIALOGUE, "get_agenda_item")
async def _get_agenda_item(world: World) -> Call:
    url, _ = await an_agenda_item(world)
    return Call("GET", url)


@builds(DIALOGUE, "update_agenda_item")
async def _update_agenda_item(world: World) -> Call:
    url, title = await an_agenda_item(world)
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"room": "Room B"}, headers=headers, private=(title,))


@builds(DIALOGUE, "delete_agenda_item")
async def _delete_agenda_item(world: World) -> Call:
    url, title = await an_agenda_item(world)
    return Call("DELETE", url, private=(title,))


async def a_person(world: World, *, listed: bool = True) -> tuple[int, str, str]:
    """A person of Lisbon through the API: id, name, e-mail address."""
    body = new_person(name=secret(), consent_listed=listed, consent_contact=False)
    person = await made(world.dialogue, "/v1/people", body)
    return person["id"], body["name"], body["email"]


@builds(DIALOGUE, "create_person")
async def _create_person(world: World) -> Call:
    return Call("POST", "/v1/people", json=new_person(name=secret()))


@builds(DIALOGUE, "get_person")
async def _get_person(world: World) -> Call:
    person_id, _, email = await a_person(world)
    return Call("GET", f"/v1/people/{person_id}", private=(email,))


@builds(DIALOGUE, "update_person")
async def _update_person(world: World) -> Call:
    person_id, name, email = await a_person(world)
    url = f"/v1/people/{person_id}"
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"organisation": "CML"}, headers=headers, private=(name, email))


@builds(DIALOGUE, "delete_person")
async def _delete_person(world: World) -> Call:
    person_id, name, email = await a_person(world)
    return Call("DELETE", f"/v1/people/{person_id}", private=(name, email))


async def a_registration(world: World) -> tuple[str, str, str]:
    event_id, _ = await an_event(world)
    person_id, name, email = await a_person(world)
    url = f"/v1/events/{event_id}/registrations"
    registration = await made(world.dialogue, url, {"person": person_id, "status": "registered"})
    return f"{url}/{registration['id']}", name, email


@builds(DIALOGUE, "list_registrations")
async def _list_registrations(world: World) -> Call:
    url, _, email = await a_registration(world)
    return Call("GET", url.rsplit("/", 1)[0], private=(email,))


@builds(DIALOGUE, "create_registration")
async def _create_registration(world: World) -> Call:
    event_id, _ = await an_event(world)
    person_id, _, email = await a_person(world)
    return Call(
        "POST",
        f"/v1/events/{event_id}/registrations",
        json={"person": person_id, "status": "registered"},
        private=(email,),
    )


@builds(DIALOGUE, "get_registration")
async def _get_registration(world: World) -> Call:
    url, _, email = await a_registration(world)
    return Call("GET", url, private=(email,))


@builds(DIALOGUE, "update_registration")
async def _update_registration(world: World) -> Call:
    url, name, email = await a_registration(world)
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"status": "cancelled"}, headers=headers, private=(name, email))


def new_outcome(title: str) -> dict[str, Any]:
    return {
        "kind": "minutes",
        "title": {"en": title},
        "url": "https://www.example.org/mc2cm/minutes.pdf",
        "document_language": "pt",
    }


async def an_outcome(world: World) -> tuple[str, str]:
    event_id, _ = await an_event(world)
    title = secret()
    outcome = await made(world.dialogue, f"/v1/events/{event_id}/outcomes", new_outcome(title))
    return f"/v1/events/{event_id}/outcomes/{outcome['id']}", title


@builds(DIALOGUE, "list_outcomes")
async def _list_outcomes(world: World) -> Call:
    url, _ = await an_outcome(world)
    return Call("GET", url.rsplit("/", 1)[0])


@builds(DIALOGUE, "create_outcome")
async def _create_outcome(world: World) -> Call:
    event_id, _ = await an_event(world)
    return Call("POST", f"/v1/events/{event_id}/outcomes", json=new_outcome(secret()))


@builds(DIALOGUE, "get_outcome")
async def _get_outcome(world: World) -> Call:
    url, _ = await an_outcome(world)
    return Call("GET", url)


@builds(DIALOGUE, "update_outcome")
async def _update_outcome(world: World) -> Call:
    url, title = await an_outcome(world)
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"kind": "report"}, headers=headers, private=(title,))


@builds(DIALOGUE, "delete_outcome")
async def _delete_outcome(world: World) -> Call:
    url, title = await an_outcome(world)
    return Call("DELETE", url, private=(title,))


def lisbon_recommendation(event_id: int, text: str) -> dict[str, Any]:
    return new_recommendation(
        event_id,
        text={"en": text},
        target_cities=[CITY],
        evidence=[{"city": CITY, "indicator": "foreign_nationals", "role": "motivates"}],
    )


async def a_recommendation(world: World) -> tuple[dict[str, Any], str]:
    event_id, _ = await an_event(world)
    text = secret()
    recommendation = await made(
        world.dialogue, "/v1/recommendations", lisbon_recommendation(event_id, text)
    )
    return recommendation, text


@builds(DIALOGUE, "create_recommendation")
async def _create_recommendation(world: World) -> Call:
    event_id, _ = await an_event(world)
    return Call("POST", "/v1/recommendations", json=lisbon_recommendation(event_id, secret()))


@builds(DIALOGUE, "get_recommendation")
async def _get_recommendation(world: World) -> Call:
    recommendation, _ = await a_recommendation(world)
    return Call("GET", f"/v1/recommendations/{recommendation['id']}")


@builds(DIALOGUE, "update_recommendation")
async def _update_recommendation(world: World) -> Call:
    recommendation, text = await a_recommendation(world)
    url = f"/v1/recommendations/{recommendation['id']}"
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"status": "adopted"}, headers=headers, private=(text,))


@builds(DIALOGUE, "delete_recommendation")
async def _delete_recommendation(world: World) -> Call:
    recommendation, text = await a_recommendation(world)
    return Call("DELETE", f"/v1/recommendations/{recommendation['id']}", private=(text,))


@builds(DIALOGUE, "list_recommendation_history")
async def _list_recommendation_history(world: World) -> Call:
    recommendation, _ = await a_recommendation(world)
    return Call("GET", f"/v1/recommendations/{recommendation['id']}/history")


@builds(DIALOGUE, "add_recommendation_evidence")
async def _add_recommendation_evidence(world: World) -> Call:
    recommendation, text = await a_recommendation(world)
    return Call(
        "POST",
        f"/v1/recommendations/{recommendation['id']}/evidence",
        json={"city": CITY, "indicator": "housing_tenure_foreign", "role": "measures"},
        private=(text,),
        witness=f"/v1/recommendations/{recommendation['id']}",
    )


@builds(DIALOGUE, "remove_recommendation_evidence")
async def _remove_recommendation_evidence(world: World) -> Call:
    recommendation, text = await a_recommendation(world)
    evidence_id = recommendation["evidence"][0]["id"]
    url = f"/v1/recommendations/{recommendation['id']}/evidence/{evidence_id}"
    witness = f"/v1/recommendations/{recommendation['id']}"
    return Call("DELETE", url, private=(text,), witness=witness)


async def an_action(world: World) -> tuple[int, str]:
    recommendation, _ = await a_recommendation(world)
    title = secret()
    action = await made(
        world.dialogue,
        f"/v1/recommendations/{recommendation['id']}/actions",
        new_action(city=CITY, title={"en": title}),
    )
    return action["id"], title


@builds(DIALOGUE, "create_action")
async def _create_action(world: World) -> Call:
    recommendation, _ = await a_recommendation(world)
    return Call(
        "POST",
        f"/v1/recommendations/{recommendation['id']}/actions",
        json=new_action(city=CITY, title={"en": secret()}),
        witness=f"/v1/actions?recommendation={recommendation['id']}",
    )


@builds(DIALOGUE, "get_action")
async def _get_action(world: World) -> Call:
    action_id, _ = await an_action(world)
    return Call("GET", f"/v1/actions/{action_id}")


@builds(DIALOGUE, "update_action")
async def _update_action(world: World) -> Call:
    action_id, title = await an_action(world)
    url = f"/v1/actions/{action_id}"
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"status": "in_progress"}, headers=headers, private=(title,))


@builds(DIALOGUE, "delete_action")
async def _delete_action(world: World) -> Call:
    action_id, title = await an_action(world)
    return Call("DELETE", f"/v1/actions/{action_id}", private=(title,))


@builds(DIALOGUE, "list_action_updates")
async def _list_action_updates(world: World) -> Call:
    action_id, _ = await an_action(world)
    return Call("GET", f"/v1/actions/{action_id}/updates")


@builds(DIALOGUE, "report_action_progress")
async def _report_action_progress(world: World) -> Call:
    action_id, title = await an_action(world)
    return Call(
        "POST",
        f"/v1/actions/{action_id}/updates",
        json={"text": {"en": "Started."}},
        private=(title,),
    )


def new_exchange(kind: str, city: str, title: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "city": city,
        "theme": "employment",
        "title": {"en": title},
        "languages": ["pt", "en"],
    }


async def an_exchange(world: World, kind: str = "request", city: str = CITY) -> tuple[int, str]:
    title = secret()
    exchange = await made(world.dialogue, "/v1/exchanges", new_exchange(kind, city, title))
    return exchange["id"], title


@builds(DIALOGUE, "create_exchange")
async def _create_exchange(world: World) -> Call:
    return Call("POST", "/v1/exchanges", json=new_exchange("offer", CITY, secret()))


@builds(DIALOGUE, "get_exchange")
async def _get_exchange(world: World) -> Call:
    exchange_id, _ = await an_exchange(world)
    return Call("GET", f"/v1/exchanges/{exchange_id}")


@builds(DIALOGUE, "update_exchange")
async def _update_exchange(world: World) -> Call:
    exchange_id, title = await an_exchange(world)
    url = f"/v1/exchanges/{exchange_id}"
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"languages": ["pt"]}, headers=headers, private=(title,))


@builds(DIALOGUE, "delete_exchange")
async def _delete_exchange(world: World) -> Call:
    exchange_id, title = await an_exchange(world)
    return Call("DELETE", f"/v1/exchanges/{exchange_id}", private=(title,))


@builds(DIALOGUE, "confirm_match")
async def _confirm_match(world: World) -> Call:
    request_id, title = await an_exchange(world)
    offer_id, _ = await an_exchange(world, "offer", "ITTRN")
    return Call(
        "POST",
        f"/v1/exchanges/{request_id}/matches",
        json={"offer": offer_id},
        private=(title,),
        witness=f"/v1/exchanges/{request_id}",
    )


@builds(DIALOGUE, "list_matches")
async def _list_matches(world: World) -> Call:
    request_id, _ = await an_exchange(world)
    offer_id, _ = await an_exchange(world, "offer", "ITTRN")
    await made(world.dialogue, f"/v1/exchanges/{request_id}/matches", {"offer": offer_id})
    return Call("GET", f"/v1/exchanges/{request_id}/matches")


def new_webhook(description: str) -> dict[str, Any]:
    return {
        "url": "https://partner.example.org/hooks/mc2cm",
        "event_types": ["event.changed"],
        "description": description,
    }


async def a_webhook(world: World) -> tuple[str, str]:
    description = secret()
    webhook = await made(world.dialogue, "/v1/webhooks", new_webhook(description))
    return f"/v1/webhooks/{webhook['id']}", description


@builds(DIALOGUE, "create_webhook")
async def _create_webhook(world: World) -> Call:
    return Call("POST", "/v1/webhooks", json=new_webhook(secret()))


@builds(DIALOGUE, "get_webhook")
async def _get_webhook(world: World) -> Call:
    url, description = await a_webhook(world)
    return Call("GET", url, private=(description,))


@builds(DIALOGUE, "update_webhook")
async def _update_webhook(world: World) -> Call:
    url, description = await a_webhook(world)
    headers = await etag(world.dialogue, url)
    return Call("PATCH", url, json={"active": False}, headers=headers, private=(description,))


@builds(DIALOGUE, "delete_webhook")
async def _delete_webhook(world: World) -> Call:
    url, description = await a_webhook(world)
    return Call("DELETE", url, private=(description,))


@builds(DIALOGUE, "get_notification")
async def _get_notification(world: World) -> Call:
    recipient = f"matrix.{uuid.uuid4().hex[:8]}@example.org"
    notification = Notification(
        delivery_key=f"{uuid.uuid4()}:email:person:0",
        message_id=uuid.uuid4(),
        channel="email",
        recipient=recipient,
        event_type="registration.changed",
        subject="Registration confirmed",
        body="Dear someone,",
        status="sent",
    )
    world.session.add(notification)
    await world.session.flush()
    return Call("GET", f"/v1/notifications/{notification.id}", private=(recipient,))
