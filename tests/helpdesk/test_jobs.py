"""Periodic jobs: one table for Celery beat and for the embedded default, each job under a lock in
the cache; without a broker the ASGI server's lifespan runs them, so an overdue ticket is escalated
with no command run (and uvicorn no longer says the lifespan is unsupported)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from helpdesk import jobs
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
def test_the_lock_is_released_when_a_job_fails(monkeypatch):
    def boom():
        raise RuntimeError("the job failed")

    monkeypatch.setattr(jobs, "_task", lambda name: boom)
    with pytest.raises(RuntimeError):
        jobs.run_exclusive("helpdesk.outbox_retry")
    assert cache.get("jobs:lock:helpdesk.outbox_retry") is None


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
