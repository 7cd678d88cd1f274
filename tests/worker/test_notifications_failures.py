"""Failed deliveries say why: the error recorded at each attempt is the one that happened (a
header that cannot be written, the SMTP server's reply), and one recipient's failure never
keeps the rest of a batch from being sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.tasks import deliver_notification, deliver_notifications
from services.dialogue_api.people.models import Person
from services.worker.app import open_worker
from shared.auth import Role
from shared.db import Database
from tests.dialogue.factories import create_event, create_person, register
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.notifying import smtp, until_settled
from tests.worker.receivers import SmtpSink

#: Nothing an earlier test of the module left is the worker's to do (``quiet``).
pytestmark = pytest.mark.usefixtures("quiet")


class RefusingSink(SmtpSink):
    """An SMTP server that refuses some recipients with the reply the test gives each."""

    def __init__(self) -> None:
        super().__init__()
        #: The reply to ``RCPT TO`` of each address refused.
        self.refusals: dict[str, str] = {}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """aiosmtpd's hook: the reply to ``RCPT TO:<address>``."""
        refusal = self.refusals.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


def address(who: str) -> str:
    return f"{who}.{uuid.uuid4().hex[:8]}@example.org"


async def stored(database: Database, recipient: str, name: str) -> Notification:
    """A mail claimed and due now, stored as the worker would have claimed it (also a row
    written before the API refused names with line breaks)."""
    async with database.sessionmaker() as session, session.begin():
        row = Notification(
            delivery_key=f"test:{uuid.uuid4()}",
            message_id=uuid.uuid4(),
            channel="email",
            recipient=recipient,
            recipient_name=name,
            event_type="registration.changed",
            subject="Registration confirmed: Housing roundtable",
            body=f"Dear {name},",
        )
        session.add(row)
    return row


async def reread(database: Database, row: Notification) -> Notification:
    async with database.sessionmaker() as session:
        found = await session.scalar(select(Notification).where(Notification.id == row.id))
        assert found is not None
        return found


async def test_one_failing_mail_leaves_the_rest_of_its_batch_sent_and_says_why_it_failed(
    platform: Platform, quiet: Database
) -> None:
    with RefusingSink() as sink:
        gone, full = address("gone"), address("full")
        sink.refusals = {gone: "550 5.1.1 No such mailbox here", full: "452 4.2.2 Mailbox full"}
        forged = await stored(quiet, address("eve"), "Eve\r\nBcc: victim@example.org")
        refused = await stored(quiet, gone, "Gone Away")
        waiting = await stored(quiet, full, "Full Box")
        ana = await stored(quiet, address("ana"), "Ana Ferreira")
        bo = await stored(quiet, address("bo"), "Bo Larsen")
        batch = [forged, refused, waiting, ana, bo]

        settings = platform.settings.model_copy(update=smtp(sink))
        async with open_worker(settings) as worker:
            outcome = await deliver_notifications({"worker": worker}, [row.id for row in batch])

        assert outcome == "2 of 5 sent", outcome
        assert sorted(str(m["To"]) for m in sink.messages) == sorted(
            [f"Ana Ferreira <{ana.recipient}>", f"Bo Larsen <{bo.recipient}>"]
        )
        assert not any("victim@example.org" in str(m) for m in sink.messages)

        forged, refused, waiting, ana, bo = [await reread(quiet, row) for row in batch]
        # A header that cannot be written fails at once (every attempt would send the same
        # bytes), with Python's own words for it.
        assert (forged.status, forged.attempts) == ("failed", 1), forged.last_error
        assert forged.last_error is not None
        assert forged.last_error.startswith(
            "HeaderParseError: header value appears to contain an embedded header: "
        ), forged.last_error
        assert "Bcc: victim@example.org" in forged.last_error, forged.last_error
        # The server's reply, as it gave it, and the recipient it refused.
        assert (refused.status, refused.attempts) == ("failed", 1), refused.last_error
        assert refused.last_error == (
            f"SMTPRecipientsRefused: 550 5.1.1 No such mailbox here (to {gone})"
        )
        # A temporary refusal is retried, its reply recorded.
        assert (waiting.status, waiting.attempts) == ("pending", 1), waiting.last_error
        assert waiting.last_error == f"SMTPRecipientsRefused: 452 4.2.2 Mailbox full (to {full})"
        assert [ana.status, bo.status] == ["sent", "sent"]

        # The next attempt records its own error, not the first one's.
        sink.refusals[full] = "451 4.3.0 Try again later"
        async with open_worker(settings) as worker:

            async def second_attempt() -> Notification | None:
                await deliver_notification({"worker": worker}, waiting.id)
                row = await reread(quiet, waiting)
                return row if row.attempts == 2 else None

            retried = await eventually(second_attempt)
        assert retried.status == "pending", retried.last_error
        assert retried.last_error == f"SMTPRecipientsRefused: 451 4.3.0 Try again later (to {full})"
        assert retried.next_attempt_at > datetime.now(UTC)


async def test_a_person_whose_name_breaks_the_header_is_told_nothing_and_the_log_says_why(
    platform: Platform, quiet: Database
) -> None:
    """A person stored before names with line breaks were refused: their mail cannot be
    written; the others registered with them get theirs."""
    async with quiet.sessionmaker() as session, session.begin():
        forged = Person(
            name="Eve\r\nBcc: victim@example.org",
            email=address("eve"),
            role="expert",
            city_code="TNTUN",
        )
        session.add(forged)
    event = await create_event(platform.dialogue, title={"en": "Housing roundtable"})
    other = await create_person(platform.dialogue, name="Ana Ferreira")
    with SmtpSink() as sink:
        async with platform.worker(**smtp(sink)):
            await register(platform.dialogue, event["id"], forged.id)
            await register(platform.dialogue, event["id"], other["id"])
            await until_settled(quiet)

        assert [str(m["To"]) for m in sink.messages] == [f"Ana Ferreira <{other['email']}>"]
    response = await platform.dialogue.get(f"/v1/notifications?person={forged.id}", role=Role.admin)
    assert response.status_code == 200, response.text
    (delivery,) = response.json()["items"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1), delivery
    assert delivery["last_error"].startswith(
        "HeaderParseError: header value appears to contain an embedded header: "
    ), delivery["last_error"]
