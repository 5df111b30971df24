"""The outbox: domain events stored with the changes they describe, and their deliveries.

docs/decisions/0014-events-and-outbox.md explains the design; helpdesk.outbox writes these rows,
helpdesk.dispatch delivers them. They live in the project package because every app writes them
(through helpdesk.outbox) and helpdesk imports no app.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from helpdesk.db import ObjectIdPrimaryKey


class EventSourced(models.Model):
    """A document whose writes go through helpdesk.outbox: each write bumps the counter named by
    `event_sequence` and stamps the document with the event it causes (`last_event`), in the same
    single-document update. The event's outbox row has an id derived from the document and that
    counter, so a row a crash lost is re-created, with the same id, from the document itself
    (by the next writer, or by the sweeper). Subclasses have an `updated_at` the writes set."""

    event_sequence: ClassVar[str] = "version"

    last_event = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The event of the latest write (helpdesk.outbox re-creates its outbox row if a crash lost it).",
    )

    class Meta:
        abstract = True


class OutboxEvent(models.Model):
    """One domain event, kept until it is delivered to every consumer and then for a while (the
    live feed replays recent events). `data` is Event.to_data(); read it with Event.from_data."""

    id = ObjectIdPrimaryKey()
    name = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=24)
    sequence = models.PositiveIntegerField(
        null=True, blank=True, help_text="The document's version (revision) this event made; empty for other events."
    )
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="Every consumer has it.")
    attempts = models.PositiveIntegerField(default=0, help_text="Deliveries that failed for some consumer.")
    next_attempt_at = models.DateTimeField(help_text="When the retry job may try it (again).")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A dispatcher is delivering it until then.")
    claimed_by = models.CharField(max_length=24, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["delivered_at", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["delivered_at", "created_at"], name="outbox_undelivered_age"),
            models.Index(fields=["target_type", "target_id", "sequence"], name="outbox_target"),
            models.Index(fields=["created_at"], name="outbox_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.target_type} {self.target_id}"


class OutboxDelivery(models.Model):
    """One consumer has had one event. Written once; the unique pair is what makes a consumer hear
    an event once even when two dispatchers race for it."""

    id = ObjectIdPrimaryKey()
    event_id = models.CharField(max_length=24, db_index=True)
    consumer = models.CharField(max_length=64)
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivered_at", "id"]
        verbose_name_plural = "outbox deliveries"
        constraints = [models.UniqueConstraint(fields=["event_id", "consumer"], name="outbox_delivery_once")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.consumer}"


class JobRun(models.Model):
    """The latest run of one periodic job (helpdesk.jobs), whoever ran it: the embedded scheduler of
    any process or a Celery worker. One row per job, written with single-row updates, so /readyz
    reads every job's state in one query on every database."""

    id = ObjectIdPrimaryKey()
    name = models.CharField(max_length=100, unique=True, help_text="The job's task name.")
    runs = models.PositiveIntegerField(default=0, help_text="Runs started since the row was made.")
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed runs in a row (0 after a success).")
    last_error = models.TextField(blank=True, help_text="The last failure's exception class and message.")
    last_runner = models.CharField(max_length=200, blank=True, help_text="host:pid of the last run.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
