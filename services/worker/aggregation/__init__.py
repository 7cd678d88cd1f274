"""Aggregation of the profiles' figures: network and regional aggregates, derived
indicators and the data-coverage matrix, recomputed in set-based SQL after data changes."""

from __future__ import annotations

from arq.cron import CronJob
from arq.worker import Function

from services.worker.context import Handlers

HANDLERS: Handlers = {}
FUNCTIONS: list[Function] = []
CRON_JOBS: list[CronJob] = []
