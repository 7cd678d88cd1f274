"""Webhook URLs must lead to public addresses (no requests into the platform's own network),
over http or https (https only in production); refused with a 422 naming `url`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from services.dialogue_api.app import create_app as create_dialogue_app
from shared.outbound import DestinationRefused, OutboundPolicy, check_given_url
from shared.settings import Environment
from tests.conftest import TEST_SECRET, client_in_transaction, make_settings
from tests.dialogue.test_webhooks import create_webhook, new_webhook
from tests.factories import Api, assert_problem, error_fields

REFUSED = [
    ("http://127.0.0.1/hooks", "loopback"),
    ("http://127.8.9.10:8080/hooks", "loopback"),
    ("http://[::1]/hooks", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/hooks", "link-local"),
    ("http://10.1.2.3/hooks", "private"),
    ("http://172.16.0.1/hooks", "private"),
    ("https://192.168.1.20/hooks", "private"),
    ("http://100.64.0.1/hooks", "private"),
    ("http://[fd12:3456::1]/hooks", "private"),
    ("http://0.0.0.0/hooks", "unspecified"),
    ("http://[::]/hooks", "unspecified"),
    ("http://224.0.0.1/hooks", "multicast"),
    ("http://[ff02::1]/hooks", "multicast"),
    ("http://240.0.0.1/hooks", "reserved"),
    ("http://[::ffff:127.0.0.1]/hooks", "loopback"),
    ("http://localhost:8080/hooks", "loopback"),
]


def assert_url_refused(response: Any, kind: str) -> None:
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"url"}, problem
    assert f"{kind} address" in problem["errors"][0]["detail"], problem


@pytest.mark.parametrize(("url", "kind"), REFUSED)
async def test_a_url_into_a_private_network_is_refused_naming_url(
    dialogue: Api, url: str, kind: str
) -> None:
    response = await dialogue.post("/v1/webhooks", role=Api.ADMIN, json=new_webhook(url=url))
    assert_url_refused(response, kind)


async def test_a_name_resolving_to_loopback_is_refused_saying_so(dialogue: Api) -> None:
    url = "http://localhost:8080/hooks"
    response = await dialogue.post("/v1/webhooks", role=Api.ADMIN, json=new_webhook(url=url))
    problem = assert_problem(response, 422)
    assert "localhost resolves to" in problem["errors"][0]["detail"], problem


async def test_changing_the_url_to_a_private_address_is_refused_and_keeps_the_old_one(
    dialogue: Api,
) -> None:
    created = await create_webhook(dialogue)
    location = f"/v1/webhooks/{created['id']}"

    response = await dialogue.patch(
        location,
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"url": "http://169.254.169.254/latest/meta-data/"},
    )

    assert_url_refused(response, "link-local")
    kept = await dialogue.get(location, role=Api.ADMIN)
    assert kept.json()["url"] == created["url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/hooks",
        "http://[2606:4700::1111]/hooks",
        "https://unresolved.invalid/hooks",
    ],
)
async def test_public_addresses_and_names_not_resolvable_yet_are_accepted(
    dialogue: Api, url: str
) -> None:
    # A name that does not resolve now is checked again before each delivery.
    created = await create_webhook(dialogue, url=url)
    assert created["url"] == url


@pytest.fixture(scope="module")
async def private_allowed_app(
    database_url: str, server_urls: tuple[str, str]
) -> AsyncIterator[FastAPI]:
    """The dialogue app of a deployment whose partners' receivers are on its own network."""
    settings = make_settings(database_url, server_urls[1], webhook_allow_private_networks=True)
    app = create_dialogue_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_private_addresses_are_accepted_where_the_setting_allows_them(
    private_allowed_app: FastAPI, connection: AsyncConnection
) -> None:
    settings = private_allowed_app.state.settings
    async with client_in_transaction(
        private_allowed_app, connection, settings, "http://dialogue.test"
    ) as dialogue:
        for url in ("http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks"):
            created = await create_webhook(dialogue, url=url)
            assert created["url"] == url


async def test_production_sends_webhooks_over_https_only() -> None:
    production = make_settings(
        "postgresql://db.example.org/mc2cm",
        "redis://cache.example.org/0",
        environment=Environment.production,
        jwt_secret=TEST_SECRET,
    )
    policy = OutboundPolicy.of(production)
    assert policy.require_https and not policy.allow_private
    with pytest.raises(DestinationRefused, match="scheme must be https, not http"):
        await check_given_url("http", "93.184.215.14", 80, policy)
    await check_given_url("https", "93.184.215.14", 443, policy)
