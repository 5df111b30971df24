"""The AI's log: every suggestion (a routing, a similar-ticket search) with its inputs, output,
model and latency, so leads can review what the AI did and how fast."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Department
from helpdesk.db import ObjectIdPrimaryKey


class Suggestion(models.Model):
    class Kind(models.TextChoices):
        ROUTE = "route", "Routing"
        SIMILAR = "similar", "Similar tickets"

    id = ObjectIdPrimaryKey()
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The ticket it was made for; empty for a preview through the API.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked; empty when the system routed a new ticket.",
    )
    # The department it proposed (routing), kept as a plain field so leads' reviews filter on it.
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confidence = models.FloatField(null=True, blank=True)
    abstained = models.BooleanField(default=False)
    inputs = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    model = models.CharField(max_length=120, blank=True, help_text="Which model answered.")
    latency_ms = models.FloatField(default=0.0)
    error = models.CharField(max_length=500, blank=True, help_text="Why it failed, when it did.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "department", "-created_at"], name="suggestion_kind_dept")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M} ({self.model})"
