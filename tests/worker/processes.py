"""``mc2cm worker`` as a process of its own, as production runs it, for the tests that kill
or stop one."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET
from tests.worker.conftest import Platform
from tests.worker.receivers import SmtpSink

PROJECT = Path(__file__).resolve().parents[2]


async def start_worker_process(
    platform: Platform, sink: SmtpSink, log: Path, **settings: str
) -> asyncio.subprocess.Process:
    """``mc2cm worker`` on this test's database, queue and SMTP server, its output appended
    to ``log``; ``settings`` (``MC2CM_…`` variables) add to or replace the defaults (no
    metrics server, relay passes every 0.5 s)."""
    own = platform.settings
    assert own.database_url is not None and own.redis_url is not None
    env = os.environ | {
        "MC2CM_ENVIRONMENT": "test",
        "MC2CM_DATABASE_URL": own.database_url,
        "MC2CM_REDIS_URL": own.redis_url,
        "MC2CM_QUEUE_NAME": own.queue_name,
        "MC2CM_JWT_SECRET": TEST_SECRET,
        "MC2CM_SMTP_HOST": "127.0.0.1",
        "MC2CM_SMTP_PORT": str(sink.port),
        "MC2CM_OUTBOX_SWEEP_SECONDS": "0.5",
        "MC2CM_METRICS_PORT": "0",
        **settings,
    }
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "worker",
            env=env,
            cwd=PROJECT,
            stdout=output,
            stderr=output,
        )
