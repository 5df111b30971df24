"""The AI's suggestion log in Django admin: read-only (it is a record).

Admins see every suggestion; a lead those about the tickets they may see (their department's and
triage: tickets.selectors.tickets_for, i.e. tickets.policies.visible_tickets), so they can review
how the AI routed them.
"""

from __future__ import annotations

from django.contrib import admin

from ai_assist.models import Suggestion
from ai_assist.selectors import suggestions_for
from helpdesk.admin import short_text


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "ticket_title",
        "department",
        "rounded_confidence",
        "abstained",
        "model",
        "latency",
    )
    list_filter = ("kind", "abstained", "department")
    search_fields = ("id", "ticket__id", "ticket__title")
    fields = readonly_fields = [
        "rounded_confidence" if field.name == "confidence" else field.name for field in Suggestion._meta.fields
    ]
    list_select_related = ("ticket", "department")

    def get_queryset(self, request):
        suggestions = suggestions_for(user=request.user)
        ordering = self.get_ordering(request)
        return suggestions.order_by(*ordering) if ordering else suggestions

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Confidence", ordering="confidence")
    def rounded_confidence(self, suggestion: Suggestion) -> str:
        return "—" if suggestion.confidence is None else f"{suggestion.confidence:.2f}"

    @admin.display(description="Ticket", ordering="ticket__title")
    def ticket_title(self, suggestion: Suggestion) -> str:
        return "— (a preview)" if suggestion.ticket is None else short_text(suggestion.ticket.title, chars=50)

    @admin.display(description="Latency", ordering="latency_ms")
    def latency(self, suggestion: Suggestion) -> str:
        return f"{suggestion.latency_ms:,.0f} ms"
