"""The record of inbound email already handled: one row per message key, unique, so a provider's
retry or a second poll of the same message never makes a second ticket or comment (on MongoDB too:
the unique constraint is a unique index there)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from helpdesk.db import ObjectIdPrimaryKey


class Outcome(models.TextChoices):
    PROCESSING = "processing"
    TICKET = "ticket"  # opened a ticket
    COMMENT = "comment"  # added a comment
    REFUSED = "refused"  # nobody we accept mail from, spam, a loop, an auto-reply: nothing written


class InboundMessage(models.Model):
    id = ObjectIdPrimaryKey()
    key = models.CharField(
        max_length=255, unique=True, help_text="The Message-ID, or a hash of the message when it has none."
    )
    source = models.CharField(max_length=40, help_text="The provider's webhook, or imap.")
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PROCESSING)
    reason = models.CharField(max_length=255, blank=True, help_text="Why it was refused.")
    ticket_id = models.CharField(max_length=24, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Being handled until then.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound email"

    def __str__(self) -> str:
        return f"{self.key} ({self.outcome})"
