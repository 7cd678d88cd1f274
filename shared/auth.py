"""Bearer JWT authentication and the platform's roles.

Tokens are HS256 signed with ``MC2CM_JWT_SECRET`` (development, tests, small deployments) or
RS256 verified against the keys at ``MC2CM_JWKS_URL`` (production identity providers). The
algorithm is chosen by which key the deployment configured, never by the token alone.

Claims: ``sub`` (who), ``role`` (``admin``, ``editor`` or ``viewer``), ``cities`` (the city
codes an editor may change), ``aud`` and ``iss`` as configured, ``exp``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.errors import Forbidden, ServiceUnavailable, Unauthorized
from shared.observability import actor_var
from shared.settings import Settings

#: How long a request may wait for the identity provider's keys.
JWKS_TIMEOUT_SECONDS = 5.0


#: Subjects are recorded with every change (history, outbox); longer ones are refused.
MAX_SUBJECT_LENGTH = 200


class Role(enum.StrEnum):
    admin = "admin"
    editor = "editor"
    viewer = "viewer"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a subject with a role and, for editors, the cities they may change."""

    subject: str
    role: Role
    cities: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def can_edit_city(self, code: str) -> bool:
        return self.is_admin or (self.role is Role.editor and code in self.cities)

    def can_edit_any_city(self) -> bool:
        return self.is_admin or (self.role is Role.editor and bool(self.cities))


class TokenVerifier:
    """Verifies bearer tokens with the configured secret or JWKS."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, timeout=JWKS_TIMEOUT_SECONDS)
            if settings.jwks_url
            else None
        )

    def _key_for(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"Malformed token: {exc}.") from exc
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._secret is not None:
            return self._secret, "HS256"
        if algorithm == "RS256" and self._jwks is not None:
            try:
                return self._jwks.get_signing_key_from_jwt(token).key, "RS256"
            except jwt.PyJWKClientConnectionError as exc:
                # The token may well be valid: "invalid token" would make clients discard it.
                raise ServiceUnavailable(
                    "The identity provider's keys cannot be fetched; try again shortly.",
                    headers={"Retry-After": "5"},
                ) from exc
            except jwt.PyJWTError as exc:
                raise Unauthorized(f"No key to verify the token: {exc}.") from exc
        raise Unauthorized(f"Tokens signed with {algorithm!r} are not accepted here.")

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; ``Unauthorized`` for anything else."""
        key, algorithm = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"Invalid token: {exc}.") from exc
        return principal_from_claims(claims)

    async def verify_async(self, token: str) -> Principal:
        """``verify`` without blocking the event loop while the JWKS is fetched."""
        if self._jwks is None:
            return self.verify(token)
        # PyJWKClient fetches with blocking urllib (cached, but refreshed every few minutes).
        return await run_in_threadpool(self.verify, token)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    subject, role, cities = claims.get("sub"), claims.get("role"), claims.get("cities", [])
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise Unauthorized(
            f"The token's 'sub' claim must be a string of 1 to {MAX_SUBJECT_LENGTH} characters."
        )
    if not isinstance(role, str) or role not in Role.__members__:
        raise Unauthorized("The token's 'role' claim must be one of admin, editor, viewer.")
    if not isinstance(cities, list) or not all(isinstance(c, str) for c in cities):
        raise Unauthorized("The token's 'cities' claim must be a list of city codes.")
    return Principal(subject=subject, role=Role(role), cities=frozenset(cities))


def issue_token(
    settings: Settings,
    *,
    subject: str,
    role: Role,
    cities: Iterable[str] = (),
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """Sign an HS256 token with the configured secret (``mc2cm token``, tests)."""
    if settings.jwt_secret is None:
        raise RuntimeError("no MC2CM_JWT_SECRET configured: cannot sign tokens here")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    if role is Role.editor:
        claims["cities"] = sorted(set(cities))
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="A JWT issued for the platform.")


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller, or ``None`` for an anonymous request. A bad token is a 401, not anonymous."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify_async(credentials.credentials)
    # The audit log records changes under this caller's name.
    actor_var.set((principal.subject, principal.role.value))
    return principal


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; 401 for anonymous requests."""
    if principal is None:
        raise Unauthorized("This operation needs a bearer token.")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Only network administrators may do this.")
    return principal


def ensure_city_editor(principal: Principal, code: str) -> None:
    """403 unless the caller may change data of city ``code``."""
    if not principal.can_edit_city(code):
        raise Forbidden(f"You may not change data of city {code}.", city=code)


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
