"""E-mails over SMTP with aiosmtplib: the message built from its delivery row, and sent.

The message is the same bytes on every attempt: its ``Message-ID`` comes from the delivery
and its ``Date`` is when the delivery was claimed, so a receiver that got an earlier attempt
(sent, but the worker died before recording it) can tell the copy.

Messages go over the worker's open connections (``JobContext.smtp``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from email.charset import QP, Charset
from email.errors import MessageError
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Protocol

import aiosmtplib

from services.dialogue_api.notifications.schemas import email_message_id
from shared.jobs import MailTransport


class PermanentFailure(Exception):
    """A failure no retry can mend (the server refused the recipient for good)."""


#: UTF-8 bodies in quoted-printable: readable where mostly ASCII, safe through any relay.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def _text(content: str, subtype: str) -> MIMEText:
    return MIMEText(content, subtype, _UTF8)  # type: ignore[arg-type]


def _header(name: str, value: str) -> str:
    """``value`` as header ``name``: as is in ASCII, RFC 2047-encoded and folded otherwise."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def _boundary(message_id: uuid.UUID) -> str:
    """The boundary between the parts of a delivery's e-mail: the same on every attempt.

    Both parts are quoted-printable, which writes ``=`` as ``=3D``: text starting with
    ``=_`` occurs in neither, so no search of the parts for a boundary they lack is needed
    (Python's generator compiled a regular expression for it at every message).
    """
    return f"=_mc2cm_{message_id.hex}"


class MailDelivery(Protocol):
    """What an e-mail is built from: a delivery's row (``Notification``, or the ``Attempt``
    that sends it)."""

    @property
    def message_id(self) -> uuid.UUID: ...
    @property
    def recipient(self) -> str: ...
    @property
    def recipient_name(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def body(self) -> str: ...
    @property
    def calendar(self) -> str | None: ...
    @property
    def calendar_method(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


def build_message(notification: MailDelivery, *, sender: str) -> Message:
    """The e-mail of a delivery, with its calendar attached when it has one.

    Built with the ``compat32`` classes of ``email.mime``, which take headers as given: the
    default policy parses every header it is given and again when writing, which cost more
    than sending the message.
    """
    body = _text(notification.body, "plain")
    message: Message = body
    if notification.calendar is not None:
        method = notification.calendar_method or "PUBLISH"
        calendar = _text(notification.calendar, "calendar")
        calendar.set_param("method", method)
        filename = "invite.ics" if method == "REQUEST" else "event.ics"
        calendar.add_header("Content-Disposition", "attachment", filename=filename)
        message = MIMEMultipart(
            "mixed", boundary=_boundary(notification.message_id), _subparts=[body, calendar]
        )
    message["From"] = sender
    name = notification.recipient_name
    recipient = notification.recipient
    message["To"] = formataddr((name, recipient), "utf-8") if name else recipient
    message["Subject"] = _header("Subject", notification.subject or "")
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = email_message_id(notification.message_id)
    # RFC 3834: automatic replies (vacation notices) should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    if notification.language:
        message["Content-Language"] = notification.language
    return message


def smtp_error(exc: aiosmtplib.SMTPException) -> str:
    """The error as the SMTP server said it: its reply's code and text, and the recipient
    it refused (``SMTPRecipientsRefused: 550 5.1.1 No such user (to ana@example.org)``)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = [f"{r.code} {r.message} (to {r.recipient})" for r in exc.recipients]
        reply = "; ".join(replies)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = f"{exc.code} {exc.message}"
    else:
        reply = exc.message
    return f"{type(exc).__name__}: {reply}"


async def send_message(message: Message, connections: MailTransport) -> None:
    """Send over the configured SMTP server; ``PermanentFailure`` when the server refuses
    the recipient or message for good (5xx) or the message cannot be written out at all
    (a header with a line break in it), any other ``aiosmtplib`` or network error for what
    a retry may mend."""
    try:
        await connections.send(message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        if all(refusal.code >= 500 for refusal in exc.recipients):
            raise PermanentFailure(smtp_error(exc)) from exc
        raise
    except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
        # The message or its recipient refused for good; a refused login or sender is the
        # deployment's to fix, and is retried.
        if exc.code >= 500:
            raise PermanentFailure(smtp_error(exc)) from exc
        raise
    except MessageError as exc:
        # Raised while the message is written out, before anything is sent: its stored
        # headers will fail the same way at every attempt.
        raise PermanentFailure(f"{type(exc).__name__}: {exc}") from exc
