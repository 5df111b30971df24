"""Periodic jobs: one table for Celery beat and for the embedded default, each job under a lock in
the cache, each run recorded; without a broker the serving processes elect one of them to run the
jobs (a file lock, taken over when its holder stops), so an overdue ticket is escalated with no
command run; a failing job logs one line per failure streak. Every server: tests/helpdesk/test_starting.py."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from helpdesk import jobs
from helpdesk.models import JobRun
from tests.factories import SlaPolicyFactory
from tickets import services
from tickets.models import Ticket


def test_every_periodic_job_is_in_the_one_table_under_the_lock(settings):
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {"helpdesk.run_job"}
    assert {name for name, _ in jobs.periodic_jobs()} == {
        "tickets.escalate_due",
        "helpdesk.outbox_retry",
        "helpdesk.outbox_sweep",
        "accounts.purge_revoked_tokens",
        "notifications.send_emails",
    }


@pytest.mark.django_db
def test_a_job_never_runs_twice_at_once(monkeypatch):
    ran = []
    monkeypatch.setattr(jobs, "_task", lambda name: lambda: ran.append(name))
    cache.add("jobs:lock:tickets.escalate_due", "another-worker", timeout=60)
    assert jobs.run_exclusive("tickets.escalate_due") is False and ran == []
    cache.delete("jobs:lock:tickets.escalate_due")
    assert jobs.run_exclusive("tickets.escalate_due") is True and ran == ["tickets.escalate_due"]
    assert cache.get("jobs:lock:tickets.escalate_due") is None  # released after the run


@pytest.mark.django_db
def test_the_lock_is_released_and_the_failure_recorded_when_a_job_fails(monkeypatch):
    def boom():
        raise RuntimeError("the job failed")

    monkeypatch.setattr(jobs, "_task", lambda name: boom)
    assert jobs.run_exclusive("helpdesk.outbox_retry") is True  # it ran; the next run is the retry
    assert cache.get("jobs:lock:helpdesk.outbox_retry") is None
    run = JobRun.objects.get(name="helpdesk.outbox_retry")
    assert (run.runs, run.failures, run.last_error) == (1, 1, "RuntimeError: the job failed")
    assert run.last_success_at is None and run.last_finished_at >= run.last_started_at


@pytest.mark.django_db
def test_the_jobs_are_real_tasks():
    for name, _ in jobs.periodic_jobs():
        assert jobs._task(name).name == name


class Lifespan:
    """The server's side of the ASGI lifespan protocol, as uvicorn speaks it."""

    def __init__(self):
        from helpdesk.asgi import application

        self.application = application
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        return await self.inbox.get()

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self.task = asyncio.create_task(self.application(scope, self.receive, self.send))
        await self.inbox.put({"type": "lifespan.startup"})
        await self._wait_for("lifespan.startup.complete")

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self._wait_for("lifespan.shutdown.complete")
        await asyncio.wait_for(self.task, 10)

    async def _wait_for(self, kind: str) -> None:
        for _ in range(300):
            if any(message["type"] == kind for message in self.sent):
                return
            assert not any(message["type"].endswith(".failed") for message in self.sent), self.sent
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind}: {self.sent}")


@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_escalates_an_overdue_ticket_without_any_command(people, department, settings):
    settings.JOBS_IN_PROCESS = True
    SlaPolicyFactory(priority="medium")  # the migration's row, unless an earlier test's flush took it
    ticket = services.ticket_create(requester=people["employee"], title="VPN", description="d", department=department)
    overdue = timezone.now() - timedelta(hours=1)
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due_at=overdue, resolution_due_at=overdue)

    def escalated() -> bool:
        try:
            return Ticket.objects.get(pk=ticket.pk).escalated
        finally:
            connection.close()

    async def serve() -> float:
        server = Lifespan()
        started = time.monotonic()
        await server.start()
        try:
            while not await sync_to_async(escalated, thread_sensitive=False)():
                assert time.monotonic() - started < 30, "the overdue ticket was not escalated"
                await asyncio.sleep(0.1)
            return time.monotonic() - started
        finally:
            await server.stop()

    asyncio.run(serve())
    ticket.refresh_from_db()
    assert ticket.escalation_reason.startswith("SLA breached") and jobs._scheduler is None  # stopped with the server


