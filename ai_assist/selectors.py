"""Reads of the AI app, scoped to the asking user."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Department, User
from ai_assist import policies
from ai_assist.models import Suggestion
from helpdesk.errors import NotFound


def suggestions_for(*, user: User) -> QuerySet[Suggestion]:
    """Admins: every suggestion (previews with no ticket, and those about deleted tickets, too).
    Others: the suggestions about tickets they may see (a lead: their department's and triage)."""
    from tickets.selectors import tickets_for

    suggestions = Suggestion.objects.all()
    if policies.sees_every_suggestion(user):
        return suggestions
    return suggestions.filter(ticket__in=tickets_for(user=user).values("pk"))


def routing_for(*, user: User, ticket_id: str) -> dict:
    """The last routing decision made for a ticket the user may see, with its department,
    alternatives, agent and the similar tickets it found, limited to those the user may see now.
    404 when the ticket is hidden or was never routed by the AI."""
    from tickets import selectors as ticket_selectors
    from tickets.models import Ticket
    from tickets.policies import visible_tickets

    ticket = ticket_selectors.ticket_for(user=user, ticket_id=ticket_id)
    suggestion = Suggestion.objects.filter(ticket=ticket, kind=Suggestion.Kind.ROUTE).order_by("-created_at").first()
    if suggestion is None:
        raise NotFound(
            "The AI has not routed this ticket: it had a department when it was opened, or routing is off.",
            code="not_routed",
        )
    output = suggestion.output or {}
    alternatives = output.get("alternatives") or []
    department_ids = {output.get("department"), *(item["department"] for item in alternatives)} - {None}
    departments = Department.objects.in_bulk(department_ids) if department_ids else {}
    agent = User.objects.filter(pk=output["agent"]).first() if output.get("agent") else None
    similar = output.get("similar_tickets") or []
    found = (
        Ticket.objects.filter(visible_tickets(user), pk__in=[item["ticket"] for item in similar])
        .select_related("department")
        .in_bulk()
        if similar
        else {}
    )
    return {
        "ticket": ticket,
        "department": departments.get(output.get("department")),
        "confidence": suggestion.confidence,
        "abstained": suggestion.abstained,
        "alternatives": [
            {"department": departments[item["department"]], "confidence": item["confidence"]}
            for item in alternatives
            if item["department"] in departments
        ],
        "agent": agent,
        "agent_reason": output.get("agent_reason", ""),
        "similar_tickets": [
            {"ticket": found[item["ticket"]], "score": item["score"]} for item in similar if item["ticket"] in found
        ],
        "model": suggestion.model,
        "suggestion_id": suggestion.pk,
        "error": suggestion.error,
        "created_at": suggestion.created_at,
    }
