"""What the worker runs for the dialogue: its domains' jobs and the tables of schema
``dialogue`` the worker's machinery serves.

The worker reaches the dialogue through this module (and each domain's ``tasks.py``) only.
The domains are listed in the order their handlers run for one event.
"""

from __future__ import annotations

from services.dialogue_api import SCHEMA
from services.dialogue_api.assessments.tasks import TASKS as ASSESSMENTS
from services.dialogue_api.cities.tasks import TASKS as CITIES
from services.dialogue_api.db import idempotency_keys, outbox
from services.dialogue_api.indicators.tasks import TASKS as INDICATORS
from services.dialogue_api.notifications.tasks import TASKS as NOTIFICATIONS
from shared.jobs import ServiceTasks

SERVICE = ServiceTasks(
    schema=SCHEMA,
    outbox=outbox,
    idempotency_keys=idempotency_keys,
    domains=[CITIES, INDICATORS, ASSESSMENTS, NOTIFICATIONS],
)
