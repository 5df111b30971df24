"""The dispatcher: every consumer gets every event it registered for, at least once, after the
commit; failures are retried with backoff for the failed consumer only; a dispatcher killed in the
middle of a batch loses nothing and, restarted, repeats nothing; with a broker it is a Celery task."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from helpdesk import dispatch, events, tasks
from helpdesk.models import OutboxDelivery, OutboxEvent
from tests.helpers import delivered
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """The process dies here (BaseException: nothing in the dispatcher may catch it)."""


@pytest.fixture(autouse=True)
def audit_only(monkeypatch):
    """The audit log is the only product consumer here (the AI's are tested with the AI)."""
    monkeypatch.setattr(dispatch, "_consumers", {"audit": dispatch._consumers["audit"]})


@pytest.fixture
def mailbox():
    """A consumer like email or in-app notifications: a side effect outside the database, made
    idempotent by the dispatcher's delivery records. Every call is kept, to count repeats."""
    calls: list[str] = []

    def send(event: events.Event) -> None:
        calls.append(event.id)

    dispatch.register("test.mailbox", send, events=[events.TicketEvent])
    yield calls
    dispatch.unregister("test.mailbox")


def _tickets(people, department, n: int) -> list[str]:
    """n new tickets; their events stored and not delivered yet (the test's transaction never
    commits). Returns the event ids, oldest first."""
    for number in range(n):
        services.ticket_create(requester=people["employee"], title=f"T{number}", description="d", department=department)
    return list(OutboxEvent.objects.order_by("created_at", "id").values_list("pk", flat=True))


def test_after_the_commit_every_consumer_gets_the_event_once(people, department, mailbox):
    with delivered():
        ticket = services.ticket_create(requester=people["employee"], title="T", description="d", department=department)
    [row] = OutboxEvent.objects.all()
    assert row.delivered_at is not None and row.attempts == 0
    assert mailbox == [row.pk] and AuditEntry.objects.get(pk=row.pk).object_id == ticket.pk
    assert {"audit", "test.mailbox"} <= set(OutboxDelivery.objects.values_list("consumer", flat=True))
    assert dispatch.deliver([row.pk]).skipped == 1 and mailbox == [row.pk]  # delivered: never again


def test_a_failing_consumer_is_retried_with_backoff_and_alone(people, department, mailbox, caplog, time_machine):
    failures = {"left": 2}

    def flaky(event: events.Event) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("smtp: connection refused")

    dispatch.register("test.flaky", flaky, events=[events.TicketEvent])
    try:
        [event_id] = _tickets(people, department, 1)
        with caplog.at_level(logging.WARNING, logger="helpdesk.dispatch"):
            assert dispatch.deliver([event_id]).failed == 1
        row = OutboxEvent.objects.get(pk=event_id)
        assert row.delivered_at is None and row.attempts == 1 and "smtp" in row.last_error
        assert "test.flaky failed" in caplog.text
        first_wait = row.next_attempt_at - timezone.now()
        assert timedelta(seconds=7) < first_wait < timedelta(seconds=13)  # 10 s, with jitter
        assert dispatch.deliver_due().delivered == 0  # not due yet

        time_machine.move_to(row.next_attempt_at + timedelta(seconds=1))
        assert dispatch.deliver_due().failed == 1
        row.refresh_from_db()
        assert row.attempts == 2 and row.next_attempt_at - timezone.now() > first_wait  # it doubles

        time_machine.move_to(row.next_attempt_at + timedelta(seconds=1))
        assert dispatch.deliver_due().delivered == 1
        row.refresh_from_db()
        assert row.delivered_at is not None and row.last_error == ""
        assert mailbox == [event_id]  # the others got it once, on the first try
        assert AuditEntry.objects.filter(pk=event_id).count() == 1
    finally:
        dispatch.unregister("test.flaky")


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_repeats_nothing(
    people, department, mailbox, monkeypatch, time_machine
):
    event_ids = _tickets(people, department, 6)
    recorded = dispatch._record
    deliveries = {"count": 0}

    def record_then_die(event_id: str, name: str) -> bool:
        done = recorded(event_id, name)
        deliveries["count"] += 1
        if deliveries["count"] == 5:  # two consumers an event: after the third event's audit entry
            raise Crash
        return done

    monkeypatch.setattr(dispatch, "_record", record_then_die)
    with pytest.raises(Crash):
        dispatch.deliver(event_ids)
    finished = OutboxEvent.objects.filter(delivered_at__isnull=False).count()
    assert 0 < finished < len(event_ids) and len(mailbox) == finished  # some delivered, then the process died
    monkeypatch.setattr(dispatch, "_record", recorded)

    # A restart: the retry job finds the unfinished events once their time comes (and the dead
    # dispatcher's hold on the one it was delivering has run out).
    time_machine.move_to(timezone.now() + timedelta(seconds=600))
    report = dispatch.deliver_due()
    assert report.delivered == len(event_ids) - finished and report.skipped == report.failed == 0

    assert Counter(mailbox) == Counter(event_ids)  # each notification sent exactly once
    assert AuditEntry.objects.filter(pk__in=event_ids).count() == len(event_ids)
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 0


def test_a_crash_inside_an_atomic_consumer_undoes_its_work(people, department, mailbox, monkeypatch, time_machine):
    """Audit is atomic: its entry and the record of its delivery commit together, so dying between
    the two leaves neither, and the restart writes the entry once."""
    [event_id] = _tickets(people, department, 1)
    recorded = dispatch._record

    def die_before_noting_audit(event_id: str, name: str) -> bool:
        if name == "audit":
            raise Crash
        return recorded(event_id, name)

    monkeypatch.setattr(dispatch, "_record", die_before_noting_audit)
    with pytest.raises(Crash):
        dispatch.deliver([event_id])
    assert not AuditEntry.objects.filter(pk=event_id).exists()  # rolled back with the missing record
    monkeypatch.setattr(dispatch, "_record", recorded)
    time_machine.move_to(timezone.now() + timedelta(seconds=600))
    assert dispatch.deliver_due().delivered == 1
    assert AuditEntry.objects.filter(pk=event_id).count() == 1 and mailbox == [event_id]


def test_an_event_held_by_another_dispatcher_is_left_to_it(people, department, mailbox, time_machine):
    [event_id] = _tickets(people, department, 1)
    OutboxEvent.objects.filter(pk=event_id).update(
        claimed_until=timezone.now() + timedelta(seconds=60), claimed_by="x" * 24
    )
    assert dispatch.deliver([event_id]).skipped == 1 and mailbox == []
    time_machine.move_to(timezone.now() + timedelta(seconds=120))
    assert dispatch.deliver_due().delivered == 1  # its hold ran out
    assert mailbox == [event_id]


def test_with_a_broker_delivery_is_a_celery_task_after_the_commit(people, department, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(tasks.deliver_events, "delay", lambda ids: queued.append(ids))
    with delivered():
        services.ticket_create(requester=people["employee"], title="T", description="d", department=department)
        assert queued == []  # not before the commit
    [row] = OutboxEvent.objects.all()
    assert queued == [[row.pk]] and row.delivered_at is None  # the worker delivers it


def test_with_the_broker_down_the_retry_job_delivers_later(
    people, department, settings, monkeypatch, caplog, time_machine
):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def broker_down(ids):
        raise ConnectionError("redis: connection refused")

    monkeypatch.setattr(tasks.deliver_events, "delay", broker_down)
    with caplog.at_level(logging.WARNING, logger="helpdesk.dispatch"), delivered():
        ticket = services.ticket_create(requester=people["employee"], title="T", description="d", department=department)
    assert "retry job will deliver" in caplog.text
    assert Ticket.objects.filter(pk=ticket.pk).exists()  # the write stands
    settings.CELERY_TASK_ALWAYS_EAGER = True
    time_machine.move_to(timezone.now() + timedelta(seconds=60))
    assert dispatch.deliver_due().delivered == 1
    assert AuditEntry.objects.filter(object_id=ticket.pk).count() == 1


def test_consumers_hear_only_the_classes_they_registered_for(people, department):
    heard: list[str] = []
    dispatch.register("test.articles", lambda event: heard.append(event.name), events=[events.ArticleEvent])
    try:
        with delivered():
            services.ticket_create(requester=people["employee"], title="T", description="d", department=department)
    finally:
        dispatch.unregister("test.articles")
    assert heard == []


def test_a_name_is_one_consumer():
    dispatch.register("test.once", print, events=[events.Event])
    try:
        dispatch.register("test.once", print, events=[events.Event])  # the same again: fine
        with pytest.raises(ValueError):
            dispatch.register("test.once", repr, events=[events.Event])
    finally:
        dispatch.unregister("test.once")
