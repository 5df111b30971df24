"""The activity log: one row per domain event, written by the audit consumer, never changed.

Append-only at every layer we control: the model refuses to save an existing row or delete one,
its QuerySet refuses update() and delete(), and on SQLite and PostgreSQL database triggers refuse
UPDATE and DELETE of the table (migrations 0003 and 0004; audit/db.py). Only `manage.py flush`,
which wipes the whole database, lifts them for its duration. On MongoDB the database layer is access
control: give the application's user a role with insert and find only on this collection
(docs/events.md). The one exception is a personal-data erasure's redaction (`redact`, decision
0027): it rewrites only what named the person, and marks the entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from audit.db import REDACTED
from helpdesk.db import ObjectIdPrimaryKey

# Where an entry belongs, for who may read it (audit.policies): a department id, or one of these.
TRIAGE = "triage"  # a ticket no department has taken yet: every lead sees triage
KNOWLEDGE_BASE = "kb"  # articles and categories: every lead writes the knowledge base
# Empty: accounts and sign-ins (admins only).


class AppendOnly(Exception):
    """Someone tried to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Audit entries are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnly("Audit entries are append-only: they cannot be deleted.")

    def redact(self, *, changes: dict, details: dict) -> int:
        """The one rewrite an entry allows (audit.personal_data, decision 0027): a personal-data
        erasure replaces what named the person in `changes` and `details`, and the entry says so
        (`details["redacted"]`, which the database triggers also require); nothing else changes."""
        if REDACTED not in details:
            raise AppendOnly(f"A redaction marks the entry: details[{REDACTED!r}].")
        return super().update(changes=changes, details=details)


class AuditEntry(models.Model):
    # The id of the event it records: one entry per event, however often the event is delivered.
    id = ObjectIdPrimaryKey()
    at = models.DateTimeField(default=timezone.now, db_index=True, help_text="When it happened.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # The entry outlives its actor and is never rewritten (no SET_NULL, no constraint).
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Empty when the system acted (an SLA job, routing) or nobody was signed in.",
    )
    action = models.CharField(max_length=64, db_index=True, help_text="The event, e.g. ticket.deleted.")
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=24, db_index=True, blank=True)
    # Copied at write time so that leads' views filter on plain fields: a department id, TRIAGE or
    # KNOWLEDGE_BASE (empty: admins only); for a move, where it was before too.
    department_id = models.CharField(max_length=24, blank=True, db_index=True)
    previous_department_id = models.CharField(max_length=24, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}; never a secret.")
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="audit_target_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit entries are append-only: they cannot be updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit entries are append-only: they cannot be deleted.")
