"""Every service's jobs as the worker runs them, gathered from each service's ``tasks.py``.

A service declares a ``shared.jobs.ServiceTasks``: its domains' ``Tasks`` (handlers by event
type, arq functions, cron jobs, metrics), its outbox and its ``Idempotency-Key`` table. This
module is the worker's only door into the services: it imports their ``tasks`` modules and
nothing else of theirs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arq.cron import CronJob
from arq.worker import Function
from sqlalchemy import Table

from services.dialogue_api.tasks import SERVICE as DIALOGUE
from services.profiles_api.tasks import CITY_DIRECTORY as PROFILES_CITIES
from services.profiles_api.tasks import INDICATOR_DIRECTORY as PROFILES_INDICATORS
from services.profiles_api.tasks import SERVICE as PROFILES
from shared.jobs import (
    CityDirectory,
    DomainMetric,
    Handler,
    Handlers,
    IndicatorDirectory,
    ServiceTasks,
    Tasks,
)

#: The services the worker serves, profiles first: a profiles event's handlers of the
#: dialogue (its read models, then notifications) run after profiles' own.
SERVICES: tuple[ServiceTasks, ...] = (PROFILES, DIALOGUE)
#: The outbox of each schema the relay serves.
OUTBOXES: dict[str, Table] = {service.schema: service.outbox for service in SERVICES}
#: The ``Idempotency-Key`` store of each schema.
IDEMPOTENCY_KEYS: dict[str, Table] = {
    service.schema: service.idempotency_keys for service in SERVICES
}
#: Where the dialogue's read model of the cities resyncs from (``JobContext.cities``).
CITY_DIRECTORY: CityDirectory = PROFILES_CITIES
#: Where the dialogue's read model of the indicators resyncs from (``JobContext.indicators``).
INDICATOR_DIRECTORY: IndicatorDirectory = PROFILES_INDICATORS


def domains() -> Iterable[Tasks]:
    for service in SERVICES:
        yield from service.domains


def merge_handlers(*tables: Handlers) -> Mapping[str, Sequence[Handler]]:
    """One table of handlers by event type, in the order the tables are given."""
    merged: dict[str, list[Handler]] = defaultdict(list)
    for table in tables:
        for event_type, handlers in table.items():
            merged[event_type].extend(handlers)
    return dict(merged)


#: Every handler of every domain, by event type.
HANDLERS = merge_handlers(*(tasks.handlers for tasks in domains()))
#: Every domain's arq functions and cron jobs, and the metrics they declare.
FUNCTIONS: list[Function] = [function for tasks in domains() for function in tasks.functions]
CRON_JOBS: list[CronJob] = [job for tasks in domains() for job in tasks.cron_jobs]
METRICS: list[DomainMetric[Any]] = [metric for tasks in domains() for metric in tasks.metrics]
