"""A PostgreSQL server of the test's own, which the test can stop, freeze and start again on
one port: the binaries the ``pgserver`` package ships, in a temporary directory. It may be a
hot standby of another (``standby_of``): a base backup of it that streams its WAL.

PostgreSQL refuses to run as root (as the tests do on CI); then the server runs as the
``postgres`` system user, or ``nobody`` where there is none.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

from tests.worker.receivers import HOST, free_port

START_TIMEOUT_SECONDS = 30


def _server_user() -> str | None:
    """Who runs the server: this process's user, or an unprivileged one when that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


class PostgresServer:
    """``postgres`` on 127.0.0.1 and a free port, with ``fsync`` off (a test's data need not
    survive a power cut); ``close()`` stops it and removes its files."""

    def __init__(self, *, standby_of: PostgresServer | None = None) -> None:
        self.user = _server_user()
        # Not under pytest's tmp_path: its directories are private to root.
        self.directory = Path(tempfile.mkdtemp(prefix="mc2cm-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        if self.user is not None:
            shutil.chown(self.directory, user=self.user)
        if standby_of is None:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "utf8")
        else:
            # A copy of the running primary, set to follow it (-R: standby.signal and
            # primary_conninfo), its WAL streamed during the copy (initdb's defaults allow
            # replication connections from this host, without a password).
            self._run(
                "pg_basebackup",
                *("-h", HOST, "-p", str(standby_of.port), "-U", "postgres"),
                *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast"),
            )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=60,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    *("-D", str(self.data), "-p", str(self.port), "-h", HOST, "-k", ""),
                    *("-c", "fsync=off", "-c", "max_connections=40"),
                ],
                stdout=log,
                stderr=log,
                user=self.user,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port)],
            check=False,
        ).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self, mode: str = "immediate") -> None:
        """Shut the server down: ``immediate`` (SIGQUIT) drops every connection at once and
        writes nothing back, as when the server or its machine dies; ``fast`` (SIGINT) ends
        every session with an error and checkpoints, as a planned restart does."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.send_signal({"immediate": signal.SIGQUIT, "fast": signal.SIGINT}[mode])
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def _processes(self) -> list[psutil.Process]:
        if self.process is None or self.process.poll() is not None:
            return []
        postmaster = psutil.Process(self.process.pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def freeze(self) -> None:
        """Stop every process of the server (SIGSTOP): connections stay open, nothing answers,
        as when the network to a server drops its packets."""
        for process in self._processes():
            process.suspend()

    def resume(self) -> None:
        for process in self._processes():
            process.resume()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
