"""Delivering one claimed notification: at most one sender at a time, at least once overall.

An attempt runs in two transactions:

1. It counts itself (``attempts + 1``) on the row, if the row is pending, due, and not held
   by another attempt (``FOR UPDATE SKIP LOCKED``), and commits: an attempt cut short still
   shows.
2. It locks the row again, still at that attempt (another run that counted a later attempt
   meanwhile wins), sends, and records the outcome in the same transaction.

So two runs of the same job never both send: the second finds the row locked or already
past its attempt. A worker killed while sending leaves the row pending and due (its lock
goes with its connection): the next sweep, or arq running the job again, sends it. Receivers
de-duplicate on the message id, the same on every attempt, for the one case no database can
close: a message sent just before its worker died, unrecorded.

A failed attempt records its error as it was given (the SMTP server's reply, the receiver's
HTTP status, ``HeaderParseError: …`` for a message that cannot be written out) and the next
attempt's time (exponential backoff from ``delivery_retry_base_seconds``) and enqueues it;
after ``delivery_max_attempts``, or at once when no retry can mend it, the delivery is
``failed``. Each delivery of a batch is sent and recorded on its own: one that fails in any
way leaves the others to be sent. Each failed webhook attempt counts against its
subscription, which is disabled after ``webhook_disable_after_failures`` in a row; a success
starts that count again.

The statements on the delivery's row (counting, locking and loading, recording) are
SQLAlchemy Core built once (``repository.DeliveryAttempts``), run on the connection that
holds the advisory locks: an ORM session, its identity map and its flush cost the worker as
much as the rest of the delivery. A webhook's subscription is read, and its failures
counted, through the database's session in the attempt's transaction, so disabling it is
audited as any change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import aiosmtplib
import httpx
from sqlalchemy import BigInteger, ColumnElement, Integer, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.dialogue_api.notifications import webhooks
from services.dialogue_api.notifications.claims import enqueue_delivery
from services.dialogue_api.notifications.mail import (
    PermanentFailure,
    build_message,
    send_message,
    smtp_error,
)
from services.dialogue_api.notifications.repository import Attempt, DeliveryAttempts, Scheduled
from services.dialogue_api.notifications.schemas import Channel, DeliveryStatus, webhook_message_id
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.dialogue_api.webhooks.repository import WebhookRepository
from shared.jobs import JobContext
from shared.outbound import OutboundPolicy
from shared.settings import Settings

log = logging.getLogger(__name__)

#: Longest wait between two attempts.
MAX_BACKOFF = timedelta(hours=6)
#: A job deferred until a delivery is due may start a moment before PostgreSQL's clock says so.
CLOCK_SLACK = timedelta(seconds=2)
#: Errors kept in the log are cut to the column's size.
ERROR_LENGTH = 2000


class Skipped(Exception):
    """Nothing to send the delivery with; it is recorded ``skipped``, not retried."""


def backoff(settings: Settings, attempt: int) -> timedelta:
    """The wait after failed attempt ``attempt``: the base, doubled at each attempt."""
    seconds = settings.delivery_retry_base_seconds * 2 ** (attempt - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


#: Failures a retry may mend, as they come: the others are recorded with their traceback
#: in the log too, and retried all the same (at least once).
_EXPECTED = (webhooks.DeliveryFailed, aiosmtplib.SMTPException, httpx.HTTPError, OSError)


def _error(exc: BaseException) -> str:
    """The error as recorded in ``last_error``: our own failures' text as it is, an SMTP
    server's reply as it said it, and any other error with its class."""
    if isinstance(exc, webhooks.DeliveryFailed | PermanentFailure | Skipped):
        text = str(exc)
    elif isinstance(exc, aiosmtplib.SMTPException):
        text = smtp_error(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_LENGTH]


async def _send_email(worker: JobContext, row: Attempt) -> None:
    settings = worker.settings
    if not settings.smtp_host:
        raise Skipped("no SMTP server is configured (MC2CM_SMTP_HOST)")
    await send_message(build_message(row, sender=settings.mail_from), worker.smtp)


