"""``mc2cm``: the one entry point of every role the platform's image runs."""

from __future__ import annotations

import asyncio
import enum
import signal
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from services.cli.runtime import (
    DatabaseUnreachable,
    migrate_all,
    unit_of_work,
    wait_for_migrations,
)
from shared.auth import Role, issue_token
from shared.observability import configure_logging
from shared.settings import load_settings

app = typer.Typer(help="MC2CM platform: city migration profiles and the cities' dialogue.")
console = Console(stderr=True)


class Service(enum.StrEnum):
    profiles = "profiles"
    dialogue = "dialogue"


DEFAULT_PORTS = {Service.profiles: 8001, Service.dialogue: 8002}
APP_FACTORIES = {
    Service.profiles: "services.cli.runtime:profiles_app",
    Service.dialogue: "services.cli.runtime:dialogue_app",
}


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _require_database() -> str:
    settings = load_settings()
    if settings.database_url is None:
        console.print(
            "[red]No database configured:[/] set MC2CM_DATABASE_URL (or run `mc2cm dev`)."
        )
        raise typer.Exit(2)
    return settings.database_url


@app.command()
def worker() -> None:
    """Run the worker: the outbox relay, every job and the cron jobs, until SIGTERM or Ctrl-C.

    On SIGTERM it takes no new job, lets running ones finish (up to
    MC2CM_SHUTDOWN_GRACE_SECONDS, or MC2CM_JOB_TIMEOUT_SECONDS if shorter), cancels those
    still running (the next worker runs them again) and exits 0. /healthz, /readyz and
    /metrics are served on MC2CM_METRICS_HOST:MC2CM_METRICS_PORT (0.0.0.0:9100) until then.
    """
    from services.worker.app import run_worker

    _require_database()
    settings = load_settings()
    if settings.redis_url is None:
        console.print("[red]No Redis configured:[/] set MC2CM_REDIS_URL (or run `mc2cm dev`).")
        raise typer.Exit(2)
    configure_logging(settings.log_level, log_format=settings.log_format)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())


@app.command()
def migrate(
    wait: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Apply nothing: wait up to this many seconds until no schema lacks this "
            "release's migrations (applied by another process, e.g. the migration Job); exit 1 "
            "if one still does. A schema a newer release migrated counts as up to date.",
        ),
    ] = None,
    connect_timeout: Annotated[
        float,
        typer.Option(
            min=0,
            help="How long to keep trying the first connection while PostgreSQL does not "
            "accept connections yet (starting, or not resolvable yet); exit 1 after it. "
            "With --wait, the wait includes the database's.",
        ),
    ] = 60,
) -> None:
    """Apply every service's migrations to the configured database."""
    database_url = _require_database()
    settings = load_settings()
    configure_logging(settings.log_level, log_format=settings.log_format)
    if wait is None:
        try:
            asyncio.run(migrate_all(database_url, connect_timeout=connect_timeout))
        except DatabaseUnreachable as error:
            console.print(f"[red]Nothing migrated:[/] {error}.")
            raise typer.Exit(1) from None
        console.print("[green]Migrations applied.[/]")
        return
    behind = asyncio.run(wait_for_migrations(database_url, wait))
    if behind:
        console.print(f"[red]Not migrated after {wait:g} s:[/] {', '.join(behind)}.")
        raise typer.Exit(1)
    console.print("[green]Every schema has this release's migrations.[/]")


