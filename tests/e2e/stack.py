"""The platform as the compose file runs it, with processes instead of containers: each role
is ``mc2cm <its compose command>`` with its compose environment (servers, ports and secrets
replaced by this machine's), behind nginx serving deploy/nginx/routes.conf, the proxy's own
routes. Used by tests/e2e/test_deploy.py, and by tests/deploy/test_proxy.py for nginx alone."""

from __future__ import annotations

import asyncio
import email
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from tests.deploy.manifests import DEPLOY, load_compose
from tests.worker.receivers import _Controller, bound_socket, free_port

HOST = "127.0.0.1"
#: Where Debian puts nginx (not on a non-root user's PATH).
NGINX_PLACES = "/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin"


def find_nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path=NGINX_PLACES)


@dataclass
class Role:
    """One process of the platform: its command line, environment and log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, executable: str) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [executable, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a few seconds: cleanup even when a test failed."""
        if not self.running():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(
            self.output().splitlines()[-lines:]
        )


def compose_role(service: str, *, port: int | None, replace: dict[str, str], log: Path) -> Role:
    """The compose service ``service`` as a process: its command with ``--host`` on loopback
    and ``--port`` on ``port``, its environment with every interpolated value (``${…}``)
    replaced from ``replace`` and what ``replace`` names overriding the rest."""
    definition = load_compose()["services"][service]
    args = list(definition["command"])
    for option, value in (("--host", HOST), ("--port", str(port))):
        if option in args:
            args[args.index(option) + 1] = value
    environment = {name: str(value) for name, value in definition.get("environment", {}).items()}
    for name, value in environment.items():
        if "${" in value:
            assert name in replace, f"{service}: {name}={value} needs a value of the test's"
    environment |= replace
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MC2CM_") and name not in {"DATABASE_URL", "REDIS_URL"}
    }
    return Role(service, args, base | environment, log)


def nginx_config(
    directory: Path, *, listen: int, upstreams: dict[str, int], http_extra: str = ""
) -> Path:
    """deploy/nginx/nginx.conf with this machine's addresses: the upstreams on loopback ports,
    the routes file included from the checkout, every path nginx writes under ``directory``;
    ``http_extra``, directives of the test's own, at the top of the ``http`` block."""
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()

    def swap(pattern: str, replacement: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, replacement, text)
        assert count == 1, f"deploy/nginx/nginx.conf no longer has {pattern!r}"

    for service, port in upstreams.items():
        swap(rf"server {service}:8000;", f"server {HOST}:{port};")
    swap(r"listen 8080;", f"listen {HOST}:{listen};")
    swap(r"include /etc/nginx/mc2cm/routes\.conf;", f"include {DEPLOY / 'nginx' / 'routes.conf'};")
    swap(r"pid /tmp/nginx\.pid;", f"pid {directory / 'nginx.pid'};")
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    swap(r"http \{\n", "http {\n" + temp + "\n" + http_extra)
    # As root (CI), nginx's workers would switch to `nobody`, who may not write under tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    config = directory / "nginx.conf"
    config.write_text(f"daemon off;\n{user}{text}")
    return config


def start_nginx(executable: str, directory: Path, config: Path) -> Role:
    """nginx serving ``config``, once ``nginx -t`` has accepted it; stop it with ``stop()``."""
    checked = subprocess.run(
        [executable, "-t", "-p", str(directory), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, f"nginx -t refused {config}:\n{checked.stderr}"
    arguments = ["-p", str(directory), "-c", str(config)]
    proxy = Role("nginx", arguments, dict(os.environ), directory / "nginx.log")
    proxy.start(executable)
    return proxy


def wait_for(
    check: Callable[[], Any], *, timeout: float, what: str, roles: Sequence[Role] = ()
) -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what``, with the logs
    of ``roles``, or at once when one of them has exited."""
    deadline = time.monotonic() + timeout
    while True:
        for role in roles:
            if not role.running():
                code = role.process.returncode if role.process else None
                raise AssertionError(f"{role.name} exited ({code}) {what}\n{role.tail()}")
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            logs = "\n".join(role.tail() for role in roles)
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.1)


@dataclass
class MailSink:
    """An SMTP server keeping every message it accepts; a message to ``hold_for`` is held in
    the middle of its conversation (after DATA) until ``release()``, then accepted: a job
    that is running for as long as the test wants."""

    hold_for: str | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        server = bound_socket()
        self.port: int = server.getsockname()[1]
        self._controller = _Controller(self, server)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recipients = " ".join(envelope.rcpt_tos)
        if self.hold_for and self.hold_for in recipients:
            self.held.set()
            while not self._released.is_set():
                await asyncio.sleep(0.02)
        content: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def release(self) -> None:
        self._released.set()

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._released.set()
        self._controller.stop()


__all__ = [
    "HOST",
    "MailSink",
    "Role",
    "compose_role",
    "find_nginx",
    "free_port",
    "nginx_config",
    "start_nginx",
]
