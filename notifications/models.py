"""In-app notifications, queued email and each person's email preferences.

All three are written by the notifications consumers (notifications.subscribers) from domain
events, once per event and person: the unique (event, user) pair makes a redelivered event write
nothing new, on every database. Email is queued, not sent, by the consumer: `OutgoingEmail` rows
are sent by a job (notifications.mail) and stay queued, retried with backoff, while the provider
fails, so an outage loses nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from helpdesk.db import ObjectIdPrimaryKey


class Kind(models.TextChoices):
    """What a notification (and its email) is about; preferences switch email per kind."""

    REPLY = "reply", "A public reply on your ticket"
    STATUS = "status", "Your ticket changed status"
    ASSIGNED = "assigned", "A ticket was assigned to you"
    ESCALATED = "escalated", "A ticket of your department was escalated"


# Emails about one's account (the password-reset link): always sent, no preference switches them off.
ACCOUNT_EMAIL = "account"
EMAIL_KINDS = [*Kind.choices, (ACCOUNT_EMAIL, "About your account (a password-reset link)")]


class Notification(models.Model):
    """One thing one person should know about, shown in the app until they mark it read."""

    id = ObjectIdPrimaryKey()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event_id = models.CharField(max_length=24, help_text="The domain event it tells about (helpdesk.OutboxEvent).")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ticket_id = models.CharField(max_length=24, blank=True)
    ticket_title = models.CharField(max_length=200, blank=True)
    text = models.CharField(max_length=500, help_text="Plain text; clients escape it when they render HTML.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who did it; empty when the system did (routing, the SLA job).",
    )
    # A boolean beside read_at: "unread first" is an ordinary ascending sort on every database.
    read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["read", "-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["event_id", "user"], name="notification_once_per_event")]
        indexes = [models.Index(fields=["user", "read", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.text[:60]}"


class OutgoingEmail(models.Model):
    """One email, rendered when its event was heard, waiting to be sent or sent. A failed send
    stays here and is retried with backoff (notifications.mail.send_due); nothing is dropped."""

    id = ObjectIdPrimaryKey()
    event_id = models.CharField(max_length=24)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    to = models.EmailField(max_length=254, help_text="The address when it was queued.")
    kind = models.CharField(max_length=16, choices=EMAIL_KINDS)
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends that failed.")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A sender is sending it until then.")
    last_error = models.TextField(blank=True)
    thread = models.CharField(
        max_length=64, blank=True, help_text="The ticket and reply token a reply to it carries (intake.threads)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outgoing email"
        constraints = [models.UniqueConstraint(fields=["event_id", "user"], name="email_once_per_event")]
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"], name="email_due")]

    def __str__(self) -> str:
        return f"{self.subject} -> {self.to}"


class EmailPreferences(models.Model):
    """Which kinds of email a person gets (in-app notifications always come). No row: all on."""

    id = ObjectIdPrimaryKey()
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reply = models.BooleanField(default=True, help_text=Kind.REPLY.label)
    status = models.BooleanField(default=True, help_text=Kind.STATUS.label)
    assigned = models.BooleanField(default=True, help_text=Kind.ASSIGNED.label)
    escalated = models.BooleanField(default=True, help_text=Kind.ESCALATED.label)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "email preferences"
        verbose_name_plural = "email preferences"

    def __str__(self) -> str:
        return f"Email preferences of {self.user_id}"

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))
