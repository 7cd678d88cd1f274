"""The worker's SMTP connections, kept open across deliveries.

Opening a connection, its greeting and EHLO (and STARTTLS and login) cost more than sending
one message over it, so each worker keeps its connections and sends message after message on
them. Domains send through ``JobContext.smtp`` (the dialogue's notifications,
``services/dialogue_api/notifications/mail.py``); this module knows SMTP, not deliveries.

A message is written out as ``aiosmtplib`` writes it (``compat32``), byte for byte, except
that a header already ASCII on one line that fits is written as it is: Python's generator
refolded each one through ``email.header.Header``, two thirds of the cost of writing the
message out.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.policy import Compat32

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender

from shared.settings import Settings

#: A connection left idle longer is closed rather than reused (servers drop idle clients
#: after a few minutes; RFC 5321 asks them to wait at least five).
IDLE_SECONDS = 60.0


class _Unfolded(Compat32):
    """``compat32``, writing a header that is ASCII on one line that fits as it is (the
    ``Header`` folding it went through gave back the same line)."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= (self.max_line_length or 0)
            and "\n" not in value
            and "\r" not in value
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_EIGHT_BIT = _Unfolded()
_SEVEN_BIT = _Unfolded(cte_type="7bit")


def flatten(message: Message, *, eight_bit: bool = True) -> bytes:
    """The bytes ``aiosmtplib`` sends for ``message`` (``aiosmtplib.email.flatten_message``),
    which carries no ``Bcc``."""
    with io.BytesIO() as out:
        BytesGenerator(out, policy=_EIGHT_BIT if eight_bit else _SEVEN_BIT).flatten(message)
        return out.getvalue()


async def send_message(client: aiosmtplib.SMTP, message: Message) -> None:
    """``client.send_message(message)``, written out by ``flatten``: from the ``From``
    header to the ``To`` and ``Cc`` ones, with ``SMTPUTF8`` for addresses not in ASCII and
    ``BODY=8BITMIME`` where the server takes it."""
    if (
        isinstance(message, EmailMessage)
        or message["Bcc"] is not None
        or message["Resent-Date"] is not None
    ):
        # Written with another policy, or headers to strip or pick apart: aiosmtplib's way.
        await client.send_message(message)
        return
    sender = extract_sender(message)
    recipients = extract_recipients(message)
    if sender is None or not recipients:
        raise ValueError("No From header, or no recipient headers, provided in message")
    options = []
    if not (sender + "".join(recipients)).isascii():
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "An address containing non-ASCII characters was provided, but "
                "SMTPUTF8 is not supported by this server"
            )
        options.append("SMTPUTF8")
    eight_bit = client.supports_extension("8BITMIME")
    if eight_bit:
        options.append("BODY=8BITMIME")
    await client.sendmail(
        sender, recipients, flatten(message, eight_bit=eight_bit), mail_options=options
    )


class SmtpConnections:
    """The worker's open SMTP connections, each used by one delivery at a time.

    A delivery takes an idle connection or opens one; it gives it back when the message was
    accepted or refused (aiosmtplib sends RSET after a refusal), and closes it on any other
    error. At most as many are open as deliveries run at once (arq's ``max_jobs``).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        password = settings.smtp_password
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            start_tls=settings.smtp_starttls or None,
            timeout=settings.smtp_timeout_seconds,
        )

    def _take(self) -> aiosmtplib.SMTP | None:
        """An idle connection still fresh, or ``None``; stale ones are closed."""
        while self._idle:
            since, client = self._idle.pop()
            if client.is_connected and time.monotonic() - since < IDLE_SECONDS:
                return client
            client.close()
        return None

    async def _open(self) -> aiosmtplib.SMTP:
        client = self._client()
        try:
            await client.connect()
            # Greeted now (aiosmtplib would at the first message), so the server's
            # extensions are known before the first message is written out.
            if client.is_ehlo_or_helo_needed:
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
        except BaseException:
            client.close()
            raise
        return client

    @asynccontextmanager
    async def _using(self, client: aiosmtplib.SMTP) -> AsyncIterator[aiosmtplib.SMTP]:
        """``client``, kept for the next delivery after a clean exit or an answer of the
        server, closed on any other error."""
        try:
            yield client
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException):
            # The server answered: the connection is sound, and reset for the next message.
            self._release(client)
            raise
        except BaseException:
            client.close()
            raise
        self._release(client)

    def _release(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected:
            self._idle.append((time.monotonic(), client))

    async def send(self, message: Message) -> None:
        """Send ``message`` on an open connection, or a new one. A reused connection the
        server had closed meanwhile is replaced once by a new one (the server took nothing
        on it; had it closed during DATA, receivers de-duplicate on the Message-ID)."""
        client = self._take()
        if client is not None:
            try:
                async with self._using(client):
                    await send_message(client, message)
                return
            except aiosmtplib.SMTPServerDisconnected:
                pass
        client = await self._open()
        async with self._using(client):
            await send_message(client, message)

    async def close(self) -> None:
        """Say goodbye on every idle connection."""
        idle, self._idle = self._idle, []
        for _, client in idle:
            try:
                await asyncio.wait_for(client.quit(), timeout=5)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
