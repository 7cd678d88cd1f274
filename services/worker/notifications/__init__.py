"""Notifications of the dialogue by e-mail and signed webhook, each delivery claimed in
PostgreSQL before it is sent and recorded with its attempts."""

from __future__ import annotations

from arq.cron import CronJob
from arq.worker import Function

from services.worker.context import Handlers

HANDLERS: Handlers = {}
FUNCTIONS: list[Function] = []
CRON_JOBS: list[CronJob] = []
