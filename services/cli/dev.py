"""``mc2cm dev``: the whole platform on one machine, nothing to install beyond ``make dev``.

Starts the embedded PostgreSQL and Redis (unless ``DATABASE_URL`` / ``REDIS_URL`` name
servers) and a local SMTP sink (unless ``MC2CM_SMTP_HOST`` names a server), applies
migrations, loads the demo data, prints an admin token and runs each API and the worker as
its own process, exactly as the production image does. Ctrl-C stops it all; so does this
process's death without a chance to clean up (SIGKILL): its processes get SIGTERM from the
kernel and the embedded servers are stopped by their watchdog (``shared.embedded``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import asyncpg
from rich.console import Console
from sqlalchemy.engine import make_url

from services.cli.mailsink import MailSink, mail_dir
from services.cli.runtime import migrate_all, unit_of_work
from shared.auth import Role, issue_token
from shared.embedded import EmbeddedStack, exit_with_parent, start_embedded_stack
from shared.settings import (
    DEV_ENV_FILE,
    DEV_SECRET_PREFIX,
    Settings,
    load_settings,
    to_libpq_url,
)

console = Console(stderr=True)
DEV_DATABASE = "mc2cm"


def development_secret(data_dir: Path) -> str:
    """The development signing secret, generated once per checkout and kept under .mc2cm/.

    It carries the development prefix, so production settings refuse it: a secret copied from
    a laptop must not sign tokens a deployment accepts. One kept from before the prefix is
    replaced (development tokens are printed again at each start)."""
    path = data_dir / "jwt_secret"
    if not path.exists() or not path.read_text().startswith(DEV_SECRET_PREFIX):
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(DEV_SECRET_PREFIX + secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


async def _ensure_database(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server, created if missing."""
    url = make_url(to_libpq_url(server_url))
    connection = await asyncpg.connect(to_libpq_url(server_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(database=name).render_as_string(hide_password=False)


def _write_dev_env(values: dict[str, str]) -> None:
    DEV_ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEV_ENV_FILE.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    DEV_ENV_FILE.chmod(0o600)


#: What ``mc2cm dev`` keeps of the file between runs: the secret, so tokens stay valid.
_KEPT_BETWEEN_RUNS = ("MC2CM_JWT_SECRET",)


def _forget_an_earlier_run() -> None:
    """Keep only the secret of the file an earlier ``mc2cm dev`` wrote. A run that was killed
    (no chance to rewrite it on exit) leaves the addresses of servers and a mail sink that
    stopped with it: read as configuration, they would send this run to servers that are gone
    instead of starting its own. Servers configured in the environment still count."""
    if not DEV_ENV_FILE.is_file():
        return
    kept = {}
    for line in DEV_ENV_FILE.read_text().splitlines():
        name, separator, value = line.partition("=")
        if separator and name.strip() in _KEPT_BETWEEN_RUNS:
            kept[name.strip()] = value.strip()
    _write_dev_env(kept)


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _alive_after(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether ``process`` is still running ``seconds`` from now (the worker has no HTTP)."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return True
    return False


#: What the processes ``mc2cm dev`` starts log like, unless the environment says otherwise:
#: text for the terminal, the worker's operations endpoints on the loopback only.
DEV_DEFAULTS = {"MC2CM_LOG_FORMAT": "text", "MC2CM_METRICS_HOST": "127.0.0.1"}


def run_dev(
    data_dir: Path, *, ports: dict[str, int], smtp_port: int = 8025, metrics_port: int = 9100
) -> int:
    """Run until interrupted; the exit status of the platform."""
    warnings.filterwarnings("ignore", module="platformdirs")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    _forget_an_earlier_run()
    configured = load_settings()
    stack: EmbeddedStack | None = None
    sink: MailSink | None = None
    processes: list[subprocess.Popen[bytes]] = []
    secret = (
        configured.jwt_secret.get_secret_value()
        if configured.jwt_secret
        else development_secret(data_dir)
    )
    try:
        stack = start_embedded_stack(
            data_dir,
            postgres=configured.database_url is None,
            redis=configured.redis_url is None,
        )
        server_url = configured.database_url or stack.database_url
        redis_url = configured.redis_url or stack.redis_url
        assert server_url is not None and redis_url is not None
        database_url = (
            server_url
            if configured.database_url
            else asyncio.run(_ensure_database(server_url, DEV_DATABASE))
        )
        env = {
            "MC2CM_ENVIRONMENT": "development",
            "MC2CM_DATABASE_URL": database_url,
            "MC2CM_REDIS_URL": redis_url,
            "MC2CM_JWT_SECRET": secret,
        }
        if configured.smtp_host is None:
            sink = MailSink(mail_dir(data_dir), port=smtp_port)
            sink.start()
            env |= {"MC2CM_SMTP_HOST": sink.address[0], "MC2CM_SMTP_PORT": str(sink.address[1])}
        _write_dev_env(env)
        settings = load_settings()
        console.print(f"PostgreSQL: {make_url(database_url).render_as_string()}")
        console.print(f"Redis:      {redis_url}")
        asyncio.run(migrate_all(database_url))
        asyncio.run(_seed(settings))
        # The dialogue reads the figures beside its evidence from the profiles it starts.
        # Stored PDFs and e-mails cite editions at the profiles API it starts.
        profiles_api = {
            "MC2CM_PROFILES_API_URL": f"http://127.0.0.1:{ports['profiles']}",
            "MC2CM_PUBLIC_URL": f"http://127.0.0.1:{ports['profiles']}",
            # Each service's pages link to the other's on its own port.
            "MC2CM_PROFILES_PAGES_URL": f"http://127.0.0.1:{ports['profiles']}",
            "MC2CM_DIALOGUE_PAGES_URL": f"http://127.0.0.1:{ports['dialogue']}",
        }
        child_env = (
            DEV_DEFAULTS
            | profiles_api
            | os.environ
            | env
            | {"MC2CM_METRICS_PORT": str(metrics_port)}
        )
        for service, port in ports.items():
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "services.cli", "serve", service, "--port", str(port)],
                    env=child_env,
                    # Killed (SIGKILL, no finally below), this process takes its own along;
                    # the embedded servers have their watchdog.
                    preexec_fn=exit_with_parent(),
                )
            )
        for (service, port), process in zip(ports.items(), processes, strict=True):
            if not _wait_ready(port, process):
                console.print(f"[red]{service} did not become ready on port {port}.[/]")
                return 1
        worker = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            env=child_env,
            preexec_fn=exit_with_parent(),
        )
        processes.append(worker)
        if not _alive_after(worker, 1.0):
            console.print("[red]The worker stopped on start; see its log above.[/]")
            return 1
        token = issue_token(settings, subject="admin@mc2cm.local", role=Role.admin)
        console.rule(f"MC2CM platform ready in {time.monotonic() - started:.1f} s")
        for service, port in ports.items():
            console.print(f"{service:>9}: http://127.0.0.1:{port}/v1  (docs: /docs)")
        console.print("   worker: relaying events, aggregating, notifying")
        if metrics_port:
            console.print(f"           http://127.0.0.1:{metrics_port}/metrics  (and /readyz)")
        if sink is not None:
            host, port = sink.address
            console.print(f"     mail: SMTP sink on {host}:{port}; `mc2cm mails` lists what it got")
        console.print("Admin token (12 h; `mc2cm token --role ...` makes others):")
        print(token, flush=True)  # noqa: T201 - the token goes to stdout for scripts
        console.print("Ctrl-C stops everything.")
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        # A service that stopped on Ctrl-C (sent to the whole terminal's process group, so it
        # may see it first) stopped cleanly; any other exit is a failure to report.
        stopped_cleanly = {0, -signal.SIGINT, -signal.SIGTERM}
        return 0 if all(process.returncode in stopped_cleanly for process in processes) else 1
    except KeyboardInterrupt:
        console.print("Stopping…")
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()
        _write_dev_env({"MC2CM_JWT_SECRET": secret})
        if sink is not None:
            sink.stop()
        if stack is not None:
            stack.close()


async def _seed(settings: Settings) -> None:
    from services.cli.seeding import describe_seed, seed_all

    async with unit_of_work(settings, name="seed") as session:
        report = await seed_all(session, editions=settings)
    console.print(describe_seed(report))
