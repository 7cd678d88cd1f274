"""Settings (shared/settings.py): what production refuses, where URLs come from, their forms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from services.cli.dev import development_secret
from shared.db import Database
from shared.settings import (
    DEV_ENV_FILE,
    Environment,
    Settings,
    load_settings,
    to_asyncpg_url,
    to_libpq_url,
)

GOOD_SECRET = "k3Q9v7TzL0pXw2Rb8nYc5Hs1Jd6Gf4Ma"
DATABASE = "postgresql://mc2cm:pw@db.internal:5432/mc2cm"
REDIS = "redis://cache.internal:6379/0"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the environment of the test run."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("MC2CM_"):
            monkeypatch.delenv(name)


def production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": Environment.production,
        "jwt_secret": GOOD_SECRET,
        "database_url": DATABASE,
        "redis_url": REDIS,
    }
    values.update(overrides)
    return Settings(**values)


def test_production_accepts_a_long_random_secret_and_both_urls() -> None:
    settings = production()

    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == GOOD_SECRET


@pytest.mark.parametrize(
    "secret",
    ["short-secret", "dev-" + "x" * 60, "", "a" * 31],
    ids=["short", "dev-prefixed", "empty", "31-characters"],
)
def test_production_refuses_a_development_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="MC2CM_JWT_SECRET"):
        production(jwt_secret=secret)


@pytest.mark.parametrize(
    "secret",
    [
        "change-me-to-at-least-32-random-characters-0000",
        "CHANGEME_CHANGEME_CHANGEME_CHANGEME",
        "Change_Me-please-with-a-random-value-of-48-chars",
        "this-is-an-example-secret-of-more-than-32-characters",
        "<placeholder: at least 32 random characters here>",
        "replace-me-with-a-long-random-secret-string-0123",
    ],
    ids=["change-me", "changeme", "change_me-mixed-case", "example", "placeholder", "replace-me"],
)
def test_production_refuses_a_placeholder_secret_of_any_length(secret: str) -> None:
    """What an example file or a how-to puts where the secret goes, left as it was."""
    assert len(secret) >= 32

    with pytest.raises(ValidationError, match="MC2CM_JWT_SECRET is a placeholder"):
        production(jwt_secret=secret)


@pytest.mark.parametrize(
    "secret",
    [
        "Zq8fR2xW0mLp4Nc7Vb1Ht6Ys3Kd9Ja5Ge",  # random letters and digits
        "7f3c9a1e5b2d8064af1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b1d3f",  # hex
        "q4Jx-V9s_Lm2Wn8Rz1Tp6Hy3Kd7Fb0Gc5Ne_Ua",  # token_urlsafe style, with separators
    ],
    ids=["alphanumeric", "hex", "urlsafe"],
)
def test_production_accepts_random_secrets(secret: str) -> None:
    settings = production(jwt_secret=secret)

    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == secret


def test_a_placeholder_secret_is_fine_outside_production() -> None:
    """Local runs and tests may use whatever they like."""
    settings = Settings(jwt_secret="change-me-to-at-least-32-random-characters-0000")

    assert settings.environment is Environment.development


def test_production_refuses_the_secret_mc2cm_dev_generates(tmp_path: Path) -> None:
    secret = development_secret(tmp_path)

    assert len(secret) >= 32 and development_secret(tmp_path) == secret, "kept per checkout"
    with pytest.raises(ValidationError, match="MC2CM_JWT_SECRET"):
        production(jwt_secret=secret)


def test_a_dev_secret_kept_from_before_the_prefix_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("x" * 64)

    secret = development_secret(tmp_path)

    assert secret != "x" * 64
    with pytest.raises(ValidationError, match="MC2CM_JWT_SECRET"):
        production(jwt_secret=secret)


def test_production_refuses_to_run_without_any_way_to_verify_tokens() -> None:
    with pytest.raises(ValidationError, match="MC2CM_JWT_SECRET or MC2CM_JWKS_URL"):
        production(jwt_secret=None)


def test_production_may_verify_tokens_with_a_jwks_url_alone() -> None:
    settings = production(jwt_secret=None, jwks_url="https://idp.example/.well-known/jwks.json")

    assert settings.jwt_secret is None


@pytest.mark.parametrize("missing", ["database_url", "redis_url"])
def test_production_refuses_a_missing_server_url(missing: str) -> None:
    with pytest.raises(ValidationError, match="MC2CM_DATABASE_URL and MC2CM_REDIS_URL"):
        production(**{missing: None})


def test_development_accepts_a_dev_secret_and_no_servers() -> None:
    settings = Settings(jwt_secret="dev-secret")

    assert settings.environment is Environment.development
    assert settings.database_url is None and settings.redis_url is None


def test_production_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MC2CM_ENVIRONMENT", "production")
    monkeypatch.setenv("MC2CM_JWT_SECRET", "dev-changeme")
    monkeypatch.setenv("MC2CM_DATABASE_URL", DATABASE)
    monkeypatch.setenv("MC2CM_REDIS_URL", REDIS)

    with pytest.raises(ValidationError, match="development secret"):
        Settings()


@pytest.mark.parametrize("variable", ["DATABASE_URL", "MC2CM_DATABASE_URL"])
def test_database_url_is_read_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, DATABASE)

    assert Settings().database_url == DATABASE


@pytest.mark.parametrize("variable", ["REDIS_URL", "MC2CM_REDIS_URL"])
def test_redis_url_is_read_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, REDIS)

    assert Settings().redis_url == REDIS


def test_the_prefixed_database_url_wins_over_the_generic_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone-else@other-host/other")
    monkeypatch.setenv("MC2CM_DATABASE_URL", DATABASE)

    assert Settings().database_url == DATABASE


def test_settings_read_other_fields_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MC2CM_PAGINATION_MAX_LIMIT", "200")
    monkeypatch.setenv("PAGINATION_MAX_LIMIT", "5")

    assert Settings().pagination_max_limit == 200


def test_load_settings_reads_the_dev_env_file_but_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEV_ENV_FILE).parent.mkdir()
    (tmp_path / DEV_ENV_FILE).write_text(
        f"MC2CM_JWT_SECRET=dev-from-file\nMC2CM_DATABASE_URL={DATABASE}\n"
    )
    monkeypatch.setenv("MC2CM_DATABASE_URL", "postgresql://from-env/db")

    settings = load_settings()

    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == "dev-from-file"
    assert settings.database_url == "postgresql://from-env/db"


def test_load_settings_ignores_the_dev_env_file_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEV_ENV_FILE).parent.mkdir()
    (tmp_path / DEV_ENV_FILE).write_text("MC2CM_JWT_SECRET=dev-from-file\n")
    monkeypatch.setenv("MC2CM_ENVIRONMENT", "production")
    monkeypatch.setenv("MC2CM_JWT_SECRET", GOOD_SECRET)
    monkeypatch.setenv("DATABASE_URL", DATABASE)
    monkeypatch.setenv("REDIS_URL", REDIS)

    settings = load_settings()

    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == GOOD_SECRET


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        # Managed databases hand out libpq URLs; asyncpg calls the parameter `ssl`.
        ("postgres://u:p@h/db?sslmode=require", "postgresql+asyncpg://u:p@h/db?ssl=require"),
        (
            "postgresql://u@h/db?application_name=x&sslmode=verify-full",
            "postgresql+asyncpg://u@h/db?application_name=x&ssl=verify-full",
        ),
    ],
)
def test_database_urls_are_normalised_to_asyncpg(url: str, expected: str) -> None:
    assert to_asyncpg_url(url) == expected
    assert Settings(database_url=url).async_database_url == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///tmp/x.db", "db.internal:5432/mc2cm"])
def test_database_urls_of_other_servers_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"PostgreSQL|not a database URL"):
        to_asyncpg_url(url)


def test_async_database_url_says_which_variable_is_missing() -> None:
    with pytest.raises(RuntimeError, match="MC2CM_DATABASE_URL"):
        _ = Settings().async_database_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://u@h/db", "postgresql://u@h/db"),
        ("postgres://u@h/db", "postgresql://u@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_libpq_urls_drop_the_driver(url: str, expected: str) -> None:
    assert to_libpq_url(url) == expected


async def test_a_libpq_url_with_sslmode_opens_a_working_engine(
    server_urls: tuple[str, str],
) -> None:
    url = to_libpq_url(server_urls[0])
    separator = "&" if "?" in url else "?"
    settings = Settings(database_url=f"{url}{separator}sslmode=disable")
    database = Database.from_settings(settings, application_name="settings-test")
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await database.dispose()