@pytest.mark.django_db
def test_with_a_broker_the_server_leaves_the_jobs_to_celery_beat(settings):
    settings.JOBS_IN_PROCESS = False

    async def serve() -> None:
        server = Lifespan()
        await server.start()
        assert jobs._scheduler is None
        await server.stop()

    asyncio.run(serve())


@pytest.mark.django_db
def test_a_failing_job_logs_one_line_when_it_starts_failing_and_one_when_it_recovers(monkeypatch, caplog):
    monkeypatch.setattr(jobs, "_streaks", {})
    refused = [OSError("the mail relay refused"), OSError("still refused"), OSError("again")]
    outcomes = iter([*refused, None, KeyError("x")])

    def flaky():
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(jobs, "_task", lambda name: flaky)
    caplog.set_level(logging.DEBUG, logger="helpdesk.jobs")
    for _ in range(5):
        assert jobs.run_exclusive("notifications.send_emails") is True
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert lines == [
        (
            "ERROR",
            "Periodic job notifications.send_emails failed: OSError: the mail relay refused "
            "(logged again only once it has recovered)",
        ),
        ("INFO", "Periodic job notifications.send_emails recovered after 3 failures"),
        (
            "ERROR",
            "Periodic job notifications.send_emails failed: KeyError: 'x' (logged again only once it has recovered)",
        ),
    ]
    assert not any(record.exc_info for record in caplog.records)  # no traceback
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG] == [
        "Periodic job notifications.send_emails failed again (2 in a row): OSError: still refused",
        "Periodic job notifications.send_emails failed again (3 in a row): OSError: again",
    ]
    run = JobRun.objects.get(name="notifications.send_emails")
    assert (run.runs, run.failures, run.last_error) == (5, 1, "KeyError: 'x'")


def test_one_process_is_elected_and_another_takes_over_when_it_stops(tmp_path, monkeypatch):
    """Two schedulers on one lock file (as two processes of one machine: flock locks belong to each
    open file, so two in one process exclude each other as well)."""
    monkeypatch.setattr(jobs, "ELECTION_SECONDS", 0.05)
    monkeypatch.setattr(jobs, "_next_due", lambda table: {name: time.monotonic() for name, _ in table})
    ran: list[str] = []
    lock = threading.Lock()

    def scheduler(who: str) -> jobs.EmbeddedScheduler:
        def run(name: str) -> None:
            with lock:
                ran.append(who)

        return jobs.EmbeddedScheduler([("job", 0.05)], run=run, election=jobs.Election(tmp_path / "jobs.lock"))

    first, second = scheduler("first"), scheduler("second")
    first.start()
    _wait(lambda: "first" in ran)
    second.start()
    time.sleep(0.5)
    assert "second" not in ran
    first.stop()
    _wait(lambda: "second" in ran)  # took over: the lock went with the first one's file
    second.stop()
    assert (tmp_path / "jobs.lock").read_text().split(":")[0]  # who leads, for a person looking


def _wait(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.django_db
def test_a_new_scheduler_runs_a_job_an_interval_after_its_last_recorded_start():
    """A restart, or a takeover, does not run again what another process has just run."""
    JobRun.objects.create(name="tickets.escalate_due", last_started_at=timezone.now() - timedelta(seconds=100))
    due = jobs._next_due([("tickets.escalate_due", 300.0), ("helpdesk.outbox_sweep", 300.0)])
    now = time.monotonic()
    assert 195 < due["tickets.escalate_due"] - now <= 200
    assert due["helpdesk.outbox_sweep"] <= now  # never ran: due now