async def _subscription(session: AsyncSession, row: Attempt) -> WebhookSubscription:
    """The webhook's subscription, if it is still there and active (else ``Skipped``)."""
    repository = WebhookRepository.from_session(session)
    subscription = (
        await repository.get(row.subscription_id) if row.subscription_id is not None else None
    )
    if subscription is None:
        raise Skipped("the webhook subscription was removed")
    if not subscription.active:
        raise Skipped(f"the webhook subscription is disabled ({subscription.disabled_reason})")
    return subscription


async def _send_webhook(
    worker: JobContext, session: AsyncSession, subscription: WebhookSubscription, row: Attempt
) -> None:
    repository = WebhookRepository.from_session(session)
    try:
        await webhooks.post(
            subscription,
            webhook_message_id(row.message_id),
            row.body,
            timeout=worker.settings.webhook_timeout_seconds,
            policy=OutboundPolicy.of(worker.settings),
            http=worker.http,
        )
    except (webhooks.DeliveryFailed, httpx.HTTPError):
        await repository.record_failure(
            subscription.id, disable_after=worker.settings.webhook_disable_after_failures
        )
        raise
    await repository.record_success(subscription.id)


#: Class of the advisory locks that keep two runs of one delivery apart (with its id).
DELIVERY_LOCK_CLASS = 0x4E4F54  # "NOT"


#: Statements outside the attempt's second transaction run on their own, without BEGIN and
#: COMMIT round trips (each is its own transaction in PostgreSQL).
_ON_THEIR_OWN = "AUTOCOMMIT"
_IN_A_TRANSACTION = "READ COMMITTED"


def _lock_key(notification_id: ColumnElement[int]) -> ColumnElement[int]:
    """The second half of a delivery's advisory lock key (an ``integer``)."""
    return cast(notification_id % 2**31, Integer)


async def deliver(worker: JobContext, notification_id: int) -> str:
    """Make the next attempt of a delivery, if it is due and nobody else is making it; what
    became of it."""
    return (await deliver_many(worker, [notification_id]))[notification_id]


async def deliver_many(worker: JobContext, notification_ids: Sequence[int]) -> dict[int, str]:
    """Make the next attempt of each delivery that is due and nobody else is making; what
    became of each.

    A session advisory lock on each delivery is held across both transactions of its attempt
    (counting it, then sending it), so a second run of the same job finds it taken; a worker
    that dies lets them go with its connection. Taking the locks, counting the attempts and
    letting the locks go are one statement each for the whole batch, committed on its own;
    then each delivery is sent and its outcome recorded in a transaction of its own, so one
    delivery's failure or retry is its own.
    """
    outcomes = dict.fromkeys(notification_ids, "nothing due")
    ids = func.unnest(literal(list(notification_ids), ARRAY(BigInteger))).column_valued("id")
    async with worker.database.engine.connect() as connection:
        await connection.execution_options(isolation_level=_ON_THEIR_OWN)
        taken = list(
            await connection.scalars(
                select(ids).where(func.pg_try_advisory_lock(DELIVERY_LOCK_CLASS, _lock_key(ids)))
            )
        )
        await connection.commit()
        if not taken:
            return outcomes
        try:
            outcomes |= await _attempt(worker, connection, taken)
        finally:
            held = func.unnest(literal(taken, ARRAY(BigInteger))).column_valued("id")
            await connection.rollback()
            await connection.execution_options(isolation_level=_ON_THEIR_OWN)
            await connection.execute(
                select(func.pg_advisory_unlock(DELIVERY_LOCK_CLASS, _lock_key(held)))
            )
            await connection.commit()
    return outcomes


