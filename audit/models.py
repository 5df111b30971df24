"""The activity log: one row per domain event, written by a subscriber, never changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpdesk.db import ObjectIdPrimaryKey


class AuditEntry(models.Model):
    id = ObjectIdPrimaryKey()
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the system acted (an SLA job, routing).",
    )
    action = models.CharField(max_length=64, db_index=True, help_text="The event, e.g. ticket.deleted.")
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=24, db_index=True)
    # Copied at write time so that leads' views filter on a plain field.
    department_id = models.CharField(max_length=24, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"
