"""The worker's SMTP connections: mail after mail over one connection, and a connection the
server dropped replaced without losing the mail."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from services.worker.smtp import SmtpConnections
from shared.settings import Settings
from tests.waiting import eventually
from tests.worker.receivers import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(idle_timeout=0.5) as server:
        yield server


def a_mail(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "no-reply@mc2cm.local"
    message["To"] = f"participant.{n}@example.org"
    message["Subject"] = f"Mail {n}"
    message["Message-ID"] = f"<{uuid.uuid4()}@mc2cm>"
    message.set_content("Dear participant,")
    return message


def connections_to(sink: SmtpSink, settings: Settings) -> SmtpConnections:
    return SmtpConnections(
        settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": sink.port})
    )


async def test_successive_mails_share_one_smtp_connection(
    sink: SmtpSink, settings: Settings
) -> None:
    smtp = connections_to(sink, settings)
    try:
        for n in range(3):
            await smtp.send(a_mail(n))
    finally:
        await smtp.close()

    assert [str(m["Subject"]) for m in sink.messages] == ["Mail 0", "Mail 1", "Mail 2"]
    assert len(set(sink.peers)) == 1


async def test_mails_sent_at_once_each_get_a_connection(sink: SmtpSink, settings: Settings) -> None:
    smtp = connections_to(sink, settings)
    try:
        await asyncio.gather(*(smtp.send(a_mail(n)) for n in range(3)))
        await smtp.send(a_mail(3))
    finally:
        await smtp.close()

    assert sorted(str(m["Subject"]) for m in sink.messages) == [f"Mail {n}" for n in range(4)]
    assert len(set(sink.peers)) == 3


async def test_a_connection_the_server_dropped_is_replaced_and_the_mail_sent(
    sink: SmtpSink, settings: Settings
) -> None:
    smtp = connections_to(sink, settings)
    try:
        await smtp.send(a_mail(0))
        await asyncio.sleep(1.0)  # the sink drops the idle client after 0.5 s
        await smtp.send(a_mail(1))
        await eventually(lambda: len(sink.messages) == 2)
    finally:
        await smtp.close()

    assert [str(m["Subject"]) for m in sink.messages] == ["Mail 0", "Mail 1"]
    assert len(set(sink.peers)) == 2
