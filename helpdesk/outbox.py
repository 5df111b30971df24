"""The outbox: each domain event is stored with the change it describes, then delivered.

- `publish(event)`: an event that is not a document's version (sign-ins, users, categories) is
  one row, written in the caller's transaction when there is one.
- `insert`, `compare_and_set`, `delete`: the one way to write an event-sourced document (tickets,
  articles: helpdesk.models.EventSourced). The document changes with a single conditional update
  on its counter (`version`, `revision`) that also stamps it with the event (`last_event`); the
  event's row gets an id derived from the change (`ticket:{id}:v{version}`) and is inserted
  idempotently. On SQL both happen in one transaction. On MongoDB (autocommit, no multi-document
  transaction) a crash between the two leaves the stamp on the document, and the row is re-created
  from it, with the same id: by the next writer of that document before it writes (as knowledge
  re-creates a lost version row), or by `sweep`, which looks for the gap between a recently changed
  document's counter and its rows.
- `lag()`: how far delivery is behind (readyz reports it).

Delivery is helpdesk.dispatch's: after the commit, in-process without a broker, a Celery task
with one; the retry job picks up whatever was not delivered.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk import dispatch
from helpdesk.db import new_object_id
from helpdesk.errors import Conflict
from helpdesk.events import Event
from helpdesk.models import EventSourced, OutboxDelivery, OutboxEvent

logger = logging.getLogger(__name__)

D = TypeVar("D", bound=EventSourced)
E = TypeVar("E", bound=Event)
SWEEP_BATCH = 500


# --- Storing events ------------------------------------------------------------------------------


def event_id(model: type[EventSourced], pk: str, sequence: int) -> str:
    """The id of the event that took document `pk` to `sequence` (`ticket:{id}:v{version}`,
    `article:{id}:r{revision}`): the same wherever it is computed, so re-creating a lost row can
    never make a second one. 24 hex characters, like every id of ours."""
    key = f"{model._meta.model_name}:{pk}:{model.event_sequence[0]}{sequence}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _store(event: Event, *, sequence: int | None = None) -> bool:
    """Insert the event's row unless it is there already (re-created meanwhile); True if inserted."""
    row = OutboxEvent(
        id=event.id,
        name=event.name,
        target_type=event.target_type,
        target_id=event.target_id,
        sequence=sequence,
        data=event.to_data(),
        created_at=event.at,
        # The dispatcher after the commit delivers it; the retry job only once that had its chance.
        next_attempt_at=event.at + timedelta(seconds=settings.OUTBOX_RETRY_SECONDS),
    )
    try:
        with transaction.atomic():  # a savepoint on SQL: a duplicate leaves the caller's transaction usable
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def publish(event: E) -> E:
    """Store an event that is not a document's version (helpdesk.events.publish calls this)."""
    event = dataclasses.replace(event, id=event.id or new_object_id())
    _store(event)
    dispatch.deliver_after_commit([event.id])
    return event


# --- Writing event-sourced documents -------------------------------------------------------------


def _applied(document: D, fields: Mapping[str, Any]) -> D:
    """The document as it will be after the write (a copy; its relation cache is its own)."""
    after = copy.copy(document)
    for name, value in fields.items():
        setattr(after, name, value)
    return after


def _recent(data: Mapping[str, Any], *, now: datetime) -> bool:
    """Younger than the sweep window: older rows have been checked (and may be purged since)."""
    return datetime.fromisoformat(data["at"]) >= now - timedelta(hours=settings.OUTBOX_SWEEP_WINDOW_HOURS)


def recover(document: EventSourced, *, now: datetime | None = None) -> bool:
    """If the row of the event that made the document's current version is missing (its writer
    stopped between the two writes), re-create it from the document's stamp. True if it did."""
    data = document.last_event
    if not data or not _recent(data, now=now or timezone.now()):
        return False
    sequence = getattr(document, type(document).event_sequence)
    row_id = event_id(type(document), document.pk, sequence)
    if OutboxEvent.objects.filter(pk=row_id).exists():
        return False
    if not _store(dataclasses.replace(Event.from_data(data), id=row_id), sequence=sequence):
        return False
    logger.warning("Re-created the lost outbox row of %s (%s %s)", data["name"], data["target_id"], sequence)
    dispatch.deliver_after_commit([row_id])
    return True


def insert(document: D, *, event: Callable[[D], Event]) -> D:
    """Create the document with its first event (`event(document)`), both or neither on SQL."""
    sequence_name = type(document).event_sequence
    sequence = getattr(document, sequence_name)
    made = dataclasses.replace(event(document), id=event_id(type(document), document.pk, sequence))
    document.last_event = made.to_data()
    with transaction.atomic():
        document.save(force_insert=True)
        _store(made, sequence=sequence)
    dispatch.deliver_after_commit([made.id])
    return document


