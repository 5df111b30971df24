"""The AI's log and the chatbot's memory.

- `Suggestion`: every AI output (a routing, a similar-ticket search, a chat answer, a draft reply,
  a summary, an article drafted from a ticket or a gap) with its inputs, retrieved sources,
  output, path or model and latency, so leads can review what the AI did and how fast;
- `SuggestionFeedback`: one review of a suggestion per user (accepted, edited, rejected, or a
  routing correction), with the edit distance of an edited draft;
- `Conversation` and `ChatMessage`: a user's chatbot conversations, turn by turn, and the
  ticket opened from the chatbot's offer (deflection: conversations that ended without one).

Lists that belong to a row (sources, citations) are JSON and never filtered on.
"""

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
        CHAT = "chat", "Chat answer"
        DRAFT = "draft", "Draft reply"
        SUMMARY = "summary", "Ticket summary"
        ARTICLE = "article", "Article from a ticket"
        GAP = "gap", "Article for a knowledge gap"

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
    path = models.CharField(
        max_length=16,
        blank=True,
        db_index=True,
        help_text='How it was produced: "llm", "extractive", "fallback" (the model failed), "router", "search", ...',
    )
    sources = models.JSONField(
        default=list, blank=True, help_text="What was retrieved, best first: [{kind, id, title, score}]."
    )
    conversation = models.ForeignKey(
        "Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The chatbot conversation it answered in.",
    )
    latency_ms = models.FloatField(default=0.0)
    error = models.CharField(max_length=500, blank=True, help_text="Why it failed, when it did.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "department", "-created_at"], name="suggestion_kind_dept")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M} ({self.model})"


class Conversation(models.Model):
    """One user's conversation with the chatbot."""

    id = ObjectIdPrimaryKey()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, help_text="The first question.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The ticket opened from the chatbot's offer (none: the conversation deflected it).",
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["user", "-updated_at"], name="conversation_user_updated")]

    def __str__(self) -> str:
        return self.title


class ChatMessage(models.Model):
    """One turn of a conversation: the user's question or the assistant's answer."""

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    id = ObjectIdPrimaryKey()
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    citations = models.JSONField(default=list, blank=True, help_text="[{n, kind, id, title}] as cited in the text.")
    path = models.CharField(max_length=16, blank=True)
    suggestion = models.ForeignKey(Suggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="chatmessage_conv_created")]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"


class SuggestionFeedback(models.Model):
    """One user's review of one suggestion."""

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        EDITED = "edited", "Edited"
        REJECTED = "rejected", "Rejected"
        CORRECTED = "corrected", "Corrected (re-routed)"

    id = ObjectIdPrimaryKey()
    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices, db_index=True)
    final_text = models.TextField(blank=True, help_text="What was sent, when the draft was edited.")
    comment = models.TextField(blank=True)
    edit_distance = models.IntegerField(null=True, blank=True, help_text="Edits from the draft to the final text.")
    corrected_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where a lead re-routed the ticket (a routing correction).",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["suggestion", "user"], name="feedback_one_per_user")]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} by {self.user_id}"
