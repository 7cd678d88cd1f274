"""Notifications of the dialogue by e-mail and signed webhook, each delivery claimed in
PostgreSQL before it is sent and recorded with its attempts.

- ``emails.py`` decides who is told of each dialogue event, ``webhooks.py`` sends every
  outbox event (of both services) to the subscriptions to its type; both render the message
  and claim it (``claims.py``), then enqueue ``deliver_notification``. An event's changes
  wait until they pause (``changes.py``) and are told in one e-mail per person.
- ``delivery.py`` sends one attempt under the row's lock and records the outcome, with
  backoff; ``mail.py`` and ``calendar.py`` build e-mails and their calendar attachments in
  the reader's language (``templates/``).
- ``reminders.py`` claims the reminders before events and action due dates; ``jobs.py``
  holds the arq jobs: the delivery, the sweep of due deliveries, the reminders.
"""

from __future__ import annotations

from services.dialogue_api.webhooks.schemas import WebhookEventType
from services.worker.context import Handler, Handlers
from services.worker.notifications.emails import EMAIL_HANDLERS
from services.worker.notifications.jobs import CRON_JOBS, FUNCTIONS
from services.worker.notifications.webhooks import on_outbox_event


def _handlers(event_type: str) -> list[Handler]:
    email = EMAIL_HANDLERS.get(event_type)
    return [*([email] if email is not None else []), on_outbox_event]


#: Every event a subscription may ask for gets its webhooks; dialogue events their e-mails.
HANDLERS: Handlers = {
    event_type.value: _handlers(event_type.value) for event_type in WebhookEventType
}

__all__ = ["CRON_JOBS", "FUNCTIONS", "HANDLERS"]
