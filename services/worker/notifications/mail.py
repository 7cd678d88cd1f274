"""E-mails over SMTP with aiosmtplib: the message built from its delivery row, and sent.

The message is the same bytes on every attempt: its ``Message-ID`` comes from the delivery
and its ``Date`` is when the delivery was claimed, so a receiver that got an earlier attempt
(sent, but the worker died before recording it) can tell the copy.

Messages go over the worker's open connections (``services/worker/smtp.py``).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.schemas import email_message_id
from services.worker.smtp import SmtpConnections


class PermanentFailure(Exception):
    """A failure no retry can mend (the server refused the recipient for good)."""


def build_message(notification: Notification, *, sender: str) -> EmailMessage:
    """The e-mail of a delivery, with its calendar attached when it has one."""
    message = EmailMessage()
    message["From"] = sender
    name = notification.recipient_name
    message["To"] = (
        Address(display_name=name, addr_spec=notification.recipient)
        if name
        else notification.recipient
    )
    message["Subject"] = notification.subject or ""
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = email_message_id(notification.message_id)
    # RFC 3834: automatic replies (vacation notices) should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notification.body)
    if notification.calendar is not None:
        method = notification.calendar_method or "PUBLISH"
        message.add_attachment(
            notification.calendar,
            subtype="calendar",
            filename="invite.ics" if method == "REQUEST" else "event.ics",
            params={"method": method},
        )
    # Last: setting the content drops ``Content-*`` headers.
    if notification.language:
        message["Content-Language"] = notification.language
    return message


async def send_message(message: EmailMessage, connections: SmtpConnections) -> None:
    """Send over the configured SMTP server; ``PermanentFailure`` when the server refuses
    the recipient or message for good (5xx), any other ``aiosmtplib`` or network error for
    what a retry may mend."""
    try:
        await connections.send(message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        if all(refusal.code >= 500 for refusal in exc.recipients):
            raise PermanentFailure(str(exc)) from exc
        raise
    except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
        # The message or its recipient refused for good; a refused login or sender is the
        # deployment's to fix, and is retried.
        if exc.code >= 500:
            raise PermanentFailure(f"{exc.code} {exc.message}") from exc
        raise
