"""The worker's Prometheus metrics: its jobs and the backlog of both outboxes, beside the
process's collectors (``shared.observability.add_process_collectors``) and its database pool's
(``DatabasePoolCollector``, added by ``services.worker.app.open_worker``).

One registry per worker process, served at the worker's ``/metrics``
(``services.worker.operations``). Jobs are counted by ``services.worker.instrumentation``.
Domains declare their own metrics on the same registry (``shared.jobs.DomainMetric``, e.g.
``mc2cm_aggregation_failures_total`` in ``services/profiles_api/aggregates/tasks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Table

from shared.observability import add_process_collectors
from shared.outbox_metrics import OutboxMetrics

#: How a run of a job ended: it returned; it raised (or ran past its timeout) and will not
#: run again; it asked to run again later, or was cancelled by a stopping worker (arq runs
#: it again).
OUTCOMES = ("complete", "failed", "retry")
#: Jobs last from milliseconds (a relayed event) to minutes (an indicator of millions of
#: values recomputed).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class WorkerMetrics:
    """Counters of job runs and the outbox backlog gauges, in a registry of their own."""

    def __init__(self, outboxes: Mapping[str, Table]) -> None:
        self.registry = CollectorRegistry()
        add_process_collectors(self.registry)
        self.jobs = Counter(
            "mc2cm_jobs_total",
            "Runs of the worker's jobs by how they ended (complete, failed, retry).",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "mc2cm_job_duration_seconds",
            "How long each run of a job took, whatever its outcome.",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "mc2cm_jobs_in_progress",
            "Jobs running now.",
            ["job"],
            registry=self.registry,
        )
        self.outbox = OutboxMetrics(self.registry, outboxes)

    def declare(self, job: str) -> None:
        """Show ``job``'s series at 0 before its first run, so rates start from the beginning."""
        self.in_progress.labels(job)
        self.duration.labels(job)
        for outcome in OUTCOMES:
            self.jobs.labels(job, outcome)
