"""What the worker runs for profiles: its domains' jobs, the tables of schema ``profiles`` the
worker's machinery serves, and what profiles lends other services' jobs.

The worker reaches profiles through this module (and each domain's ``tasks.py``) only.
"""

from __future__ import annotations

from services.profiles_api import SCHEMA
from services.profiles_api.aggregates.tasks import TASKS as AGGREGATES
from services.profiles_api.cities.service import city_refs
from services.profiles_api.db import idempotency_keys, outbox
from services.profiles_api.indicators.service import indicator_refs
from services.profiles_api.reports.tasks import TASKS as REPORTS
from shared.jobs import CityDirectory, IndicatorDirectory, ServiceTasks

SERVICE = ServiceTasks(
    schema=SCHEMA,
    outbox=outbox,
    idempotency_keys=idempotency_keys,
    domains=[AGGREGATES, REPORTS],
)

#: The network's cities as the other services' read models keep them
#: (``shared.jobs.JobContext.cities``).
CITY_DIRECTORY: CityDirectory = city_refs
#: The indicator catalogue as the other services' read models keep it
#: (``shared.jobs.JobContext.indicators``).
INDICATOR_DIRECTORY: IndicatorDirectory = indicator_refs
