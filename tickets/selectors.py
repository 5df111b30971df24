"""Reads of tickets, always narrowed to what the asking user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from tickets import policies
from tickets.models import Ticket


def tickets_for(*, user: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(policies.visible_tickets(user))


def ticket_for(*, user: User, ticket_id: str) -> Ticket:
    """The ticket, or 404 when it does not exist or the user may not see it."""
    return get_object_or_404(tickets_for(user=user), pk=ticket_id)


def comments_for(*, user: User, ticket: Ticket) -> list[dict]:
    """The comments the user may read: employees never see internal notes."""
    if policies.sees_internal(user):
        return list(ticket.comments)
    return [comment for comment in ticket.comments if not comment["internal"]]