@app.command()
def serve(
    service: Annotated[Service, typer.Argument(help="Which API to serve.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (profiles: 8001, dialogue: 8002).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve one API with uvicorn (uvloop and httptools).

    On SIGTERM it stops accepting connections, lets requests in flight finish (up to
    MC2CM_SHUTDOWN_GRACE_SECONDS) and exits 0.
    """
    _require_database()
    settings = load_settings()
    configure_logging(settings.log_level, log_format=settings.log_format)
    # uvicorn handles SIGTERM while it serves, then raises the signal again once it has
    # stopped, for the handler it found: this one makes that a clean exit (status 0) rather
    # than death by the signal, as does a SIGTERM arriving before uvicorn listens.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        APP_FACTORIES[service],
        factory=True,
        host=host,
        port=port or DEFAULT_PORTS[service],
        workers=workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        timeout_keep_alive=settings.keep_alive_seconds,
    )


@app.command()
def seed() -> None:
    """Load the demo data of every service (cities, catalogue, figures, dialogue); idempotent."""
    from services.cli.seeding import describe_seed, seed_all

    _require_database()

    async def run() -> None:
        settings = load_settings()
        async with unit_of_work(settings, name="seed") as session:
            report = await seed_all(session, editions=settings)
        console.print(describe_seed(report))

    asyncio.run(run())


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option(help="Validate only; write nothing.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    actor: Annotated[str, typer.Option(help="Who to record as the author.")] = "mc2cm-cli",
) -> None:
    """Import a CSV file of figures in the tidy format, all or nothing."""
    from services.profiles_api.imports.service import import_csv
    from shared.auth import Principal
    from shared.errors import ProblemError

    _require_database()
    settings = load_settings()

    async def run() -> None:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"Importing {file.name}", total=file.stat().st_size)

            async def chunks() -> AsyncIterator[bytes]:
                with file.open("rb") as handle:
                    while chunk := handle.read(256 * 1024):
                        progress.advance(task, len(chunk))
                        yield chunk

            async with unit_of_work(settings, name="import") as session:
                result = await import_csv(
                    session,
                    Principal(subject=actor, role=Role.admin),
                    chunks(),
                    dry_run=dry_run,
                    reason=reason,
                    max_reported_errors=settings.import_max_reported_errors,
                    statement_timeout_seconds=settings.import_statement_timeout_seconds,
                )
        console.print_json(result.model_dump_json())

    try:
        asyncio.run(run())
    except ProblemError as problem:
        console.print(f"[red]{problem.detail}[/]")
        for error in (problem.errors or [])[:50]:
            console.print(f"  row {error.get('row')}, {error.get('column')}: {error['detail']}")
        raise typer.Exit(1) from None


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="admin, editor or viewer.")],
    city: Annotated[
        list[str] | None, typer.Option(help="City an editor may change (repeatable).")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            help="Who the token names; by default one subject per role and cities "
            "(admin@mc2cm.local, viewer@mc2cm.local, editor-PTLIS@mc2cm.local)."
        ),
    ] = None,
    hours: Annotated[int, typer.Option(min=1, max=24 * 30, help="Validity.")] = 12,
) -> None:
    """Sign a token with the locally configured secret (development and tests)."""
    settings = load_settings()
    if settings.jwt_secret is None:
        console.print(
            "[red]No local secret configured:[/] set MC2CM_JWT_SECRET, or run `make dev` "
            "once in this checkout."
        )
        raise typer.Exit(2)
    if role is Role.editor and not city:
        console.print("[red]An editor token needs at least one --city.[/]")
        raise typer.Exit(2)
    typer.echo(
        issue_token(
            settings,
            subject=subject or default_subject(role, city or ()),
            role=role,
            cities=city or (),
            ttl=timedelta(hours=hours),
        )
    )


def default_subject(role: Role, cities: Sequence[str]) -> str:
    """A subject of its own per role and cities: two development tokens with other rights
    are two callers (their Idempotency-Keys, rate limits and audit entries are apart)."""
    if role is Role.editor:
        return f"editor-{'-'.join(sorted(set(cities)))}@mc2cm.local"
    return f"{role.value}@mc2cm.local"


@app.command()
def mails(
    show: Annotated[
        int | None, typer.Option(help="Print message N of the list (1 = oldest) in full.")
    ] = None,
    last: Annotated[int, typer.Option(min=1, help="How many of the newest to list.")] = 20,
    data_dir: Annotated[Path, typer.Option(help="The data folder of `mc2cm dev`.")] = Path(
        ".mc2cm"
    ),
) -> None:
    """List the e-mails the platform sent while `mc2cm dev` runs (its local SMTP sink)."""
    from rich.table import Table

    from services.cli.mailsink import body_text, mail_dir, read_mails

    found = read_mails(mail_dir(data_dir))
    if show is not None:
        if not 1 <= show <= len(found):
            console.print(f"[red]There is no message {show}; the sink holds {len(found)}.[/]")
            raise typer.Exit(2)
        mail = found[show - 1]
        for header in ("Date", "From", "To", "Subject", "Message-ID"):
            typer.echo(f"{header}: {mail.message.get(header, '')}")
        if mail.attachments:
            typer.echo(f"Attachments: {', '.join(mail.attachments)}")
        typer.echo("")
        typer.echo(body_text(mail.message))
        return
    table = Table(title=f"{len(found)} messages in {mail_dir(data_dir)}")
    for column in ("#", "received", "to", "subject", "attachments"):
        table.add_column(column)
    first = max(len(found) - last, 0)
    for number, mail in enumerate(found[first:], start=first + 1):
        received = mail.received.strftime("%Y-%m-%d %H:%M:%S") if mail.received else ""
        table.add_row(
            str(number), received, mail.recipients, mail.subject, ", ".join(mail.attachments)
        )
    Console().print(table)


@app.command()
def dev(
    data_dir: Annotated[
        Path, typer.Option(help="Where the embedded servers keep their data.")
    ] = Path(".mc2cm"),
    profiles_port: Annotated[int, typer.Option(help="Port of the profiles API.")] = 8001,
    dialogue_port: Annotated[int, typer.Option(help="Port of the dialogue API.")] = 8002,
    smtp_port: Annotated[
        int, typer.Option(help="Port of the local SMTP sink (unless MC2CM_SMTP_HOST is set).")
    ] = 8025,
    metrics_port: Annotated[
        int, typer.Option(help="Port of the worker's /healthz, /readyz and /metrics (0: off).")
    ] = 9100,
) -> None:
    """Run the whole platform locally: embedded PostgreSQL and Redis unless URLs are set,
    both APIs, the worker, and an SMTP sink whose mails `mc2cm mails` lists."""
    from services.cli.dev import run_dev

    raise typer.Exit(
        run_dev(
            data_dir,
            ports={"profiles": profiles_port, "dialogue": dialogue_port},
            smtp_port=smtp_port,
            metrics_port=metrics_port,
        )
    )
