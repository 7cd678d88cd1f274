"""Settings for every process of the platform, read from the environment (prefix ``MC2CM_``)."""

from __future__ import annotations

import enum
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.text import SINGLE_LINE

#: Where ``mc2cm dev`` keeps the embedded servers' data and its generated secret.
DEV_DIR = Path(".mc2cm")
#: The file ``mc2cm dev`` writes so other commands in the checkout (``mc2cm token``) find the stack.
DEV_ENV_FILE = DEV_DIR / "dev.env"

MIN_SECRET_LENGTH = 32
#: How development secrets begin (``mc2cm dev`` generates them so): production refuses them.
DEV_SECRET_PREFIX = "dev-"
#: Words of the placeholders example files and documentation put where a secret goes
#: (``change-me-…``, ``CHANGEME``, ``your-secret-example``, ``<placeholder>``, ``replace_me``):
#: production refuses a secret containing one, compared in lower case without separators.
PLACEHOLDER_WORDS = ("changeme", "replaceme", "example", "placeholder")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.I)


@dataclass(frozen=True)
class Rate:
    """``amount`` requests every ``seconds``."""

    amount: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.amount}/{self.seconds}s"


def parse_rate(text: str) -> Rate:
    """``"120/minute"``, ``"10 per hour"``, ``"5/10 seconds"`` as a ``Rate``."""
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"not a rate like '120/minute': {text!r}")
    amount, multiple, unit = int(match[1]), int(match[2] or 1), _UNITS[match[3].lower()]
    if amount < 1 or multiple < 1:
        raise ValueError(f"a rate needs at least 1 request in at least 1 {match[3]}: {text!r}")
    return Rate(amount, multiple * unit)


def placeholder_word(secret: str) -> str | None:
    """The placeholder word ``secret`` contains (``PLACEHOLDER_WORDS``), if any."""
    letters = re.sub(r"[^a-z0-9]", "", secret.lower())
    return next((word for word in PLACEHOLDER_WORDS if word in letters), None)


class LogFormat(enum.StrEnum):
    """How log lines are written: one JSON object a line, or plain text for a terminal."""

    json = "json"
    text = "text"


