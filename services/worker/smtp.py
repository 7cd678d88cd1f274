"""The worker's SMTP connections, kept open across deliveries.

Opening a connection, its greeting and EHLO (and STARTTLS and login) cost more than sending
one message over it, so each worker keeps its connections and sends message after message on
them. Domains send through ``JobContext.smtp`` (the dialogue's notifications,
``services/dialogue_api/notifications/mail.py``); this module knows SMTP, not deliveries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import Message

import aiosmtplib

from shared.settings import Settings

#: A connection left idle longer is closed rather than reused (servers drop idle clients
#: after a few minutes; RFC 5321 asks them to wait at least five).
IDLE_SECONDS = 60.0


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
                    await client.send_message(message)
                return
            except aiosmtplib.SMTPServerDisconnected:
                pass
        client = await self._open()
        async with self._using(client):
            await client.send_message(message)

    async def close(self) -> None:
        """Say goodbye on every idle connection."""
        idle, self._idle = self._idle, []
        for _, client in idle:
            try:
                await asyncio.wait_for(client.quit(), timeout=5)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
