"""Who may see and do what with tickets. The API, admin, jobs and the AI all ask here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import Role
from tickets.models import Status

if TYPE_CHECKING:
    from accounts.models import User
    from tickets.models import Ticket


def visible_tickets(user: User) -> Q:
    """Admins: all. Agents: their department's, assigned to them, their own. Leads: also triage
    (tickets no department has taken yet). Employees: their own. Deleted tickets: nobody."""
    if user.role >= Role.ADMIN:
        return Q(deleted_at__isnull=True)
    scope = Q(requester=user)
    if user.role >= Role.AGENT:
        scope |= Q(assignee=user)
        if user.department_id:
            scope |= Q(department_id=user.department_id)
    if user.role >= Role.LEAD:
        scope |= Q(department__isnull=True)
    return scope & Q(deleted_at__isnull=True)


def sees_internal(user: User) -> bool:
    return user.role >= Role.AGENT


def works_on(user: User, ticket: Ticket) -> bool:
    """Agents and up who may act on the ticket as staff (not merely as its requester)."""
    if user.role >= Role.ADMIN:
        return True
    if user.role < Role.AGENT:
        return False
    if user.role >= Role.LEAD and ticket.department_id is None:
        return True  # triage
    return ticket.assignee_id == user.pk or (
        user.department_id is not None and ticket.department_id == user.department_id
    )


# Employees may only resolve, close or reopen their own tickets.
REQUESTER_MOVES = {
    Status.NEW: {Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.RESOLVED, Status.CLOSED},
    Status.PENDING: {Status.RESOLVED, Status.CLOSED, Status.OPEN},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}
STAFF_MOVES = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING, Status.RESOLVED, Status.CLOSED},
    Status.PENDING: {Status.OPEN, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}


def legal_moves(user: User, ticket: Ticket) -> set[str]:
    moves: set[str] = set()
    if works_on(user, ticket):
        moves |= STAFF_MOVES[Status(ticket.status)]
    if ticket.requester_id == user.pk:
        moves |= REQUESTER_MOVES[Status(ticket.status)]
    return moves


def can_edit_fields(user: User, ticket: Ticket) -> set[str]:
    """Which fields the user may PATCH: requesters their wording, staff also the triage fields."""
    fields: set[str] = set()
    if ticket.requester_id == user.pk and ticket.status not in (Status.RESOLVED, Status.CLOSED):
        fields |= {"title", "description"}
    if works_on(user, ticket):
        fields |= {"title", "description", "priority", "category", "tags"}
    if can_route(user, ticket):
        fields.add("department")
    return fields


def can_route(user: User, ticket: Ticket) -> bool:
    """Leads move tickets of their department or of triage; admins any."""
    if user.role >= Role.ADMIN:
        return True
    return user.role >= Role.LEAD and ticket.department_id in (None, user.department_id)


def can_take(user: User, ticket: Ticket) -> bool:
    return user.role >= Role.AGENT and user.department_id is not None and ticket.department_id == user.department_id


def can_comment(user: User, ticket: Ticket) -> bool:
    return ticket.requester_id == user.pk or works_on(user, ticket)


def can_attach(user: User, ticket: Ticket) -> bool:
    return can_comment(user, ticket)


def can_assign_others(user: User, ticket: Ticket) -> bool:
    if user.role >= Role.ADMIN:
        return True
    return user.role >= Role.LEAD and user.department_id is not None and ticket.department_id == user.department_id


def can_escalate(user: User, ticket: Ticket) -> bool:
    return works_on(user, ticket)


def can_delete(user: User) -> bool:
    return user.role >= Role.ADMIN


def can_edit_sla(user: User) -> bool:
    """SLA targets bind every department: admins change them, leads read them."""
    return user.role >= Role.ADMIN
