"""Where the platform may send requests of its own (webhooks): never into its own network.

A URL given by a caller is a request the platform will make on the caller's behalf, from
inside the platform's network (server-side request forgery). So its host must be, and
resolve only to, public addresses: not loopback, link-local (cloud metadata at
169.254.169.254), private (RFC 1918, 100.64.0.0/10, fc00::/7), unspecified, multicast or
reserved ones. The check is made when the URL is given (a literal address, or a name that
resolves to a refused address then) and again before each call, on the addresses the name
resolves to at that moment; the call then goes to the address that was checked, so that a
name cannot resolve to another address between the check and the connection.
``MC2CM_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`` lifts the address rule (receivers on the same
host or network, as in development and tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.settings import Environment

if TYPE_CHECKING:
    from shared.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
#: How long resolving a name may take when a URL is given.
RESOLVE_TIMEOUT_SECONDS = 2.0


class DestinationRefused(Exception):
    """The platform will not send a request there; the message says why."""


def refusal(address: IPAddress) -> str | None:
    """Why the platform may not call ``address``; ``None`` if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private or address in _SHARED_ADDRESS_SPACE:
        return "a private address"
    if not address.is_global:
        # Documentation, benchmarking and other special-purpose ranges.
        return "a reserved address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names literally (``[::1]`` too), or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_scheme(scheme: str, *, require_https: bool) -> None:
    """Only http and https; https only when ``require_https``."""
    allowed = ("https",) if require_https else ("http", "https")
    if scheme.lower() not in allowed:
        raise DestinationRefused(f"the scheme must be {' or '.join(allowed)}, not {scheme}")


@dataclass(frozen=True)
class OutboundPolicy:
    """Where calls may go: private networks or not, plain http or not."""

    allow_private: bool
    require_https: bool

    @classmethod
    def of(cls, settings: Settings) -> OutboundPolicy:
        """Production calls only https URLs (bodies carry people's data); others allow http."""
        return cls(
            allow_private=settings.webhook_allow_private_networks,
            require_https=settings.environment is Environment.production,
        )


@dataclass(frozen=True)
class Destination:
    """A host and the addresses the platform checked it may call, in resolver order."""

    host: str
    addresses: tuple[IPAddress, ...]


async def resolve(host: str, port: int, *, allow_private: bool) -> Destination:
    """The addresses ``host`` resolves to now, every one of them allowed.

    ``DestinationRefused`` names the first refused address; ``OSError`` if the name does not
    resolve.
    """
    literal = literal_address(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        found: dict[IPAddress, None] = {}
        for _family, _type, _proto, _name, sockaddr in infos:
            found[ipaddress.ip_address(str(sockaddr[0]).split("%")[0])] = None
        addresses = tuple(found)
    if not allow_private:
        for address in addresses:
            if (reason := refusal(address)) is not None:
                named = f"{host} resolves to {address}" if literal is None else str(address)
                raise DestinationRefused(f"{named}, {reason}")
    return Destination(host, addresses)


async def check_given_url(scheme: str, host: str, port: int, policy: OutboundPolicy) -> None:
    """Refuse a URL a caller gives (``DestinationRefused``) if it is already known to lead
    where the platform may not call. A name that does not resolve now is accepted: it is
    resolved and checked again before each call."""
    check_scheme(scheme, require_https=policy.require_https)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            await resolve(host, port, allow_private=policy.allow_private)
    except (OSError, TimeoutError):
        return
