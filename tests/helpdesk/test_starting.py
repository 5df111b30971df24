"""Every way of starting the service runs the periodic jobs without a broker, once per machine, and
/readyz says when each last ran (helpdesk.jobs, decision 0028): uvicorn (ASGI lifespan), daphne and
`manage.py runserver` (no lifespan: the first connection starts them), gunicorn with two workers (each
worker after the fork; one is elected). Before `migrate`, /readyz is 503 naming the migrations and
each failing job logs one line, not a traceback every interval; after it, they recover and say so."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.helpdesk.servers import ROOT, live_server, server_env

pytestmark = pytest.mark.e2e

# The shortest intervals the settings allow, so a few seconds show several runs.
FAST_JOBS = {"OUTBOX_RETRY_SECONDS": "1", "EMAIL_SEND_SECONDS": "1", "LOG_LEVEL": "INFO"}
EVERY_SECOND = ("helpdesk.outbox_retry", "notifications.send_emails")


def readyz(server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=30)


def wait_for(predicate, *, seconds: float, what: str, server):
    deadline = time.monotonic() + seconds
    while True:
        response = readyz(server)
        if predicate(response):
            return response
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: /readyz said {response.status_code} {response.text[:1500]}\n{server.log()[-2000:]}")
        time.sleep(0.5)


def runs(response: httpx.Response, job: str) -> int:
    return response.json()["jobs"][job]["runs"]


@pytest.mark.parametrize("kind", ["uvicorn", "daphne", "runserver", "gunicorn"])
def test_every_server_runs_the_jobs_once_and_readyz_reports_them(tmp_path, kind):
    with live_server(tmp_path, env=FAST_JOBS, migrate=True, server=kind) as server:
        first = wait_for(
            lambda r: r.status_code == 200 and all(runs(r, job) >= 2 for job in EVERY_SECOND),
            seconds=30,
            what=f"the jobs did not run under {kind}",
            server=server,
        )
        started = time.monotonic()
        time.sleep(4)
        last = readyz(server)
        elapsed = time.monotonic() - started
        log = server.log()
    body = last.json()
    assert last.status_code == 200 and body["status"] == "ok", body
    assert body["checks"]["jobs"] == "ok" and body["checks"]["migrations"] == "ok"
    for job, state in body["jobs"].items():  # every job ran at start, and succeeded
        assert state["runs"] >= 1 and state["failures"] == 0 and not state["stale"], (job, state)
        assert state["last_started"] <= state["last_finished"] == state["last_success"], (job, state)
    for job in EVERY_SECOND:
        # At most one run a second (plus the one that may straddle each end): two schedulers would double it.
        assert runs(last, job) - runs(first, job) <= elapsed + 2, (job, runs(first, job), runs(last, job), elapsed)
        assert runs(last, job) - runs(first, job) >= 2, (job, runs(first, job), runs(last, job), elapsed)
    assert log.count("runs the periodic jobs") == 1, log[-3000:]  # one scheduler elected, with two gunicorn workers too
    assert "Traceback" not in log, log[-3000:]


def test_before_migrate_readyz_is_503_naming_the_migrations_and_the_jobs_log_once_then_recover(tmp_path):
    with live_server(tmp_path, env=FAST_JOBS) as server:
        pending = readyz(server)
        assert pending.status_code == 503, pending.text
        assert pending.json()["failed"] == ["migrations"]
        assert "helpdesk.0002_job_runs" in pending.json()["checks"]["migrations"]
        assert "tickets.0001_initial" in pending.json()["checks"]["migrations"]
        time.sleep(4)  # four runs of each one-second job, all failing: no table
        before = server.log()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=server_env(tmp_path / "var", **FAST_JOBS),
            check=True,
            timeout=300,
            capture_output=True,
        )
        wait_for(
            lambda r: r.status_code == 200 and all(runs(r, job) >= 1 for job in EVERY_SECOND),
            seconds=30,
            what="readyz did not become ready after migrate",
            server=server,
        )
        time.sleep(1.5)
        log = server.log()
    for job in EVERY_SECOND:
        assert before.count(f"Periodic job {job} failed") == 1, before[-3000:]
        assert log.count(f"Periodic job {job} failed") == 1, log[-3000:]
        assert log.count(f"Periodic job {job} recovered after") == 1, log[-3000:]
    assert "OperationalError: no such table" in before
    assert "Traceback" not in log, log[-3000:]
