"""Aggregation of the profiles' figures: network and regional aggregates, derived
indicators and the data-coverage matrix, recomputed in set-based SQL after data changes.

``handlers.py`` turns events into debounced requests (``requests.py``); ``jobs.py`` holds
the job that fulfils a request and the full refresh run at start-up and nightly. The SQL
itself is the profiles domain's (``services/profiles_api/aggregates/compute.py``).
"""

from __future__ import annotations

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from services.worker.aggregation.handlers import (
    on_city_upserted,
    on_indicator_changed,
    on_observations_changed,
)
from services.worker.aggregation.jobs import (
    recompute_aggregates,
    refresh_aggregates,
    sweep_overdue,
)
from services.worker.aggregation.requests import RECOMPUTE_JOB
from services.worker.context import Handlers
from shared.contracts.events import CityUpserted, IndicatorChanged, ObservationsChanged

#: The full refresh may take longer than an ordinary job: it walks the whole catalogue.
REFRESH_TIMEOUT_SECONDS = 3600


HANDLERS: Handlers = {
    ObservationsChanged.event_type: [on_observations_changed],
    CityUpserted.event_type: [on_city_upserted],
    IndicatorChanged.event_type: [on_indicator_changed],
}
FUNCTIONS: list[Function] = [func(recompute_aggregates, name=RECOMPUTE_JOB)]
CRON_JOBS: list[CronJob] = [
    # Nightly, since coverage moves with the date, and at start-up (demo data, lost jobs).
    cron(
        refresh_aggregates,
        name="refresh_aggregates",
        hour={3},
        minute={15},
        second={0},
        run_at_startup=True,
        timeout=REFRESH_TIMEOUT_SECONDS,
    ),
    cron(sweep_overdue, name="sweep_overdue_aggregations", second={40}),
]
