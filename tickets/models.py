"""Tickets: the document an employee opens and agents work, with its comments embedded.

Comments and attachment metadata are JSON arrays on the ticket (one document on MongoDB), each
element validated by tickets.schemas. Queries never look inside them: what must be searched is
kept in ordinary fields (`public_text`, `all_text`) that the services rewrite on every write.
Concurrent writers use the `version` field (compare-and-set), never a multi-row transaction;
each write also stamps the ticket with its event (`last_event`, helpdesk.models.EventSourced), from
which the outbox re-creates the event's row if a crash lost it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Department
from helpdesk.db import ObjectIdPrimaryKey
from helpdesk.models import EventSourced


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"

    @classmethod
    def rank(cls, value: str) -> int:
        """Sortable weight (urgent first when ordering by -priority_rank)."""
        return cls.values.index(value)


# Tickets still being worked: the SLA clocks run (or are paused) only for these.
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)
# A ticket whose solution is known: the requester may no longer reword it, and its public answers
# may answer someone else's question (ai_assist, through tickets.selectors).
RESOLVED_STATUSES = (Status.RESOLVED, Status.CLOSED)


class SlaPolicy(models.Model):
    """Targets for one priority. Admins edit them in Django admin; new due times follow at once."""

    id = ObjectIdPrimaryKey()
    priority = models.CharField(max_length=16, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField(help_text="Time to the first public reply by staff.")
    resolution_minutes = models.PositiveIntegerField(help_text="Time to resolution.")
    warning_minutes = models.PositiveIntegerField(
        default=30, help_text="Escalate this long before a due time, not only once it has passed."
    )
    pause_when_pending = models.BooleanField(
        default=True, help_text="Stop the clocks while the ticket waits for the requester (status pending)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = ["priority"]

    def __str__(self) -> str:
        return (
            f"{self.get_priority_display()}: respond in {self.first_response_minutes} min, "
            f"resolve in {self.resolution_minutes} min"
        )


class Ticket(EventSourced):
    id = ObjectIdPrimaryKey()
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=20_000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW, db_index=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM, db_index=True)
    # Kept equal to Priority.rank(priority) by the services, so lists can order by urgency on every database.
    priority_rank = models.PositiveSmallIntegerField(default=1, editable=False)
    category = models.CharField(max_length=120, blank=True)
    tags = models.JSONField(default=list, blank=True)

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_tickets"
    )

    comments = models.JSONField(default=list, blank=True, help_text="Embedded; see tickets.schemas.Comment.")
    attachments = models.JSONField(default=list, blank=True, help_text="Embedded; see tickets.schemas.Attachment.")
    # Maintained by the services on every write, so lists and search never read the arrays.
    public_comment_count = models.PositiveIntegerField(default=0)
    internal_comment_count = models.PositiveIntegerField(default=0)
    attachment_count = models.PositiveIntegerField(default=0)
    public_text = models.TextField(blank=True, help_text="Title, description and public comments.")
    internal_text = models.TextField(blank=True, help_text="Internal notes (agents and up).")
    # Who wrote a comment or added a file, as `|id|id|`, so a person's comments are found with a
    # plain text match instead of a look inside the arrays (the personal-data export, decision 0027).
    participants = models.TextField(blank=True, editable=False, help_text="|id|id|: comment authors and uploaders.")

    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    escalated = models.BooleanField(default=False, db_index=True)
    escalation_reason = models.CharField(max_length=500, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # While the clocks are paused (pending, if the policy says so): since when, and the total so far.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)

    # Where an imported ticket came from (import_tickets is idempotent by it); empty otherwise.
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    # The routing that placed the ticket (confidence 0-1); null until routed, or when a person did.
    routing_confidence = models.FloatField(null=True, blank=True)

    version = models.PositiveIntegerField(default=1)
    # A default, not auto_now_add: imported history keeps its own creation time.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="Soft delete.")
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list's order (newest first, id as the tie-break): pages read the index, never sort.
            models.Index(fields=["-created_at", "-id"], name="ticket_created_id"),
            # The same for "not deleted, newest first": SQLite walks it and stops after one page.
            models.Index(fields=["deleted_at", "-created_at", "-id"], name="ticket_live_created_id"),
            models.Index(fields=["department", "status", "-created_at"], name="ticket_dept_status_created"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_created"),
            # A similar-ticket label's tickets (selectors.label_rows; decision 0038): without it a rare
            # label scanned its department's every ticket.
            models.Index(fields=["department", "category"], name="ticket_dept_category"),
        ]

    def __str__(self) -> str:
        return self.title
