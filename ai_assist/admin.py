"""The AI's suggestion log in Django admin: read-only (it is a record), with the reviews of each
suggestion (verdicts, edit distances, routing corrections) inline.

Admins see every suggestion; a lead those about the tickets they may see (their department's and
triage: tickets.selectors.tickets_for, i.e. tickets.policies.visible_tickets) and their own, so
they can review how the AI routed, drafted and summarised them.
"""

from __future__ import annotations

import json

from django.contrib import admin

from ai_assist.models import Suggestion, SuggestionFeedback
from ai_assist.selectors import readable_references, references_of, suggestions_for
from helpdesk.admin import short_text

WITHHELD = "— (withheld: it draws on articles or tickets you may not read)"


class FeedbackInline(admin.TabularInline):
    """The reviews of one suggestion, read-only."""

    model = SuggestionFeedback
    fields = readonly_fields = (
        "created_at",
        "user",
        "verdict",
        "edit_distance",
        "corrected_department",
        "comment",
        "final_text",
    )
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "path",
        "ticket_title",
        "department",
        "rounded_confidence",
        "abstained",
        "model",
        "latency",
    )
    list_filter = ("kind", "path", "abstained", "department", "created_at")
    search_fields = ("id", "ticket__id", "ticket__title")
    # What a suggestion drew on may include articles or tickets the reader may not read (an agent
    # of another department drafted on an assigned ticket): then its output and sources show as
    # withheld (ai_assist.selectors.readable_references).
    fields = readonly_fields = [
        {"confidence": "rounded_confidence", "output": "shown_output", "sources": "shown_sources"}.get(
            field.name, field.name
        )
        for field in Suggestion._meta.fields
    ]
    list_select_related = ("ticket", "department")
    inlines = (FeedbackInline,)

    def get_queryset(self, request):
        suggestions = suggestions_for(user=request.user)
        ordering = self.get_ordering(request)
        return suggestions.order_by(*ordering) if ordering else suggestions

    def get_object(self, request, object_id, from_field=None):
        suggestion = super().get_object(request, object_id, from_field)
        if suggestion is not None:
            readable = readable_references(user=request.user, suggestions=[suggestion])
            suggestion.withheld = not readable.allows(references_of(suggestion))
        return suggestion

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the AI's log (and the reviews on it) is history: nothing edits it by hand

    @admin.display(description="Confidence", ordering="confidence")
    def rounded_confidence(self, suggestion: Suggestion) -> str:
        return "—" if suggestion.confidence is None else f"{suggestion.confidence:.2f}"

    @admin.display(description="Output")
    def shown_output(self, suggestion: Suggestion) -> str:
        return WITHHELD if getattr(suggestion, "withheld", True) else json.dumps(suggestion.output, indent=1)

    @admin.display(description="Sources")
    def shown_sources(self, suggestion: Suggestion) -> str:
        return WITHHELD if getattr(suggestion, "withheld", True) else json.dumps(suggestion.sources, indent=1)

    @admin.display(description="Ticket", ordering="ticket__title")
    def ticket_title(self, suggestion: Suggestion) -> str:
        return "— (a preview)" if suggestion.ticket is None else short_text(suggestion.ticket.title, chars=50)

    @admin.display(description="Latency", ordering="latency_ms")
    def latency(self, suggestion: Suggestion) -> str:
        return f"{suggestion.latency_ms:,.0f} ms"
