"""P1's raw baseline: a bare Starlette app answering ``GET /v1/observations?city=&indicator=``.

The same SQL the profiles API runs for that query (observations of one city and indicator
joined with their sources, in the series order, one row more than the page) through an
asyncpg pool of the API's size, and the same JSON body, serialised with orjson. Nothing
else: no authentication, suppression, validation, middleware or metrics.

    MC2CM_DATABASE_URL=... MC2CM_DB_POOL_SIZE=20 uvicorn --factory bench.raw_read_app:create_app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.pagination import encode_cursor
from shared.settings import to_libpq_url

#: What the API's repository sends for ``?city=X&indicator=Y&limit=N`` (the page chosen from
#: the observations alone in the series order with ``LIMIT N + 1``, then its sources joined),
#: written by hand.
SQL = """
SELECT o.id, o.city_code, o.indicator_code, o.period, o.period_start, o.period_end, o.scope,
       o.dimensions, o.value, o.value_low, o.value_high, o.obs_status, o.note, o.updated_at,
       s.id AS source_id, s.title, s.publisher, s.url, s.kind, s.reliability_rank
FROM (
    SELECT * FROM profiles.observation
    WHERE city_code = $1 AND indicator_code = $2
    ORDER BY city_code, indicator_code, period_start, id
    LIMIT $3
) AS o JOIN profiles.source AS s ON s.id = o.source_id
ORDER BY o.city_code, o.indicator_code, o.period_start, o.id
"""


def _item(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "city": row["city_code"],
        "indicator": row["indicator_code"],
        "period": row["period"],
        "period_start": row["period_start"],
        "period_end": row["period_end"],
        "scope": row["scope"],
        "dimensions": orjson.loads(row["dimensions"]),
        "value": row["value"],
        "value_low": row["value_low"],
        "value_high": row["value_high"],
        "obs_status": row["obs_status"],
        "status": "shown",
        "note": row["note"],
        "source": {
            "id": row["source_id"],
            "title": row["title"],
            "publisher": row["publisher"],
            "url": row["url"],
            "kind": row["kind"],
            "reliability_rank": row["reliability_rank"],
        },
        "updated_at": row["updated_at"],
    }


async def observations(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    city = request.query_params["city"]
    indicator = request.query_params["indicator"]
    limit = int(request.query_params.get("limit", "50"))
    async with pool.acquire() as connection:
        rows = await connection.fetch(SQL, city, indicator, limit + 1)
    shown = rows[:limit]
    last = shown[-1] if shown else None
    next_cursor = (
        encode_cursor(
            [last["city_code"], last["indicator_code"], last["period_start"], last["id"]],
            "profiles:list_observations",
        )
        if len(rows) > limit and last is not None
        else None
    )
    body = {"items": [_item(row) for row in shown], "next_cursor": next_cursor}
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        media_type="application/json",
        headers={"Vary": "Accept"},
    )


def create_app() -> Starlette:
    database_url = to_libpq_url(os.environ["MC2CM_DATABASE_URL"])
    size = int(os.environ.get("MC2CM_DB_POOL_SIZE", "20"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database_url, min_size=size, max_size=size)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[Route("/v1/observations", observations)], lifespan=lifespan)
