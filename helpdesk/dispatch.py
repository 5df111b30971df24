"""The dispatcher: delivers each stored event to every consumer registered for it, at least once.

A consumer is a function of one event, registered for event classes (a base such as TicketEvent
covers every ticket event) under a stable name, usually in its app's AppConfig.ready():

    @dispatch.consumer("audit", events=[events.Event], atomic=True)
    def record(event: events.Event) -> None: ...

- Delivery: right after the commit that stored the event (in-process without a broker; the Celery
  task `helpdesk.deliver_events` with one), and again by the retry job for whatever failed or was
  lost (a crash, a broker that was down), with exponential backoff.
- Once per consumer: a delivery is recorded per (event, consumer) and skipped ever after. A
  consumer registered `atomic=True` (its effects are database writes, like the audit log) does its
  work and that record in one transaction, so on SQL a crash repeats nothing; any other consumer
  (index, routing, websocket, email) must be idempotent by `event.id`, since a crash between its
  work and the record makes it hear the event again.
- One dispatcher per event at a time: a dispatcher claims an event for a lease (a conditional
  update), so two workers never deliver it together; a dead one's claim runs out.
- Consumers of one event run in registration order, those registered `first=True` before the rest
  (the live feed: people watch it; an index can wait for a model to load); one failing never stops
  the others, and the event is retried for the failed ones only.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk import metrics
from helpdesk.db import new_object_id
from helpdesk.events import Event
from helpdesk.log import current_client_ip, current_request_id
from helpdesk.models import OutboxDelivery, OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
RETRY_BATCH = 200


@dataclass(frozen=True)
class Consumer:
    name: str  # stable: deliveries are recorded under it
    handler: Handler
    events: tuple[type[Event], ...]
    atomic: bool = False
    first: bool = False  # runs before the consumers registered without it

    def wants(self, event: Event) -> bool:
        return isinstance(event, self.events)


_consumers: dict[str, Consumer] = {}


def register(
    name: str, handler: Handler, *, events: Iterable[type[Event]], atomic: bool = False, first: bool = False
) -> None:
    """Deliver the events of these classes (and their subclasses) to `handler`, once each; `first`:
    before the consumers registered without it."""
    existing = _consumers.get(name)
    if existing is not None and existing.handler is not handler:
        raise ValueError(f"Another consumer is already registered as {name!r}.")
    _consumers[name] = Consumer(name=name, handler=handler, events=tuple(events), atomic=atomic, first=first)


def consumer(name: str, *, events: Iterable[type[Event]], atomic: bool = False) -> Callable[[Handler], Handler]:
    """Decorator form of `register`."""

    def decorate(handler: Handler) -> Handler:
        register(name, handler, events=events, atomic=atomic)
        return handler

    return decorate


def unregister(name: str) -> None:
    _consumers.pop(name, None)


def consumers_of(event: Event) -> list[Consumer]:
    wanted = [each for each in _consumers.values() if each.wants(event)]
    return [each for each in wanted if each.first] + [each for each in wanted if not each.first]


# --- Scheduling ----------------------------------------------------------------------------------


def deliver_after_commit(event_ids: Sequence[str]) -> None:
    """Deliver these events once the current transaction commits (at once outside one)."""
    ids = list(event_ids)

    def go() -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker: here, now
            deliver(ids)
            return
        from helpdesk import tasks

        try:
            tasks.deliver_events.delay(ids)
        except Exception as error:  # the broker is down: the retry job delivers them when it is back
            logger.warning(
                "Could not queue delivery of events %s (%s: %s); the retry job will deliver them",
                ids,
                error.__class__.__name__,
                error,
            )

    transaction.on_commit(go, robust=True)


def backoff(attempts: int) -> timedelta:
    """Wait before try number `attempts` + 1: doubling from the base, capped, with jitter."""
    base = settings.OUTBOX_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    seconds = min(base, settings.OUTBOX_BACKOFF_MAX_SECONDS) * random.uniform(0.8, 1.2)  # noqa: S311 (retry jitter, no secret)  # nosec B311
    return timedelta(seconds=seconds)


# --- Delivering ----------------------------------------------------------------------------------


@dataclass
class Report:
    delivered: int = 0  # events every consumer now has
    failed: int = 0  # events some consumer failed on (retried later)
    skipped: int = 0  # delivered already, or another dispatcher holds them

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.failed} failed, {self.skipped} skipped"


def deliver(event_ids: Sequence[str]) -> Report:
    """Deliver these events to their consumers (those still missing them), in order."""
    report = Report()
    # Events published by consumers are the system's, not the request's that caused the delivery.
    request_token, ip_token = current_request_id.set("-"), current_client_ip.set(None)
    try:
        for event_id in event_ids:
            outcome = _deliver_one(event_id)
            if outcome is Outcome.DELIVERED:
                report.delivered += 1
            elif outcome is Outcome.FAILED:
                report.failed += 1
            else:
                report.skipped += 1
    finally:
        current_request_id.reset(request_token)
        current_client_ip.reset(ip_token)
    return report


def deliver_due(*, limit: int = RETRY_BATCH) -> Report:
    """The retry job: events not delivered yet whose next attempt is due and nobody holds."""
    now = timezone.now()
    due = list(
        OutboxEvent.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver(due)


def _claim(event_id: str) -> tuple[str, OutboxEvent] | None:
    now = timezone.now()
    token = new_object_id()
    claimed = (
        OutboxEvent.objects.filter(pk=event_id, delivered_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS), claimed_by=token)
    )
    if not claimed:
        return None
    return token, OutboxEvent.objects.get(pk=event_id)


def _record(event_id: str, name: str) -> bool:
    """Note that consumer `name` has the event; False if another dispatcher noted it first."""
    try:
        with transaction.atomic():
            OutboxDelivery.objects.create(event_id=event_id, consumer=name)
    except IntegrityError:
        return False
    return True


class _AlreadyDelivered(Exception):
    """Another dispatcher recorded this delivery first: undo ours."""


def _hand_over(each: Consumer, event: Event) -> None:
    if each.atomic:
        try:
            with transaction.atomic():
                each.handler(event)
                if not _record(event.id, each.name):
                    raise _AlreadyDelivered
        except _AlreadyDelivered:
            pass
    else:
        each.handler(event)
        _record(event.id, each.name)


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


def _deliver_one(event_id: str) -> Outcome:
    claim = _claim(event_id)
    if claim is None:
        return Outcome.SKIPPED
    token, row = claim
    event = Event.from_data(row.data)
    done = set(OutboxDelivery.objects.filter(event_id=event_id).values_list("consumer", flat=True))
    errors = []
    for each in consumers_of(event):
        if each.name in done:
            continue
        try:
            _hand_over(each, event)
        except Exception as error:  # the consumer's problem: retried later, the others go on
            metrics.DISPATCH_FAILURES.labels(each.name).inc()
            errors.append(f"{each.name}: {error.__class__.__name__}: {error}")
            level = logging.ERROR if row.attempts + 1 >= settings.OUTBOX_ALERT_ATTEMPTS else logging.WARNING
            logger.log(
                level,
                "Consumer %s failed on %s %s (attempt %d); it will be retried",
                each.name,
                event.name,
                event.id,
                row.attempts + 1,
                exc_info=True,
            )
    mine = OutboxEvent.objects.filter(pk=event_id, claimed_by=token)
    if errors:
        attempts = row.attempts + 1
        mine.update(
            attempts=attempts,
            next_attempt_at=timezone.now() + backoff(attempts),
            last_error="\n".join(errors)[:4000],
            claimed_until=None,
            claimed_by="",
        )
        return Outcome.FAILED
    mine.update(delivered_at=timezone.now(), claimed_until=None, claimed_by="", last_error="")
    return Outcome.DELIVERED
