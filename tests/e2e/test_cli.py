"""The ``mc2cm`` commands an operator or a developer types."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from services.cli.main import app
from services.cli.runtime import schemas_behind
from shared.auth import Role, TokenVerifier
from shared.settings import Settings
from tests.conftest import TEST_SECRET, create_database, drop_database
from tests.factories import csv_file
from tests.shared.postgres_server import PostgresServer
from tests.shared.test_migrations import NEWER_REVISION, stamp_newer_release, versions
from tests.worker.receivers import free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def platform_logging_restored() -> Iterator[None]:
    """Commands set up the platform's logging onto the runner's stream: undone after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.fixture
async def empty_database(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_database(server_urls[0], "mc2cm_cli")
    try:
        yield url
    finally:
        await drop_database(url)


def test_token_is_refused_without_a_local_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .mc2cm/dev.env here
    monkeypatch.delenv("MC2CM_JWT_SECRET", raising=False)

    result = runner.invoke(app, ["token", "--role", "admin"])

    assert result.exit_code == 2, result.output
    assert "No local secret" in result.output


def test_editor_token_names_its_cities_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MC2CM_JWT_SECRET", TEST_SECRET)

    result = runner.invoke(app, ["token", "--role", "editor", "--city", "PTLIS", "--city", "ESMAD"])

    assert result.exit_code == 0, result.output
    principal = TokenVerifier(Settings(jwt_secret=TEST_SECRET)).verify(result.output.strip())
    assert principal.role is Role.editor
    assert principal.cities == {"PTLIS", "ESMAD"}, principal


def test_each_role_gets_a_subject_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two development tokens with other rights must be two callers (Idempotency-Key scope,
    # rate limits, audit entries), not one subject with several roles.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MC2CM_JWT_SECRET", TEST_SECRET)
    verifier = TokenVerifier(Settings(jwt_secret=TEST_SECRET))

    subjects = {}
    for arguments in (
        ["--role", "admin"],
        ["--role", "viewer"],
        ["--role", "editor", "--city", "PTLIS"],
        ["--role", "editor", "--city", "PTLIS", "--city", "ESMAD"],
    ):
        result = runner.invoke(app, ["token", *arguments])
        assert result.exit_code == 0, result.output
        subjects[" ".join(arguments)] = verifier.verify(result.output.strip()).subject

    assert subjects == {
        "--role admin": "admin@mc2cm.local",
        "--role viewer": "viewer@mc2cm.local",
        "--role editor --city PTLIS": "editor-PTLIS@mc2cm.local",
        "--role editor --city PTLIS --city ESMAD": "editor-ESMAD-PTLIS@mc2cm.local",
    }


def test_editor_token_without_a_city_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MC2CM_JWT_SECRET", TEST_SECRET)

    result = runner.invoke(app, ["token", "--role", "editor"])

    assert result.exit_code == 2, result.output


def test_migrate_seed_and_import_on_a_new_database(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MC2CM_DATABASE_URL", empty_database)

    migrated = runner.invoke(app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    seeded = runner.invoke(app, ["seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "9 cities and" in seeded.output, seeded.output
    assert "9 cities synced to the dialogue" in seeded.output, seeded.output
    said = " ".join(seeded.output.split())  # the console wraps long lines
    assert re.search(r"[1-9]\d* demo sections published, [1-9]\d* demo challenges", said), said
    assert "3 assessment frameworks and 3 demo assessments published" in said, said
    again = runner.invoke(app, ["seed"])
    assert "0 cities and" in again.output and "0 inserted" in again.output, again.output
    said_again = " ".join(again.output.split())
    assert "0 demo sections published, 0 demo challenges added" in said_again, said_again
    assert "0 cities synced" in said_again and "0 events" in said_again, said_again
    assert "0 assessment frameworks and 0 demo assessments published" in said_again, said_again

    good = tmp_path / "good.csv"
    good.write_bytes(
        csv_file(
            "ATVIE,foreign_nationals,2024,municipality,,600000,,,A,Wien in Zahlen,Stadt Wien,,"
            "register,"
        )
    )
    imported = runner.invoke(app, ["import", str(good), "--reason", "first figures"])
    assert imported.exit_code == 0, imported.output
    assert '"inserted": 1' in imported.output, imported.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        csv_file(
            "ATVIE,foreign_born,2024,municipality,,700000,,,A,Wien in Zahlen,Stadt Wien,,register,",
            "ATVIE,foreign_born,2024,municipality,,many,,,A,Wien in Zahlen,Stadt Wien,,register,",
        )
    )
    rejected = runner.invoke(app, ["import", str(bad)])
    assert rejected.exit_code == 1, rejected.output
    assert "row 3, value" in rejected.output, rejected.output


def test_commands_that_need_a_database_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MC2CM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 2, result.output
    assert "No database configured" in result.output


def test_mails_lists_and_shows_what_the_dev_sink_received(tmp_path: Path) -> None:
    import smtplib
    import socket
    from email.message import EmailMessage

    from services.cli.mailsink import MailSink, mail_dir

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    sink = MailSink(mail_dir(tmp_path), port=port)
    sink.start()
    try:
        for n, subject in enumerate(["Invitation: Technical meeting", "Registration confirmed"]):
            message = EmailMessage()
            message["From"] = "no-reply@mc2cm.local"
            message["To"] = "amina@example.org"
            message["Subject"] = subject
            message["Date"] = f"Tue, 01 Dec 2026 10:0{n}:00 +0000"
            message.set_content(f"Dear Amina, message {n}.")
            if n == 0:
                message.add_attachment(
                    b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                    maintype="text",
                    subtype="calendar",
                    filename="event.ics",
                )
            with smtplib.SMTP("127.0.0.1", port) as client:
                client.send_message(message)
    finally:
        sink.stop()

    listed = runner.invoke(app, ["mails", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "2 messages" in listed.output
    assert "Invitation: Technical meeting" in listed.output
    assert "event.ics" in listed.output
    assert listed.output.index("Invitation") < listed.output.index("Registration confirmed")

    shown = runner.invoke(app, ["mails", "--data-dir", str(tmp_path), "--show", "2"])
    assert shown.exit_code == 0, shown.output
    assert "Subject: Registration confirmed" in shown.output
    assert "Dear Amina, message 1." in shown.output

    missing = runner.invoke(app, ["mails", "--data-dir", str(tmp_path), "--show", "3"])
    assert missing.exit_code == 2
    assert "There is no message 3" in missing.output


def test_migrate_wait_applies_nothing_and_says_when_the_schemas_are_up_to_date(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a Kubernetes init container runs while the migration Job works."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MC2CM_DATABASE_URL", empty_database)

    behind = runner.invoke(app, ["migrate", "--wait", "1"])
    assert behind.exit_code == 1, behind.output
    assert "Not migrated after 1 s: profiles, dialogue." in behind.output, behind.output

    assert runner.invoke(app, ["migrate"]).exit_code == 0
    current = runner.invoke(app, ["migrate", "--wait", "0"])
    assert current.exit_code == 0, current.output
    assert "Every schema has this release's migrations." in current.output, current.output


def test_migrate_wait_takes_a_database_a_newer_release_migrated_as_ready(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release rolled back, or an old pod rescheduled mid-rollout: its init container must
    not wait forever for a schema that is already past it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MC2CM_DATABASE_URL", empty_database)
    monkeypatch.setenv("MC2CM_LOG_FORMAT", "json")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    asyncio.run(stamp_newer_release(empty_database, "dialogue"))

    waited = runner.invoke(app, ["migrate", "--wait", "0"])
    applied = runner.invoke(app, ["migrate"])

    assert waited.exit_code == 0, waited.output
    assert "Every schema has this release's migrations." in waited.output, waited.output
    warnings = [
        json.loads(line)
        for line in waited.output.splitlines()
        if line.startswith("{") and NEWER_REVISION in line
    ]
    assert [line["level"] for line in warnings] == ["WARNING"], waited.output
    assert "schema dialogue" in warnings[0]["message"], warnings
    assert applied.exit_code == 0, applied.output
    assert NEWER_REVISION in applied.output, applied.output
    assert asyncio.run(versions(empty_database, "dialogue")) == [NEWER_REVISION]


def test_migrate_waits_for_a_server_that_starts_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose's first start: PostgreSQL still runs initdb and refuses TCP connections."""
    server = PostgresServer()
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MC2CM_DATABASE_URL", server.url)
        monkeypatch.setenv("MC2CM_LOG_FORMAT", "text")
        starter = threading.Timer(2, server.start)
        starter.start()
        try:
            migrated = runner.invoke(app, ["migrate", "--connect-timeout", "60"])
        finally:
            starter.join()

        assert migrated.exit_code == 0, migrated.output
        assert "does not accept connections yet" in migrated.output, migrated.output
        assert f"127.0.0.1:{server.port}/postgres" in migrated.output, migrated.output
        assert "Migrations applied." in migrated.output, migrated.output
        assert asyncio.run(schemas_behind(server.url)) == []
    finally:
        server.close()


def test_migrate_gives_up_when_the_server_never_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    port = free_port()  # nothing listens there
    monkeypatch.setenv("MC2CM_DATABASE_URL", f"postgresql://mc2cm:secret@127.0.0.1:{port}/mc2cm")
    started = time.monotonic()

    result = runner.invoke(app, ["migrate", "--connect-timeout", "2"])

    assert result.exit_code == 1, result.output
    assert 2 <= time.monotonic() - started < 10
    message = " ".join(result.output.split())
    assert "Nothing migrated: PostgreSQL at" in message, result.output
    assert f"127.0.0.1:{port}/mc2cm did not accept a connection within 2 s" in message, message
    assert "secret" not in result.output, "the password is not shown"


def test_migrate_does_not_wait_for_a_database_that_does_not_exist(
    server_urls: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server answers: a mistake in the URL is reported at once, not retried."""
    monkeypatch.chdir(tmp_path)
    missing = make_url(server_urls[0]).set(database="mc2cm_no_such_database")
    monkeypatch.setenv("MC2CM_DATABASE_URL", missing.render_as_string(False))
    started = time.monotonic()

    result = runner.invoke(app, ["migrate", "--connect-timeout", "60"])

    assert result.exit_code != 0, result.output
    assert time.monotonic() - started < 10
    assert "mc2cm_no_such_database" in str(result.exception), result.exception


async def test_two_migrations_started_together_both_succeed_one_after_the_other(
    empty_database: str,
) -> None:
    """A Job retried while its first pod still runs, or two releases applied at once."""
    from services.cli.runtime import migrate_all

    await asyncio.gather(migrate_all(empty_database), migrate_all(empty_database))

    assert await schemas_behind(empty_database) == []
