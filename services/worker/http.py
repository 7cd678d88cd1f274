"""The worker's outbound HTTP: one TLS context and one set of connection pools per worker.

Building an httpx client builds its TLS context (reading the CA bundle: about 17 ms of CPU),
which cost more than the webhook it sent. The worker builds one (``WorkerHttp``) and lends its
transport to a client for each call (``shared.jobs.HttpClients``): such a client costs
microseconds, and closing it leaves the worker's connections open for the next call.

Connections are pooled by destination: the scheme, the address called (callers pin each call
to an address they checked, ``shared.outbound``), the port, and the name called (``Host``,
and for TLS the SNI name, which the certificate is checked against). A connection is reused
only for the same name at the same address, never for another name that resolves there: its
TLS identity is its own name's. The pools of the least recently called destinations beyond
``MAX_DESTINATIONS`` are closed.
"""

from __future__ import annotations

from collections import OrderedDict

import httpx

#: Destinations whose connections are kept; the least recently called beyond are closed.
MAX_DESTINATIONS = 100
#: Connections kept open per destination, each for this long once idle (seconds).
KEEPALIVE = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)

_Destination = tuple[str, str, int | None, str | None, object]


class _Destinations(httpx.AsyncBaseTransport):
    """A pool of connections for each destination, with one TLS context for all.

    Lent to every client the worker makes: closing a client does not close it; ``close``
    does, when the worker stops.
    """

    def __init__(self) -> None:
        # What httpx builds for a client that reads nothing from the environment.
        self._ssl = httpx.create_ssl_context(trust_env=False)
        self._pools: OrderedDict[_Destination, httpx.AsyncHTTPTransport] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        destination = (
            url.scheme,
            url.host,
            url.port,
            request.headers.get("host"),
            request.extensions.get("sni_hostname"),
        )
        pool = self._pools.pop(destination, None)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, trust_env=False, limits=KEEPALIVE)
            while len(self._pools) >= MAX_DESTINATIONS:
                _, oldest = self._pools.popitem(last=False)
                await oldest.aclose()
        self._pools[destination] = pool  # the most recently called last
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        """Closing a client lent the pools leaves them open."""

    async def close(self) -> None:
        """Close every connection."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()


class WorkerHttp:
    """``shared.jobs.HttpClients`` of the worker: a client for each call, following no
    redirect and reading no proxy from the environment, on the worker's pools."""

    def __init__(self) -> None:
        self._destinations = _Destinations()

    def client(self, *, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self._destinations,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the worker's connections (when it stops)."""
        await self._destinations.close()
