"""`mc2cm dev` as a new user runs it: embedded servers, demo data, a token, Ctrl-C stops all."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.cli.mailsink import mail_dir, read_mails
from tests.dialogue.factories import new_person
from tests.factories import new_city
from tests.waiting import eventually_sync

STARTUP_TIMEOUT = 120


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: each probe stays bound until all are chosen, so the
    system cannot hand the same port out twice (a mail sink on the profiles API's port
    answered its readiness checks once)."""
    with contextlib.ExitStack() as probes:
        ports = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def _wait_for(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"mc2cm dev exited with {process.returncode}"
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {STARTUP_TIMEOUT} s")


def dev_log(tmp_path: Path) -> Path:
    return tmp_path / "mc2cm-dev.log"


def _start_dev(
    tmp_path: Path, port: int, dialogue_port: int, smtp_port: int, metrics_port: int
) -> subprocess.Popen[str]:
    """`mc2cm dev` in ``tmp_path`` with the embedded servers, as a new user runs it. Its
    log (and its processes') goes to ``dev_log(tmp_path)``: a pipe nobody reads while the
    test runs would fill and block them."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MC2CM_") and key not in {"DATABASE_URL", "REDIS_URL"}
    } | {"PYTHONFAULTHANDLER": "1"}
    # As a terminal's foreground job, Ctrl-C not ignored: a run started in the background
    # (`make test &`, some CI runners) ignores SIGINT, and a child would inherit that.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _popen_dev(tmp_path, env, port, dialogue_port, smtp_port, metrics_port)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _popen_dev(
    tmp_path: Path,
    env: dict[str, str],
    port: int,
    dialogue_port: int,
    smtp_port: int,
    metrics_port: int,
) -> subprocess.Popen[str]:
    with dev_log(tmp_path).open("w") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "dev",
                "--profiles-port",
                str(port),
                "--dialogue-port",
                str(dialogue_port),
                "--smtp-port",
                str(smtp_port),
                "--metrics-port",
                str(metrics_port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def _check_profiles(port: int, process: subprocess.Popen[str], started: float) -> set[str]:
    """Profiles serves the demo cities, within the start-up time, and their figures; the
    cities' codes."""
    cities = _wait_for(f"http://127.0.0.1:{port}/v1/cities", process).json()
    elapsed = time.monotonic() - started
    codes = {city["code"] for city in cities["items"]}
    assert {
        "PTLIS",
        "ESMAD",
        "FRLYS",
        "ITTRN",
        "MATNG",
        "TNTUN",
        "LBBEY",
        "JOAMM",
        "ATVIE",
    } <= (codes), codes
    assert elapsed < STARTUP_TIMEOUT

    compare = httpx.get(
        f"http://127.0.0.1:{port}/v1/compare",
        params={"indicator": "foreign_nationals", "cities": "ESMAD,ITTRN"},
    ).json()
    assert [value["value"] for value in compare["values"]] == [405233, 135753], compare
    return codes


def _check_token(port: int, process: subprocess.Popen[str]) -> str:
    """The admin token printed for the user is the first line on stdout and works; it."""
    assert process.stdout is not None
    token = process.stdout.readline().strip()
    created = httpx.post(
        f"http://127.0.0.1:{port}/v1/sources",
        json={"title": "Tried by a new user", "kind": "other"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    return token


def _check_dialogue(dialogue_port: int, codes: set[str], tmp_path: Path) -> None:
    """The dialogue serves the demo story, with the cities it learnt from profiles."""
    missions = httpx.get(
        f"http://127.0.0.1:{dialogue_port}/v1/events",
        params={"type": "reconnaissance_mission", "limit": 50},
    ).json()
    hosts = {event["host_city"] for event in missions["items"]}
    assert {"MATNG", "TNTUN", "LBBEY", "JOAMM", "ITTRN", "PTLIS"} <= hosts, hosts
    dialogue_cities = httpx.get(f"http://127.0.0.1:{dialogue_port}/v1/cities").json()
    assert {city["code"] for city in dialogue_cities["items"]} == codes
    assert (tmp_path / ".mc2cm" / "pg" / "postmaster.pid").exists()


def _check_worker(ports: tuple[int, int, int], process: subprocess.Popen[str], token: str) -> None:
    """The worker runs: a city created in profiles becomes known to the dialogue; and it
    answers probes and scrapes on the loopback, as `mc2cm worker` does. ``ports``: profiles',
    the dialogue's and the worker's operations port."""
    port, dialogue_port, metrics_port = ports
    athens = httpx.post(
        f"http://127.0.0.1:{port}/v1/cities",
        json=new_city(names={"en": "Athens"}),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert athens.status_code == 201, athens.text
    _wait_for(f"http://127.0.0.1:{dialogue_port}/v1/cities/GRATH", process)
    assert _wait_for(f"http://127.0.0.1:{metrics_port}/readyz", process).json()["checks"] == {
        "postgresql": "ok",
        "redis": "ok",
    }
    scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    assert 'mc2cm_jobs_total{job="handle_event",outcome="complete"}' in scraped, scraped


def _check_invitation_mail(dialogue_port: int, token: str, tmp_path: Path) -> None:
    """Inviting a person to a planned mission sends them a mail, which the sink keeps."""
    person = httpx.post(
        f"http://127.0.0.1:{dialogue_port}/v1/people",
        json=new_person(email="new.user@example.org", languages=["fr"]),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert person.status_code == 201, person.text
    planned = httpx.get(
        f"http://127.0.0.1:{dialogue_port}/v1/events",
        params={"status": "planned", "type": "reconnaissance_mission"},
    ).json()["items"][0]
    invited = httpx.post(
        f"http://127.0.0.1:{dialogue_port}/v1/events/{planned['id']}/registrations",
        json={"person": person.json()["id"], "status": "invited"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert invited.status_code == 201, invited.text
    # The demo editions' announcements reach the sink too: the invitation is the new user's.
    (mail,) = eventually_sync(
        lambda: [
            mail
            for mail in read_mails(mail_dir(tmp_path / ".mc2cm"))
            if "<new.user@example.org>" in mail.recipients
        ],
        timeout=30,
        message="a mail reached the sink",
    )
    assert mail.attachments, "the invitation carries the event's calendar"


def _check_demo_editions(port: int) -> None:
    """Demo editions are published, and the worker renders Tunis's PDF, in Arabic."""
    listed = httpx.get(f"http://127.0.0.1:{port}/v1/cities/TNTUN/editions").json()["items"]
    assert [edition["id"] for edition in listed] == [f"TNTUN-{time.gmtime().tm_year}-1"], listed

    def rendered() -> httpx.Response | None:
        url = f"http://127.0.0.1:{port}/v1/editions/{listed[0]['id']}/report.pdf?lang=ar"
        response = httpx.get(url, timeout=30)
        assert response.status_code in (200, 202), response.text
        return response if response.status_code == 200 else None

    pdf = eventually_sync(rendered, timeout=60, message="the Arabic PDF was rendered")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def _stop_with_ctrl_c(process: subprocess.Popen[str], tmp_path: Path) -> None:
    """Ctrl-C, and `mc2cm dev` stops within a minute (else its threads' stacks are in its log)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        # Where it hangs: faulthandler (on in its environment) writes every thread's
        # stack to its log on SIGABRT.
        process.send_signal(signal.SIGABRT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise AssertionError(
            "mc2cm dev did not stop within 60 s of Ctrl-C:\n" + dev_log(tmp_path).read_text()
        ) from None


@pytest.mark.embedded
def test_dev_serves_both_apis_with_embedded_servers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, dialogue_port, smtp_port, metrics_port = _free_ports(4)
    started = time.monotonic()
    process = _start_dev(tmp_path, port, dialogue_port, smtp_port, metrics_port)
    try:
        codes = _check_profiles(port, process, started)
        token = _check_token(port, process)
        _check_dialogue(dialogue_port, codes, tmp_path)
        _check_worker((port, dialogue_port, metrics_port), process, token)
        _check_invitation_mail(dialogue_port, token, tmp_path)
        _check_demo_editions(port)
    finally:
        _stop_with_ctrl_c(process, tmp_path)
    assert process.returncode == 0, dev_log(tmp_path).read_text()
    assert not (tmp_path / ".mc2cm" / "pg" / "postmaster.pid").exists(), "PostgreSQL still runs"
    for stopped in (port, dialogue_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{stopped}/healthz", timeout=2)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.embedded
def test_dev_killed_takes_its_servers_and_services_along(tmp_path: Path) -> None:
    """A `mc2cm dev` killed without a chance to clean up (SIGKILL, a closed terminal's
    SIGHUP escalated, an out-of-memory kill) leaves no server or port behind."""
    port, dialogue_port, smtp_port, metrics_port = _free_ports(4)
    process = _start_dev(tmp_path, port, dialogue_port, smtp_port, metrics_port)
    try:
        assert process.stdout is not None
        token = process.stdout.readline().strip()  # printed once everything runs
        assert token, dev_log(tmp_path).read_text()
        data = tmp_path / ".mc2cm"
        postmaster = int((data / "pg" / "postmaster.pid").read_text().split()[0])
        registry = json.loads((data / "redis.db.settings").read_text())
        redis = int(Path(registry["pidfile"]).read_text())
        services = [child.pid for child in psutil.Process(process.pid).children()]
        assert len(services) >= 3, services  # both APIs and the worker (and the watchdog)
    finally:
        process.kill()
        process.wait()

    for name, pid in [("PostgreSQL", postmaster), ("Redis", redis)] + [
        (f"child {pid}", pid) for pid in services
    ]:
        eventually_sync(lambda pid=pid: _gone(pid), timeout=60, message=f"{name} stopped")
    assert not (data / "pg" / "postmaster.pid").exists(), "PostgreSQL did not shut down"
    # The dead process no longer holds the cluster: the next `mc2cm dev` stops it on exit.
    assert json.loads((data / "pg" / ".handle_pids.json").read_text()) == []
    for stopped in (port, dialogue_port, metrics_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{stopped}/healthz", timeout=2)

    # `make dev` again in the same checkout starts servers of its own: the addresses the
    # killed run left in .mc2cm/dev.env are of servers that stopped with it.
    again = _start_dev(tmp_path, port, dialogue_port, smtp_port, metrics_port)
    try:
        assert again.stdout is not None
        token = again.stdout.readline().strip()  # printed once everything runs
        assert token, dev_log(tmp_path).read_text()
        cities = httpx.get(f"http://127.0.0.1:{port}/v1/cities", timeout=10)
        assert cities.status_code == 200, cities.text
    finally:
        again.send_signal(signal.SIGINT)
        try:
            again.wait(timeout=60)
        except subprocess.TimeoutExpired:
            again.kill()
            again.wait()
    assert again.returncode == 0, dev_log(tmp_path).read_text()
