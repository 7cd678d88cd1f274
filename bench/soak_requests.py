"""The soak's requests: what the reads are drawn from, the three kinds of writes (made so
that none can conflict), and the set-up they need (editor tokens, events, sections).

The reads are anonymous, on the public endpoints of both APIs. Each write is an editor's, with
an ``Idempotency-Key``: an observation under a key of its own (or a new value of one, upserted
once every key is used), a new person of a demo city registered to one of the soak's events
(a unique e-mail address), or a section's working text replaced with ``If-Match`` of the ETag
read just before, one writer per section at a time. Writes are spread over ``EDITORS`` tokens,
so that none reaches the write rate limit, which stays on as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.soak_http import Pool, TransportError
from bench.soak_load import Outcome, Slot, is_error
from shared.auth import Role, issue_token
from shared.settings import Settings

SECRET = "bench-soak-secret-" + "x" * 40
SEED = 20261205
#: The demo's cities: every read and write names one of them.
CITIES = ("PTLIS", "ESMAD", "FRLYS", "ITTRN", "MATNG", "TNTUN", "LBBEY", "JOAMM", "ATVIE")
#: Bench indicators added beside the demo's (copies of ``foreign_nationals``), 40 years each.
INDICATORS = tuple(f"bench_soak_{n:02d}" for n in range(20))
FIRST_YEAR, LAST_YEAR = 1986, 2025
#: Years the observation writes use: none of the loaded ones, so a write's key is its own
#: until all of them are used, then writes upsert new values of the same keys.
WRITE_YEARS = range(1901, 1981)
SECTIONS = (
    "synopsis",
    "national_context",
    "data_reflections",
    "demography",
    "health",
    "education",
    "housing",
    "employment",
)
#: Editor tokens the writes are spread over (the write rate limit is per token subject).
EDITORS = 100
#: Events the registrations go to; a full one puts people on its waitlist (still a 201).
EVENTS = 4
#: How each read family weighs in the reads (sums to 100).
READ_WEIGHTS: dict[str, int] = {
    "observations": 30,
    "catalogue": 12,
    "aggregates": 15,
    "city-profiles": 8,
    "pages": 8,
    "exports": 7,
    "dialogue-reads": 20,
}


def read_targets(event_ids: list[int]) -> dict[str, list[tuple[str, str]]]:
    """Per read family, the (service, path) requests it is drawn from, all anonymous."""
    series = [(c, i) for c in CITIES for i in INDICATORS[:5]]
    compare = ",".join(CITIES[:4])
    targets: dict[str, list[tuple[str, str]]] = {
        "observations": [
            *(
                ("profiles", f"/v1/observations?city={c}&indicator={i}&limit=100")
                for c, i in series
            ),
            *(("profiles", f"/v1/observations?city={c}&theme=demography&limit=50") for c in CITIES),
            *(
                ("profiles", f"/v1/observations?indicator={i}&period_from=2000&period_to=2010")
                for i in INDICATORS[:5]
            ),
            *(("profiles", f"/v1/observations?city={c}&preferred=true&limit=50") for c in CITIES),
        ],
        "catalogue": [
            ("profiles", "/v1/cities"),
            *(("profiles", f"/v1/cities/{c}") for c in CITIES),
            ("profiles", "/v1/indicators"),
            ("profiles", "/v1/indicators/foreign_nationals"),
            ("profiles", "/v1/sources"),
            ("profiles", "/v1/themes"),
        ],
        "aggregates": [
            *(("profiles", f"/v1/aggregates?indicator={i}") for i in INDICATORS[:5]),
            ("profiles", "/v1/aggregates?indicator=foreign_nationals&group=network"),
            *(
                ("profiles", f"/v1/compare?indicator={i}&cities={compare}")
                for i in (*INDICATORS[:3], "foreign_nationals")
            ),
            *(("profiles", f"/v1/coverage?city={c}") for c in CITIES[:3]),
        ],
        "city-profiles": [
            *(("profiles", f"/v1/cities/{c}/profile") for c in CITIES),
            *(("profiles", f"/v1/cities/{c}/sections") for c in CITIES),
        ],
        "pages": [
            ("profiles", "/"),
            *(("profiles", f"/cities/{c}") for c in CITIES),
            ("profiles", f"/compare?indicator=foreign_nationals&cities={compare}"),
            ("dialogue", "/events"),
        ],
        "exports": [
            ("profiles", f"/v1/observations?city={c}&indicator={i}&format=csv")
            for c, i in series[::3]
        ],
        "dialogue-reads": [
            ("dialogue", "/v1/events"),
            *(("dialogue", f"/v1/events/{event}") for event in event_ids),
            ("dialogue", "/v1/recommendations"),
            ("dialogue", "/v1/actions"),
            ("dialogue", "/v1/calendar.ics"),
            ("dialogue", "/v1/cities"),
        ],
    }
    assert set(targets) == set(READ_WEIGHTS)
    return targets


@dataclass
class Load:
    """The clients, tokens and counters the requests of one run share."""

    profiles: Pool
    dialogue: Pool
    tokens: list[str]
    event_ids: list[int]
    targets: dict[str, list[tuple[str, str]]]
    run: str
    draw: random.Random = field(default_factory=lambda: random.Random(SEED))
    writes: dict[str, itertools.count[int]] = field(default_factory=dict)
    section_locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    def client(self, service: str) -> Pool:
        return self.profiles if service == "profiles" else self.dialogue

    def next_write(self, family: str) -> int:
        return next(self.writes.setdefault(family, itertools.count()))

    def editor(self, n: int) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens[n % len(self.tokens)]}",
            "Idempotency-Key": f"soak-{self.run}-{uuid.uuid4().hex}",
        }

    async def send(self, slot: Slot, due: float) -> list[Outcome]:
        if not slot.write:
            service, path = self.draw.choice(self.targets[slot.family])
            return [await request(self.client(service), "GET", path, slot.family, due)]
        if slot.family == "writes-observations":
            return await self.write_observation(due)
        if slot.family == "writes-registrations":
            return await self.register(due)
        return await self.write_section(due)

    async def write_observation(self, due: float) -> list[Outcome]:
        n = self.next_write("observations")
        keys = len(CITIES) * len(INDICATORS)
        body = {
            "observations": [
                {
                    "city": CITIES[n % len(CITIES)],
                    "indicator": INDICATORS[(n // len(CITIES)) % len(INDICATORS)],
                    "period": str(WRITE_YEARS[(n // keys) % len(WRITE_YEARS)]),
                    "scope": "municipality",
                    "value": 1000 + n,
                    "source": {"title": "Soak census", "kind": "census"},
                }
            ]
        }
        return [
            await request(
                self.profiles,
                "POST",
                "/v1/observations",
                "writes-observations",
                due,
                json=body,
                headers=self.editor(n),
            )
        ]

    async def register(self, due: float) -> list[Outcome]:
        """A new person of a demo city, then their registration to one of the events."""
        n = self.next_write("registrations")
        city = CITIES[n % len(CITIES)]
        person = {
            "name": f"Soak participant {n}",
            "email": f"soak.{self.run}.{n}@example.org",
            "role": "technical_focal_point",
            "city": city,
            "languages": ["en"],
            "consent_listed": True,
            "consent_contact": True,
        }
        created = await request(
            self.dialogue,
            "POST",
            "/v1/people",
            "writes-people",
            due,
            json=person,
            headers=self.editor(n),
            keep_body=True,
        )
        if is_error(created.status):
            return [created]
        event = self.event_ids[n % len(self.event_ids)]
        registered = await request(
            self.dialogue,
            "POST",
            f"/v1/events/{event}/registrations",
            "writes-registrations",
            time.perf_counter(),
            json={"person": created.body["id"], "status": "registered"},
            headers=self.editor(n),
        )
        return [created, registered]

    async def write_section(self, due: float) -> list[Outcome]:
        """A section's working text replaced, with ``If-Match`` of the ETag read just before
        (one writer per section at a time, so the ETag is still current)."""
        n = self.next_write("sections")
        city = CITIES[n % len(CITIES)]
        section = SECTIONS[(n // len(CITIES)) % len(SECTIONS)]
        path = f"/v1/cities/{city}/sections/{section}"
        headers = self.editor(n)
        lock = self.section_locks.setdefault((city, section), asyncio.Lock())
        async with lock:
            read = await request(
                self.profiles,
                "GET",
                f"{path}?view=working",
                "sections-etag-reads",
                due,
                headers={"Authorization": headers["Authorization"]},
            )
            if is_error(read.status):
                return [read]
            written = await request(
                self.profiles,
                "PUT",
                path,
                "writes-sections",
                time.perf_counter(),
                json={"narrative": {"en": f"Soak edit {n} of the {section} section."}},
                headers=headers | {"If-Match": read.etag},
            )
        return [read, written]


@dataclass
class Answer(Outcome):
    body: Any = None
    etag: str = ""


async def request(
    client: Pool,
    method: str,
    path: str,
    family: str,
    started: float,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    keep_body: bool = False,
) -> Answer:
    """One request; its outcome, with the seconds since ``started`` (when it was due)."""
    try:
        response = await client.request(method, path, json=json, headers=headers)
    except TransportError as error:
        return Answer(
            family,
            0,
            time.perf_counter() - started,
            f"{method} {path}: {error}",
        )
    seconds = time.perf_counter() - started
    status = response.status
    what = f"{method} {path}: {status} {response.text[:300]}" if is_error(status) else ""
    body = response.json() if keep_body and not is_error(status) else None
    return Answer(family, status, seconds, what, body, response.headers.get("etag", ""))


async def set_up(
    profiles_url: str, dialogue_url: str, settings: Settings, run: str
) -> tuple[list[str], list[int]]:
    """Editor tokens, the events registrations go to, and every section written once (so
    the soak's section writes all replace a text: 200 with ``If-Match``)."""
    admin = {"Authorization": f"Bearer {issue_token(settings, subject='soak', role=Role.admin)}"}
    tokens = [
        issue_token(
            settings, subject=f"soak-editor-{n}@example.org", role=Role.editor, cities=CITIES
        )
        for n in range(EDITORS)
    ]
    starts = (datetime.now(UTC) + timedelta(days=60)).replace(microsecond=0)
    event_ids = []
    async with (
        httpx.AsyncClient(base_url=dialogue_url, headers=admin, timeout=60) as dialogue,
        httpx.AsyncClient(base_url=profiles_url, headers=admin, timeout=60) as profiles,
    ):
        for n in range(EVENTS):
            response = await dialogue.post(
                "/v1/events",
                json={
                    "type": "technical_meeting",
                    "title": {"en": f"Soak meeting {n} ({run})"},
                    "themes": ["housing"],
                    "host_city": "TNTUN",
                    "participating_cities": list(CITIES),
                    "venue": "Hôtel de Ville, Tunis",
                    "starts_at": (starts + timedelta(days=n)).isoformat(),
                    "ends_at": (starts + timedelta(days=n, hours=8)).isoformat(),
                    "timezone": "Africa/Tunis",
                    "capacity": 200,
                    "languages": ["en", "fr"],
                },
            )
            response.raise_for_status()
            event_ids.append(response.json()["id"])
        for city in CITIES:
            for section in SECTIONS:
                path = f"/v1/cities/{city}/sections/{section}"
                read = await profiles.get(f"{path}?view=working")
                headers = {"If-Match": read.headers["ETag"]} if read.status_code == 200 else {}
                written = await profiles.put(
                    path, json={"narrative": {"en": f"Soak text of {section}."}}, headers=headers
                )
                written.raise_for_status()
    return tokens, event_ids


async def check_targets(load: Load) -> None:
    """Every read target answers 2xx once before the load (a wrong path fails fast)."""
    for family, targets in load.targets.items():
        for service, path in targets:
            outcome = await request(load.client(service), "GET", path, family, time.perf_counter())
            if is_error(outcome.status):
                raise RuntimeError(f"read target fails before the load: {outcome.what}")
