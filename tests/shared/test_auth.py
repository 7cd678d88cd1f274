"""Bearer JWT authentication (shared/auth.py): who gets in, and who is turned away with a 401."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter
from jwt.algorithms import RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from services.profiles_api.db import idempotency_keys
from shared.app import create_service_app
from shared.auth import CurrentPrincipal, Principal, Role, TokenVerifier, issue_token
from shared.errors import ServiceUnavailable, Unauthorized
from shared.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import Api, closed_port
from tests.shared.test_problems import assert_problem
from tests.waiting import eventually

SOURCE = {"title": "Census 2021", "kind": "census"}
EXCHANGE = {"kind": "offer", "city": "ITTRN", "theme": "employment", "title": {"en": "Diplomas"}}


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims of an administrator's token for the test settings."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "sub": "someone@test",
        "role": "admin",
        "aud": "mc2cm",
        "iss": "mc2cm",
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token built by hand, as an attacker would: HS256 with ``key``, or unsigned."""
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def hs256(payload: dict[str, Any], secret: str = TEST_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_may_add_a_source(api: Api) -> None:
    response = await api.post("/v1/sources", headers=bearer(hs256(claims())), json=SOURCE)

    assert response.status_code == 201, response.text


async def test_missing_token_is_a_401_that_asks_for_a_bearer_token(api: Api) -> None:
    response = await api.post("/v1/sources", json=SOURCE)

    assert_problem(response, 401, instance="/v1/sources")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), response.headers


REJECTED = {
    "unsigned_alg_none": lambda: hand_signed({"alg": "none", "typ": "JWT"}, claims(), None),
    "signed_with_another_secret": lambda: hs256(claims(), "another-secret-" + "y" * 40),
    "expired_an_hour_ago": lambda: hs256(claims(exp=datetime.now(UTC) - timedelta(hours=1))),
    "not_valid_for_an_hour": lambda: hs256(claims(nbf=datetime.now(UTC) + timedelta(hours=1))),
    "for_another_audience": lambda: hs256(claims(aud="someone-else")),
    "from_another_issuer": lambda: hs256(claims(iss="https://evil.example")),
    "without_expiry": lambda: hs256(claims(exp=None)),
    "without_subject": lambda: hs256(claims(sub=None)),
    "role_not_in_the_set": lambda: hs256(claims(role="superuser")),
    "role_missing": lambda: hs256(claims(role=None)),
    "role_a_number": lambda: hs256(claims(role=1)),
    "role_a_list": lambda: hs256(claims(role=["admin"])),
    "role_in_another_case": lambda: hs256(claims(role="Admin")),
    "cities_a_string": lambda: hs256(claims(role="editor", cities="PTLIS")),
    "cities_with_a_number": lambda: hs256(claims(role="editor", cities=["PTLIS", 7])),
    "cities_an_object": lambda: hs256(claims(role="editor", cities={"PTLIS": True})),
    "cities_null": lambda: hs256(claims(role="editor", cities=None) | {"cities": None}),
    "subject_a_number": lambda: hs256(claims(sub=42)),
    "subject_empty": lambda: hs256(claims(sub="")),
    "subject_longer_than_recorded": lambda: hs256(claims(sub="x" * 201)),
    "expiry_not_a_number": lambda: hs256(claims(exp="tomorrow")),
    "not_before_not_a_number": lambda: hs256(claims(nbf="now")),
    "issued_at_not_a_number": lambda: hs256(claims(iat="today")),
    "signed_hs512_with_the_secret": lambda: _hs512(claims()),
    "not_a_jwt": lambda: "not-a-jwt",
    "tampered_payload": lambda: _tamper(hs256(claims(role="viewer")), role="admin"),
}

#: A write and a public read of each API (method, URL, body): a bad token is refused on all.
GUARDED = {
    "profiles_write": ("POST", "/v1/sources", SOURCE),
    "profiles_read": ("GET", "/v1/cities/PTLIS", None),
    "dialogue_write": ("POST", "/v1/exchanges", EXCHANGE),
    "dialogue_read": ("GET", "/v1/events", None),
}


