"""The development mail sink: an SMTP server that keeps every message it receives.

``mc2cm dev`` runs it on 127.0.0.1 (port 8025 by default) and points the worker at it, so the
mails the platform sends (invitations, confirmations, reminders) land in a Maildir under
``.mc2cm/mail`` instead of anybody's inbox; ``mc2cm mails`` lists and shows them.
"""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def mail_dir(data_dir: Path) -> Path:
    return data_dir / "mail"


class MailSink:
    """An SMTP server on ``host:port`` storing messages in ``directory`` (a Maildir)."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 8025) -> None:
        directory.parent.mkdir(parents=True, exist_ok=True)
        for folder in ("tmp", "new", "cur"):  # a Maildir, also when the folder exists
            (directory / folder).mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.controller = Controller(Mailbox(directory), hostname=host, port=port)

    @property
    def address(self) -> tuple[str, int]:
        return self.controller.hostname, self.controller.port

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@dataclass(frozen=True)
class Mail:
    """One message of the sink, as ``mc2cm mails`` lists it."""

    key: str
    received: datetime | None
    recipients: str
    subject: str
    attachments: list[str]
    message: Message


def read_mails(directory: Path) -> list[Mail]:
    """Every message of the Maildir, oldest first."""
    if not directory.is_dir():
        return []
    box = mailbox.Maildir(directory, create=False)
    mails = []
    for key, message in box.items():
        date = message.get("Date")
        attachments = [
            part.get_filename() or part.get_content_type()
            for part in message.walk()
            if part.get_content_disposition() == "attachment"
        ]
        mails.append(
            Mail(
                key=key,
                received=parsedate_to_datetime(date) if date else None,
                recipients=str(message.get("To", "")),
                subject=str(message.get("Subject", "")),
                attachments=attachments,
                message=message,
            )
        )
    return sorted(
        mails, key=lambda mail: (mail.received.timestamp() if mail.received else 0, mail.key)
    )


def body_text(message: Message) -> str:
    """The plain-text body of ``message`` (the first text/plain part)."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() is None:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""
