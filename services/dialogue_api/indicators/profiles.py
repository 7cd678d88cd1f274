"""The profiles API as the dialogue reads it: the cities' figures shown beside a
recommendation's evidence.

Over HTTP, at ``MC2CM_PROFILES_API_URL``, as any partner would read them: the dialogue never
queries the profiles schema. Everything one call asks is bounded by
``profiles_api_timeout_seconds``; a profiles API that is unset, unreachable, slow or answers
anything but 200 raises ``ProfilesUnavailable``, which callers turn into absent values.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.settings import Settings

#: The largest page the profiles API gives (its ``pagination_max_limit`` by default).
PAGE_LIMIT = 1000


class ProfilesUnavailable(Exception):
    """The profiles API could not answer in time (or is not configured)."""


class Figure(BaseModel):
    """A total (no breakdown) of one city's indicator for one period, as profiles gives it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    city: str
    indicator: str
    period: str
    period_start: date
    period_end: date
    scope: str
    value: float | None
    obs_status: str


@dataclass
class ProfilesClient:
    """A client of the profiles API, kept for the life of a process (its connections pooled)."""

    base_url: str | None
    timeout: float
    http: httpx.AsyncClient

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> ProfilesClient:
        timeout = settings.profiles_api_timeout_seconds
        return cls(
            base_url=settings.profiles_api_url,
            timeout=timeout,
            http=httpx.AsyncClient(
                base_url=(settings.profiles_api_url or "http://profiles.invalid").rstrip("/"),
                timeout=timeout,
                transport=transport,
                # A call inside the platform: no proxy from the environment, no redirect.
                trust_env=False,
                headers={"Accept": "application/json", "User-Agent": "mc2cm-dialogue"},
            ),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paginated list of the profiles API, page after page."""
        cursor: str | None = None
        while True:
            query = {**params, "limit": PAGE_LIMIT} | ({"cursor": cursor} if cursor else {})
            response = await self.http.get(path, params=query)
            if response.status_code != 200:
                raise ProfilesUnavailable(f"GET {path} answered {response.status_code}")
            page = response.json()
            for item in page["items"]:
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def _collect(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.base_url is None:
            raise ProfilesUnavailable("no profiles API is configured (MC2CM_PROFILES_API_URL)")
        try:
            async with asyncio.timeout(self.timeout):
                return [item async for item in self._pages(path, params)]
        except (TimeoutError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ProfilesUnavailable(f"GET {path}: {exc!r}") from exc

    async def totals(self, cities: Collection[str], indicators: Collection[str]) -> list[Figure]:
        """The preferred totals (no breakdown) of ``indicators`` in ``cities``, every period
        and scope; public figures, read without a token."""
        if not cities or not indicators:
            return []
        items = await self._collect(
            "/v1/observations",
            {
                "city": ",".join(sorted(cities)),
                "indicator": ",".join(sorted(indicators)),
                "total": "true",
                "preferred": "true",
            },
        )
        try:
            return [Figure.model_validate(item) for item in items]
        except ValidationError as exc:
            raise ProfilesUnavailable(f"unexpected observations: {exc}") from exc