def _hs512(payload: dict[str, Any]) -> str:
    """Signed with the right secret but an algorithm the deployment does not accept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the secret is for HS256
        return jwt.encode(payload, TEST_SECRET, algorithm="HS512")


def _tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    return f"{header}.{_b64(json.dumps(body).encode())}.{signature}"


@pytest.mark.parametrize("target", sorted(GUARDED))
@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_bad_bearer_token_is_a_401_problem_on_both_apis(
    api: Api, dialogue: Api, case: str, target: str
) -> None:
    token = REJECTED[case]()
    method, url, body = GUARDED[target]
    client = api if target.startswith("profiles") else dialogue

    response = await client.request(method, url, headers=bearer(token), json=body)

    problem = assert_problem(response, 401, instance=url)
    assert problem["type"] == "urn:mc2cm:problem:unauthorized", problem
    assert response.headers.get("www-authenticate", "").startswith("Bearer"), case


@pytest.mark.parametrize("target", sorted(GUARDED))
async def test_a_valid_token_passes_where_bad_ones_are_refused(
    api: Api, dialogue: Api, target: str
) -> None:
    method, url, body = GUARDED[target]
    client = api if target.startswith("profiles") else dialogue

    response = await client.request(method, url, headers=bearer(hs256(claims())), json=body)

    assert 200 <= response.status_code < 300, response.text


async def test_basic_authorization_is_a_401_not_an_anonymous_call(api: Api) -> None:
    basic = base64.b64encode(b"admin:admin").decode()

    response = await api.post(
        "/v1/sources", headers={"Authorization": f"Basic {basic}"}, json=SOURCE
    )

    body = assert_problem(response, 401, instance="/v1/sources")
    assert "Bearer" in body["detail"], body


@pytest.mark.parametrize(
    "path",
    [
        "/v1/cities",
        "/v1/themes",
        "/v1/indicators",
        "/v1/sources",
        "/v1/observations",
        "/v1/cities/PTLIS/challenges",
        "/v1/compare",
    ],
)
async def test_bad_token_on_a_public_read_is_a_401_not_an_anonymous_read(
    api: Api, path: str
) -> None:
    response = await api.get(path, headers=bearer(REJECTED["expired_an_hour_ago"]()))

    assert_problem(response, 401, instance=path)


async def test_token_within_the_clock_leeway_is_accepted(api: Api) -> None:
    just_expired = claims(exp=datetime.now(UTC) - timedelta(seconds=5))

    response = await api.post("/v1/sources", headers=bearer(hs256(just_expired)), json=SOURCE)

    assert response.status_code == 201, response.text


async def test_viewer_token_is_authenticated_but_forbidden_to_add_a_source(api: Api) -> None:
    response = await api.post("/v1/sources", role=Api.VIEWER, json=SOURCE)

    assert_problem(response, 403, instance="/v1/sources")


# --- Principals ----------------------------------------------------------------------------


def test_admin_may_edit_every_city() -> None:
    admin = Principal(subject="a", role=Role.admin)

    assert admin.can_edit_city("PTLIS") and admin.can_edit_city("ITTRN")
    assert admin.can_edit_any_city()


def test_editor_may_edit_only_the_cities_of_the_token() -> None:
    editor = Principal(subject="e", role=Role.editor, cities=frozenset({"PTLIS"}))

    assert editor.can_edit_city("PTLIS")
    assert not editor.can_edit_city("ITTRN"), "an editor of Lisbon edited Turin"
    assert not editor.can_edit_city("ptlis"), "city codes are exact"


def test_editor_without_cities_may_edit_none() -> None:
    editor = Principal(subject="e", role=Role.editor)

    assert not editor.can_edit_city("PTLIS")
    assert not editor.can_edit_any_city()


def test_viewer_may_edit_no_city_even_if_the_token_lists_cities() -> None:
    viewer = TokenVerifier(_hs_settings()).verify(hs256(claims(role="viewer", cities=["PTLIS"])))

    assert viewer.role is Role.viewer
    assert not viewer.can_edit_city("PTLIS")
    assert not viewer.can_edit_any_city()


def _hs_settings(**overrides: Any) -> Settings:
    return Settings(jwt_secret=TEST_SECRET, **overrides)


def test_issued_editor_token_names_its_cities_once_each() -> None:
    token = issue_token(
        _hs_settings(), subject="ed", role=Role.editor, cities=["ITTRN", "PTLIS", "ITTRN"]
    )

    principal = TokenVerifier(_hs_settings()).verify(token)

    assert principal == Principal("ed", Role.editor, frozenset({"PTLIS", "ITTRN"}))
    assert jwt.decode(token, options={"verify_signature": False})["cities"] == ["ITTRN", "PTLIS"]


def test_issue_token_refuses_without_a_local_secret() -> None:
    with pytest.raises(RuntimeError, match="MC2CM_JWT_SECRET"):
        issue_token(Settings(jwks_url="https://idp.example/jwks"), subject="x", role=Role.admin)


def test_issued_token_is_refused_by_a_deployment_with_another_audience() -> None:
    token = issue_token(_hs_settings(), subject="x", role=Role.admin)

    with pytest.raises(Unauthorized, match=r"(?i)audience"):
        TokenVerifier(_hs_settings(jwt_audience="mc2cm-staging")).verify(token)


# --- RS256 tokens verified against an identity provider's JWKS -----------------------------


@dataclass
class IdentityProvider:
    """A local JWKS endpoint and the private key whose public half it publishes."""

    url: str
    key: rsa.RSAPrivateKey
    kid: str
    public_pem: bytes
    requests: list[str]
    delay: float = 0.0

    def sign(self, payload: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": kid or self.kid})


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[IdentityProvider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="test-key-1", alg="RS256", use="sig")
    document = json.dumps({"keys": [jwk]}).encode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    provider: IdentityProvider

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.requests.append(self.path)
            time.sleep(provider.delay)
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    provider = IdentityProvider(
        url=f"http://{host!s}:{port}/.well-known/jwks.json",
        key=key,
        kid="test-key-1",
        public_pem=public_pem,
        requests=[],
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _jwks_settings(provider: IdentityProvider, **overrides: Any) -> Settings:
    return Settings(jwks_url=provider.url, **overrides)


def test_rs256_token_signed_by_the_identity_provider_is_accepted(
    identity_provider: IdentityProvider,
) -> None:
    token = identity_provider.sign(claims(role="editor", cities=["PTLIS", "ESMAD"]))

    principal = TokenVerifier(_jwks_settings(identity_provider)).verify(token)

    assert principal == Principal("someone@test", Role.editor, frozenset({"PTLIS", "ESMAD"}))


def test_jwks_is_fetched_once_for_many_tokens(identity_provider: IdentityProvider) -> None:
    verifier = TokenVerifier(_jwks_settings(identity_provider))
    before = len(identity_provider.requests)

    for _ in range(5):
        verifier.verify(identity_provider.sign(claims()))

    assert len(identity_provider.requests) - before == 1, identity_provider.requests


def test_hs256_token_signed_with_the_public_key_is_refused(
    identity_provider: IdentityProvider,
) -> None:
    # Algorithm confusion: an attacker knows the public key and signs HS256 with its text.
    forged = hand_signed(
        {"alg": "HS256", "typ": "JWT", "kid": identity_provider.kid},
        claims(),
        identity_provider.public_pem,
    )

    with pytest.raises(Unauthorized):
        TokenVerifier(_jwks_settings(identity_provider)).verify(forged)
    # Nor when the deployment also accepts HS256 tokens of its own secret.
    with pytest.raises(Unauthorized):
        TokenVerifier(_jwks_settings(identity_provider, jwt_secret=TEST_SECRET)).verify(forged)


def test_rs256_token_signed_by_another_key_is_refused(
    identity_provider: IdentityProvider,
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        claims(), impostor, algorithm="RS256", headers={"kid": identity_provider.kid}
    )

    with pytest.raises(Unauthorized, match="Invalid token"):
        TokenVerifier(_jwks_settings(identity_provider)).verify(token)


def test_rs256_token_with_an_unknown_key_id_is_refused(
    identity_provider: IdentityProvider,
) -> None:
    token = identity_provider.sign(claims(), kid="retired-key")

    with pytest.raises(Unauthorized):
        TokenVerifier(_jwks_settings(identity_provider)).verify(token)


def test_rs256_token_is_refused_where_no_jwks_is_configured(
    identity_provider: IdentityProvider,
) -> None:
    with pytest.raises(Unauthorized, match="RS256"):
        TokenVerifier(_hs_settings()).verify(identity_provider.sign(claims()))


def test_rs256_token_checks_audience_and_expiry_too(identity_provider: IdentityProvider) -> None:
    verifier = TokenVerifier(_jwks_settings(identity_provider))

    with pytest.raises(Unauthorized, match=r"(?i)audience"):
        verifier.verify(identity_provider.sign(claims(aud="another-api")))
    with pytest.raises(Unauthorized, match=r"(?i)expired"):
        verifier.verify(identity_provider.sign(claims(exp=datetime.now(UTC) - timedelta(hours=1))))


def test_unreachable_identity_provider_is_a_503_not_a_bad_token(
    identity_provider: IdentityProvider,
) -> None:
    # The caller's token may be fine: telling it "invalid token" would make clients drop it.
    settings = Settings(jwks_url=f"http://127.0.0.1:{closed_port()}/jwks.json")

    with pytest.raises(ServiceUnavailable):
        TokenVerifier(settings).verify(identity_provider.sign(claims()))


def _app_needing_a_token(settings: Settings) -> httpx.AsyncClient:
    router = APIRouter()

    @router.get("/v1/me", summary="Who is calling", tags=["test"])
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    app = create_service_app(
        settings,
        service="auth-test",
        title="t",
        description="t",
        version="0",
        routers=[router],
        openapi_tags=[],
        idempotency_keys=idempotency_keys,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://auth.test")


async def test_slow_identity_provider_does_not_stall_other_requests(
    identity_provider: IdentityProvider,
) -> None:
    # The identity provider holds the key fetch 2 s: /healthz, asked once the fetch is under
    # way, must answer while the fetch still waits (no fixed time to beat on a busy machine).
    delay = identity_provider.delay = 2.0
    fetches = len(identity_provider.requests)
    try:
        async with _app_needing_a_token(_jwks_settings(identity_provider)) as client:
            token = identity_provider.sign(claims())
            started = time.perf_counter()
            slow = asyncio.create_task(client.get("/v1/me", headers=bearer(token)))
            await eventually(
                lambda: len(identity_provider.requests) > fetches,
                message="the slow request is fetching the keys",
            )
            health = await client.get("/healthz")
            waited = time.perf_counter() - started
            stalled = slow.done()
            me = await slow
    finally:
        identity_provider.delay = 0.0

    assert health.status_code == 200, health.text
    assert not stalled and waited < delay, (
        f"/healthz waited {waited:.2f}s, for the JWKS fetch of another request"
    )
    assert me.status_code == 200 and me.json() == {"subject": "someone@test"}, me.text