class Environment(enum.StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Configuration of one process. Each field reads ``MC2CM_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MC2CM_", extra="ignore", frozen=True)

    environment: Environment = Environment.development

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MC2CM_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL URL; when unset, `mc2cm dev` starts an embedded server.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MC2CM_REDIS_URL", "REDIS_URL"),
        description="Redis URL (redis:// or unix://); when unset, `mc2cm dev` embeds one.",
    )
    data_dir: Path = DEV_DIR
    #: Connections each process keeps open. No overflow by default: a connection opened
    #: beyond the pool is closed as soon as it is returned, so a sustained load above the pool
    #: would open one (TCP, TLS negotiation, start-up) per request; the same 20 at most stay open.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    db_statement_timeout_ms: int = 30_000
    #: Limit of opening one connection to PostgreSQL (TCP, TLS and start-up): past it, a
    #: request answers 503 instead of waiting for a server that does not answer.
    db_connect_timeout_seconds: float = Field(default=5, gt=0)
    #: Wait for a free connection of the pool before a request answers 503.
    db_pool_timeout_seconds: float = Field(default=5, gt=0)
    #: Hot standbys the APIs read from (``shared.replicas``): URLs separated by commas (or a
    #: JSON list), none by default. GETs and HEADs run on one of them; writes, reads of a
    #: write and the worker run on ``database_url``.
    database_read_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: How long a read that carries a ``Consistency-Token`` waits for its replica to replay
    #: that write before the primary answers it instead.
    db_replica_wait_ms: int = Field(default=250, ge=0, le=10_000)
    #: Seconds between two checks of each replica (up or down, and its lag).
    db_replica_check_seconds: float = Field(default=1, gt=0, le=300)

    # Authentication: HS256 tokens signed with `jwt_secret`, RS256 tokens verified by `jwks_url`.
    jwt_secret: SecretStr | None = None
    jwks_url: str | None = None
    jwt_audience: str = "mc2cm"
    jwt_issuer: str = "mc2cm"
    jwt_leeway_seconds: int = 30

    #: Largest JSON (or any non-upload) request body, in bytes; beyond it a request is a 413.
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1)
    #: Largest body of a JSON batch (`POST /v1/observations`: up to 5000 observations, about
    #: 300 bytes each with an inline source, 1.6 kB each at this limit).
    max_batch_body_bytes: int = Field(default=8 * 1024**2, ge=1)
    #: Largest CSV import body, in bytes (streamed, so memory stays bounded whatever it is):
    #: a census file of a million rows is about 200 MB.
    max_import_body_bytes: int = Field(default=1024**3, ge=1)

    # Rate limits of writes (POST, PUT, PATCH, DELETE) per token subject, or per client address
    # for anonymous callers, counted in Redis ("120/minute", "10 per hour", "5/10 seconds").
    rate_limit_enabled: bool = True
    rate_limit_writes: str = "120/minute"
    #: CSV imports count against this limit instead of the writes' one.
    rate_limit_imports: str = "10/minute"
    rate_limit_key_prefix: str = "mc2cm:rate-limit"
    #: The longest a write waits for Redis to count it; past it the write goes unchecked.
    rate_limit_timeout_seconds: float = Field(default=0.25, gt=0)
    #: After Redis failed to answer, writes go unchecked this long before it is asked again.
    rate_limit_pause_seconds: float = Field(default=5, ge=0)

    pagination_default_limit: int = 50
    pagination_max_limit: int = 1000
    import_max_reported_errors: int = 1000
    #: Statement limit of an import's transaction: its COPY lasts as long as the upload.
    import_statement_timeout_seconds: int = 3600
    #: Breakdowns of counts (`persons`, `count`) below this are hidden from callers who may
    #: not edit the city (small numbers can identify people); 0 shows every value.
    suppression_threshold: int = Field(default=5, ge=0)

    # The worker (`mc2cm worker`): its arq queue, the outbox relay and the jobs' limits.
    queue_name: str = "mc2cm"
    #: Seconds between sweeps of the outbox when no NOTIFY arrives (the relay's safety net).
    outbox_sweep_seconds: float = 15
    #: A relayed event not handled after this many seconds is enqueued again.
    outbox_redeliver_after_seconds: float = 600
    job_timeout_seconds: float = 120
    job_max_tries: int = 5
    #: A burst of writes to one indicator is recomputed once, this long after the last write
    #: (short: a write's recomputation covers only the periods it touched, a tenth of a
    #: second for a period of a million-value indicator).
    aggregation_debounce_seconds: float = 0.25
    #: Statement limit of a recomputation's transaction: an indicator of millions of
    #: observations takes longer than a request may.
    aggregation_statement_timeout_seconds: int = Field(default=600, gt=0)

    # Notifications: e-mail over SMTP and signed webhooks.
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset, e-mails are recorded as skipped."
    )
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30
    #: The sender's header: one line (a line break would let the setting write headers).
    mail_from: Annotated[str, SINGLE_LINE] = "MC2CM network <no-reply@mc2cm.local>"
    #: Limit of one webhook call, connecting, sending and reading the answer all included.
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    #: Let webhooks go to loopback, link-local and private addresses (receivers on the same
    #: host or network: development, tests); refused otherwise (``shared.outbound``).
    webhook_allow_private_networks: bool = False
    #: Attempts of one delivery before it is given up (the wait doubles from the base:
    #: 30 s, 1 min, 2 min, 4 min, 8 min).
    delivery_max_attempts: int = 6
    delivery_retry_base_seconds: float = 30
    #: A webhook subscription is disabled after this many failed attempts in a row (of any
    #: of its deliveries); a success starts the count again.
    webhook_disable_after_failures: int = 10
    #: A burst of changes to one event is told to its participants in one e-mail each, this
    #: long after the last change (cancellations go at once).
    event_change_debounce_seconds: float = Field(default=60, ge=0)

    #: How long a POST's response is kept for replays of its ``Idempotency-Key``.
    idempotency_ttl_hours: float = 24

    #: Where the public reaches the platform (the proxy's root, before ``/v1``): the address
    #: citations, stored PDF reports and e-mails give. Unset, a citation read over HTTP gives
    #: the address it was asked at, and what the worker writes gives paths only.
    public_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$", examples=["https://mc2cm.example"]
    )
    #: Where each service's public pages are, for the links between them, when the two are
    #: not behind one address (``make dev`` serves each on its own port); unset, the links
    #: are paths from the root, as the proxy and the Ingress route them.
    profiles_pages_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$", examples=["http://127.0.0.1:8001"]
    )
    dialogue_pages_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$", examples=["http://127.0.0.1:8002"]
    )
    #: How long a request for an edition's PDF not rendered yet waits for the worker before
    #: answering 202 with Retry-After.
    report_wait_seconds: float = Field(default=5, ge=0, le=30)
    #: Renderings of one edition's PDF tried and failed before it is given up.
    report_max_failures: int = Field(default=3, ge=1)

    #: The profiles API as the dialogue reaches it (its root, before ``/v1``), for the
    #: figures shown beside a recommendation's evidence; unset, evidence reads without them.
    profiles_api_url: str | None = Field(
        default=None, examples=["http://profiles:8000", "http://127.0.0.1:8001"]
    )
    #: Limit of everything one read asks of the profiles API (connecting, every page read):
    #: past it the figures are left out with a note, the read itself still answers.
    profiles_api_timeout_seconds: float = Field(default=2, gt=0)

    root_path: str = ""
    log_level: str = "INFO"
    #: ``json`` (one object a line, for log collectors) or ``text``; ``mc2cm dev`` asks for text.
    log_format: LogFormat = LogFormat.json
    #: Seconds a stopping process gives what is running: an API its requests in flight
    #: (uvicorn's graceful shutdown), the worker its running jobs (at most
    #: ``job_timeout_seconds``, also for a job with a longer timeout of its own; those still
    #: running then are cancelled and run again by the next worker). An orchestrator's kill
    #: deadline must be longer.
    shutdown_grace_seconds: int = Field(default=20, ge=0)
    #: Seconds an API keeps an idle HTTP connection open for the next request (uvicorn's
    #: ``timeout_keep_alive``). Longer than the proxies' pools keep theirs (nginx's upstream
    #: ``keepalive_timeout``, 60 s by default, ingress-nginx's 60 s), so that a proxy never
    #: sends a request on a connection the API is closing at that moment (a 502).
    keep_alive_seconds: int = Field(default=75, ge=1)
    #: The worker's HTTP server of ``/healthz``, ``/readyz`` and ``/metrics``: all interfaces
    #: by default, as a container's probes and scrapers come from outside it; port 0 turns it off.
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    #: Where each process sends its traces over OTLP/HTTP (``http://collector:4318``; the
    #: ``/v1/traces`` path is added). Unset, nothing is traced: no instrumentation is
    #: installed and nothing is exported (``shared.tracing``).
    otlp_endpoint: str | None = None
    #: Proxies whose X-Forwarded-For/-Proto headers are believed (comma-separated, or "*").
    forwarded_allow_ips: str = "127.0.0.1"
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("database_read_urls", mode="before")
    @classmethod
    def _read_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("database_read_urls")
    @classmethod
    def _postgresql_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            to_asyncpg_url(url)  # a URL of another kind, or none, is refused here
        return urls

    @field_validator("rate_limit_writes", "rate_limit_imports")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def write_rate(self) -> Rate:
        return parse_rate(self.rate_limit_writes)

    @property
    def import_rate(self) -> Rate:
        return parse_rate(self.rate_limit_imports)

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment is Environment.production:
            if self.jwt_secret is None and self.jwks_url is None:
                raise ValueError("production needs MC2CM_JWT_SECRET or MC2CM_JWKS_URL")
            if self.jwt_secret is not None:
                secret = self.jwt_secret.get_secret_value()
                if len(secret) < MIN_SECRET_LENGTH or secret.startswith(DEV_SECRET_PREFIX):
                    raise ValueError(
                        "MC2CM_JWT_SECRET is a development secret; production needs a random "
                        f"secret of at least {MIN_SECRET_LENGTH} characters"
                    )
                if (word := placeholder_word(secret)) is not None:
                    raise ValueError(
                        f"MC2CM_JWT_SECRET is a placeholder (it contains {word!r}); production "
                        "needs a random secret, e.g. python -c 'import secrets; "
                        "print(secrets.token_urlsafe(48))'"
                    )
            if self.database_url is None or self.redis_url is None:
                raise ValueError("production needs MC2CM_DATABASE_URL and MC2CM_REDIS_URL")
        return self

    @property
    def async_database_url(self) -> str:
        """The database URL in the form SQLAlchemy's asyncpg dialect expects."""
        if self.database_url is None:
            raise RuntimeError("no database configured (set MC2CM_DATABASE_URL)")
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    """Turn ``postgres://`` / ``postgresql://`` / ``postgresql+psycopg://`` into asyncpg form.

    Managed databases hand out libpq URLs with ``?sslmode=require``; SQLAlchemy passes query
    parameters to ``asyncpg.connect``, which calls that one ``ssl`` (same values).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if scheme in {"postgres", "postgresql"} or scheme.startswith("postgresql+"):
        location, question, query = rest.partition("?")
        if question:
            parameters = [
                "ssl" + part.removeprefix("sslmode") if part.split("=")[0] == "sslmode" else part
                for part in query.split("&")
            ]
            location = f"{location}?{'&'.join(parameters)}"
        return f"postgresql+asyncpg://{location}"
    raise ValueError(f"unsupported database scheme {scheme!r}; PostgreSQL is required")


def to_libpq_url(url: str) -> str:
    """The same URL without a SQLAlchemy driver suffix, for asyncpg and psql."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; outside production also from ``.mc2cm/dev.env``.

    ``mc2cm dev`` writes that file so that other commands run in the same checkout
    (``mc2cm token``, ``mc2cm import``) reach the embedded servers with the same secret.
    Variables set in the environment always win over the file.
    """
    in_production = os.environ.get("MC2CM_ENVIRONMENT") == Environment.production
    env_file = DEV_ENV_FILE if DEV_ENV_FILE.is_file() and not in_production else None
    return Settings(_env_file=env_file, **overrides)