def compare_and_set(
    document: D,
    *,
    fields: Mapping[str, Any],
    event: Callable[[D], Event],
    when: Mapping[str, Any] | None = None,
) -> D:
    """Write `fields` if nobody wrote the document since it was read (its counter is unchanged,
    and `when` still holds), stamped with `event(after)`, where `after` is the document as the
    write leaves it; store the event; deliver it after the commit. Refreshes `document`.

    Raises Conflict (stale_version) when another writer won; the caller reloads or retries.
    """
    model = type(document)
    sequence_name = model.event_sequence
    sequence = getattr(document, sequence_name)
    recover(document)
    changes = {**fields, sequence_name: sequence + 1}
    made = event(_applied(document, changes))
    made = dataclasses.replace(made, id=event_id(model, document.pk, sequence + 1))
    changes.setdefault("updated_at", made.at)
    with transaction.atomic():
        updated = model._default_manager.filter(pk=document.pk, **{sequence_name: sequence}, **(when or {})).update(
            **changes, last_event=made.to_data()
        )
        if not updated:
            raise Conflict(
                f"The {model._meta.verbose_name} changed meanwhile; reload it and try again.", code="stale_version"
            )
        _store(made, sequence=sequence + 1)
    dispatch.deliver_after_commit([made.id])
    document.refresh_from_db()
    return document


def delete(document: EventSourced, *, event: Callable[[Any], Event]) -> None:
    """Stamp the document with its deletion event, store the event, then delete the document: on
    SQL all or nothing. (On MongoDB a crash before the delete leaves the document in place with its
    deletion announced; deleting it again finishes the job under a new event.)"""
    with transaction.atomic():
        compare_and_set(document, fields={}, event=event)
        document.delete()


# --- Repair and upkeep (the periodic jobs in helpdesk.tasks) ---------------------------------------


def event_sourced_models() -> list[type[EventSourced]]:
    return [model for model in apps.get_models() if issubclass(model, EventSourced)]


def _chunks(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sweep(*, now: datetime | None = None) -> int:
    """Re-create the rows missing for documents changed within the sweep window: a document whose
    counter has no row (a gap) holds the event of that change. Returns how many it re-created."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.OUTBOX_SWEEP_WINDOW_HOURS)
    recreated = 0
    for model in event_sourced_models():
        sequence_name = model.event_sequence
        documents: Any = model._default_manager  # every EventSourced model has an updated_at
        rows = (
            documents.filter(updated_at__gte=since)
            .order_by()
            .values_list("pk", sequence_name, "last_event")
            .iterator(chunk_size=SWEEP_BATCH)
        )
        for chunk in _chunks(rows, SWEEP_BATCH):
            wanted = {}
            for pk, sequence, data in chunk:
                if data:
                    wanted[event_id(model, pk, sequence)] = (sequence, data)
            present = set(OutboxEvent.objects.filter(pk__in=list(wanted)).values_list("pk", flat=True))
            for row_id, (sequence, data) in wanted.items():
                if row_id in present or not _recent(data, now=now):
                    continue
                if _store(dataclasses.replace(Event.from_data(data), id=row_id), sequence=sequence):
                    logger.warning("Sweep re-created the lost outbox row of %s (%s)", data["name"], data["target_id"])
                    dispatch.deliver_after_commit([row_id])
                    recreated += 1
    return recreated


def purge(*, now: datetime | None = None) -> int:
    """Forget delivered events older than the retention (their deliveries too)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    purged = 0
    while True:
        ids = list(OutboxEvent.objects.filter(delivered_at__lt=cutoff).values_list("pk", flat=True)[:SWEEP_BATCH])
        if not ids:
            return purged
        OutboxDelivery.objects.filter(event_id__in=ids).delete()
        OutboxEvent.objects.filter(pk__in=ids).delete()
        purged += len(ids)


@dataclass(frozen=True)
class Lag:
    seconds: float  # age of the oldest undelivered event; 0 when everything is delivered
    undelivered: int


def lag(*, now: datetime | None = None) -> Lag:
    """How far delivery is behind: the age of the oldest undelivered event, and how many wait."""
    waiting = OutboxEvent.objects.filter(delivered_at__isnull=True)
    oldest = waiting.order_by("created_at").values_list("created_at", flat=True).first()
    if oldest is None:
        return Lag(seconds=0.0, undelivered=0)
    return Lag(seconds=max(((now or timezone.now()) - oldest).total_seconds(), 0.0), undelivered=waiting.count())
