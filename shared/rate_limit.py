"""Rate limits on writes, per caller, shared by every replica of an API through Redis.

A caller is the ``sub`` of a verified token, or the client address of an anonymous request.
Writes (POST, PUT, PATCH, DELETE) count against ``MC2CM_RATE_LIMIT_WRITES``; uploads (CSV
imports) against their own, lower ``MC2CM_RATE_LIMIT_IMPORTS`` instead. Reads are never
limited. Each check is one atomic Redis round trip (a Lua script: a fixed window that starts
at the caller's first write). If Redis is unreachable the write is accepted: the limit is a
guard against floods, not a reason to refuse work while a dependency is down.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request, Response
from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import RedisError

from shared.auth import Principal, optional_principal
from shared.errors import TooManyRequests
from shared.settings import Rate

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# INCR the caller's counter; the first write of a window sets its expiry. Returns the count
# and the milliseconds left in the window, in one round trip.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Window:
    """A caller's use of a limit: its count so far and the seconds until the window resets."""

    rate: Rate
    count: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.rate.amount

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` headers (IETF httpapi draft), and ``Retry-After`` once exceeded."""
        headers = {
            "RateLimit-Limit": str(self.rate.amount),
            "RateLimit-Remaining": str(max(0, self.rate.amount - self.count)),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if self.exceeded:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


class RateLimiter:
    """Counts callers' writes in Redis; fails open, and stops asking a Redis that is down."""

    def __init__(
        self,
        *,
        key_prefix: str,
        timeout_seconds: float,
        pause_seconds: float,
        registry: CollectorRegistry,
        service: str,
    ) -> None:
        self.key_prefix = key_prefix
        self.timeout_seconds = timeout_seconds
        self.pause_seconds = pause_seconds
        self.service = service
        self._skip_until = 0.0
        self.unavailable = Counter(
            "mc2cm_rate_limit_unavailable_total",
            "Writes accepted without a rate-limit check because Redis did not answer.",
            ["service"],
            registry=registry,
        )
        self.refused = Counter(
            "mc2cm_rate_limit_refused_total",
            "Requests refused with a 429, by limit.",
            ["service", "limit"],
            registry=registry,
        )

    async def hit(
        self, redis: aioredis.Redis, limit: str, caller: str, rate: Rate
    ) -> Window | None:
        """Count one request of ``caller`` against ``rate``; ``None`` if Redis cannot say."""
        if time.monotonic() < self._skip_until:
            # Redis failed moments ago: do not make every write wait for it to fail again.
            self.unavailable.labels(self.service).inc()
            return None
        key = f"{self.key_prefix}:{limit}:{caller}"
        try:
            async with asyncio.timeout(self.timeout_seconds):
                count, ttl_ms = await redis.eval(_HIT, 1, key, str(rate.seconds * 1000))  # type: ignore[misc]
        except (RedisError, OSError, TimeoutError) as exc:
            self._skip_until = time.monotonic() + self.pause_seconds
            self.unavailable.labels(self.service).inc()
            log.warning(
                "rate limit not checked (Redis unavailable: %s); accepting writes unchecked "
                "for %.0f s",
                type(exc).__name__,
                self.pause_seconds,
            )
            return None
        window = Window(rate, int(count), max(1, math.ceil(int(ttl_ms) / 1000)))
        if window.exceeded:
            self.refused.labels(self.service, limit).inc()
        return window


def _caller(request: Request, principal: Principal | None) -> str:
    """The key of who is writing: the token's subject, else the client's address."""
    if principal is not None:
        return f"sub:{principal.subject}"
    client = request.client
    return f"ip:{client.host if client is not None else 'unknown'}"


async def _limit(
    request: Request, response: Response, principal: Principal | None, *, upload: bool
) -> None:
    if request.method not in WRITE_METHODS:
        return
    settings = request.app.state.settings
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    redis_client: aioredis.Redis | None = request.app.state.redis
    if not settings.rate_limit_enabled or limiter is None or redis_client is None:
        return
    limit, rate = ("imports", settings.import_rate) if upload else ("writes", settings.write_rate)
    window = await limiter.hit(redis_client, limit, _caller(request, principal), rate)
    if window is None:
        return
    if window.exceeded:
        raise TooManyRequests(
            f"Too many {limit}: at most {rate.amount} every {rate.seconds} s; "
            f"retry in {window.reset_seconds} s.",
            headers=window.headers(),
            limit=rate.amount,
            window_seconds=rate.seconds,
            retry_after=window.reset_seconds,
        )
    response.headers.update(window.headers())


async def limit_writes(
    request: Request,
    response: Response,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> None:
    """FastAPI dependency: a 429 once the caller is over the write limit."""
    await _limit(request, response, principal, upload=False)


async def limit_uploads(
    request: Request,
    response: Response,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> None:
    """FastAPI dependency: a 429 once the caller is over the upload (import) limit."""
    await _limit(request, response, principal, upload=True)