async def _attempt(
    worker: JobContext, connection: AsyncConnection, notification_ids: list[int]
) -> dict[int, str]:
    """The two transactions of each attempt, on ``connection`` (which holds the locks, and
    runs each statement on its own until told otherwise)."""
    attempts = DeliveryAttempts(connection)
    # One statement: the attempts are counted (and committed) whatever follows.
    counted = await attempts.start(notification_ids, datetime.now(UTC), slack=CLOCK_SLACK)
    await connection.commit()
    await connection.execution_options(isolation_level=_IN_A_TRANSACTION)
    outcomes = {}
    for notification_id in notification_ids:
        attempt = counted.get(notification_id)
        if attempt is None:
            continue
        try:
            outcomes[notification_id] = await _send(worker, attempts, notification_id, attempt)
        except Exception as exc:
            # Its outcome could not be recorded (the database failed it): the delivery stays
            # pending and due, this attempt counted, for the sweep. The batch goes on.
            log.exception("delivery %s, attempt %d, not recorded", notification_id, attempt)
            await _record_error(attempts, notification_id, attempt, _error(exc))
            outcomes[notification_id] = f"attempt {attempt} not recorded: {_error(exc)}"
    return outcomes


async def _record_error(
    attempts: DeliveryAttempts, notification_id: int, attempt: int, error: str
) -> None:
    """Record ``error`` on a delivery still pending at ``attempt``, if the database lets us."""
    try:
        async with attempts.connection.begin():
            await attempts.record_error(notification_id, attempt, error)
    except Exception:
        log.exception("the error of delivery %s could not be recorded either", notification_id)


async def _send(
    worker: JobContext, attempts: DeliveryAttempts, notification_id: int, attempt: int
) -> str:
    """The second transaction of an attempt: lock the row at it, send, record the outcome."""
    settings = worker.settings
    retry = None
    async with attempts.connection.begin():
        row = await attempts.lock(notification_id, attempt)
        if row is None:
            return "taken by another attempt"
        if attempt > settings.delivery_max_attempts:
            # Attempts cut short (workers that died sending it) count too.
            reason = f"gave up after {attempt - 1} attempts, the last cut short"
            if row.last_error:
                reason = f"{reason}; last error: {row.last_error}"
            row = row._replace(status=DeliveryStatus.failed.value, last_error=reason[:ERROR_LENGTH])
            await attempts.record(row)
            return f"failed: {reason}"
        try:
            if row.channel == Channel.email:
                await _send_email(worker, row)
            else:
                # The database's own sessions, in the attempt's transaction: what they flush
                # (a subscription disabled) is audited.
                async with worker.database.sessions(attempts.connection)() as session:
                    subscription = await _subscription(session, row)
                    # Retries go where the partner's endpoint is now.
                    row = row._replace(recipient=subscription.url)
                    await _send_webhook(worker, session, subscription, row)
        except Skipped as exc:
            row = row._replace(status=DeliveryStatus.skipped.value, last_error=_error(exc))
        except Exception as exc:
            # Whatever failed is recorded as it was said, so the log tells why; anything
            # but a permanent failure is retried, an unforeseen error too.
            row = row._replace(last_error=_error(exc))
            if isinstance(exc, PermanentFailure) or attempt >= settings.delivery_max_attempts:
                row = row._replace(status=DeliveryStatus.failed.value)
            else:
                row = row._replace(next_attempt_at=datetime.now(UTC) + backoff(settings, attempt))
                retry = Scheduled(row.id, row.message_id, row.attempts, row.next_attempt_at)
            log.warning(
                "%s delivery %s, attempt %d, failed: %s",
                row.channel,
                row.id,
                attempt,
                row.last_error,
                exc_info=not isinstance(exc, (PermanentFailure, *_EXPECTED)),
            )
        else:
            row = row._replace(status=DeliveryStatus.sent.value, sent_at=datetime.now(UTC))
        await attempts.record(row)
    if retry is not None:
        await enqueue_delivery(worker, retry)
        return f"attempt {attempt} failed; retrying"
    return f"{row.status} at attempt {attempt}"
