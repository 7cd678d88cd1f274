"""The worker writes an e-mail out to the same bytes as aiosmtplib would, faster."""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, datetime

import pytest
from aiosmtplib.email import flatten_message

from services.dialogue_api.notifications.mail import build_message
from services.dialogue_api.notifications.models import Notification
from services.worker.smtp import flatten

CALENDAR = "BEGIN:VCALENDAR\r\nSUMMARY:Réunion technique\r\nEND:VCALENDAR\r\n"
#: Letters, accents, quotes, the characters of encoded words, and runs of spaces.
ALPHABET = string.ascii_letters + "éàüçôÀ\u2019«»ع ,;:-_=?()\"'<>@" + "   "


def text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


def deliveries(count: int) -> list[Notification]:
    rng = random.Random(19)
    return [
        Notification(
            message_id=uuid.uuid4(),
            recipient=f"participant.{n}@example.org",
            recipient_name=rng.choice([None, text(rng, 30), text(rng, 120)]),
            language=rng.choice([None, "en", "fr", "ar"]),
            subject=rng.choice(["", text(rng, 40), text(rng, 200), "Inscription confirmée"]),
            body=text(rng, 400),
            calendar=rng.choice([None, CALENDAR]),
            calendar_method=rng.choice([None, "REQUEST", "CANCEL"]),
            created_at=datetime.now(UTC),
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("eight_bit", [True, False])
def test_messages_are_written_out_as_aiosmtplib_writes_them(eight_bit: bool) -> None:
    cte_type = "8bit" if eight_bit else "7bit"
    for delivery in deliveries(500):
        message = build_message(delivery, sender="MC2CM <notifications@example.org>")
        assert flatten(message, eight_bit=eight_bit) == flatten_message(message, cte_type=cte_type)
