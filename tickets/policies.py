"""Who may see and do what with tickets. The API, admin, jobs and the AI all ask here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import Role
from tickets.models import RESOLVED_STATUSES, Status

if TYPE_CHECKING:
    from accounts.models import User
    from helpdesk.events import TicketEvent
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
    if ticket.requester_id == user.pk and ticket.status not in RESOLVED_STATUSES:
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


# --- What the AI may retrieve (similar tickets, sources of answers) ---------------------------


@dataclass(frozen=True)
class TicketScope:
    """A set of tickets as a filter, with a key naming everything the filter depends on: what
    is derived from it (the AI's candidate masks) is reused per key until any ticket changes."""

    q: Q
    key: str


def visibility_key(user: User) -> str:
    """What `visible_tickets(user)` depends on: who, their role and their department."""
    return f"user:{user.pk}:{user.role}:{user.department_id or ''}"


def retrieval_scope(user: User) -> TicketScope:
    """The tickets the AI may retrieve for `user`: exactly those the user may see."""
    return TicketScope(visible_tickets(user), visibility_key(user))


def staff_scope(department_id: str | None, *, triage: bool) -> TicketScope:
    """What the staff who will work a ticket routed to a department see of other tickets (the
    possible duplicates found when the system routes a new ticket): that department's; when
    routing abstains, the lead triaging it sees triage and the likeliest department (none:
    triage only). Never deleted tickets."""
    if department_id is None:
        scope = Q(department__isnull=True)
    elif triage:
        scope = Q(department__isnull=True) | Q(department_id=department_id)
    else:
        scope = Q(department_id=department_id)
    key = f"department:{department_id or ''}:{'triage' if triage else ''}"
    return TicketScope(scope & Q(deleted_at__isnull=True), key)


# --- Who hears an event about a ticket (the live feed, email, notifications) -------------------
#
# An audience is a set of groups (also the names of the feed's channel-layer groups); a user is in
# the groups `groups_of` gives. The rule is visible_tickets' rule, group by group, so a user hears
# an event exactly when the API would show them the ticket after it (tests/tickets/test_audience.py
# proves it over generated users and tickets).

ADMINS = "admins"
TRIAGE = "triage"  # leads: tickets no department has taken yet


def department_group(department_id: str) -> str:
    """Agents and up of the department."""
    return f"department.{department_id}"


def user_group(user_id: str) -> str:
    """The person, whatever their role (as a requester)."""
    return f"user.{user_id}"


def staff_group(user_id: str) -> str:
    """The person while they are staff (agent and up): as assignee, or as a requester who reads
    internal notes."""
    return f"staff.{user_id}"


def groups_of(user: User) -> frozenset[str]:
    """Every group `user` is in: an audience reaches the user through any one of them."""
    groups = {user_group(user.pk)}
    if user.role >= Role.AGENT:
        groups.add(staff_group(user.pk))
        if user.department_id:
            groups.add(department_group(user.department_id))
    if user.role >= Role.LEAD:
        groups.add(TRIAGE)
    if user.role >= Role.ADMIN:
        groups.add(ADMINS)
    return frozenset(groups)


@dataclass(frozen=True)
class Placement:
    """Where a ticket is, as far as who may see it is concerned."""

    requester_id: str
    department_id: str | None
    assignee_id: str | None
    deleted: bool

    def groups(self, *, staff_only: bool = False) -> frozenset[str]:
        if self.deleted:
            return frozenset()
        groups = {ADMINS, department_group(self.department_id) if self.department_id else TRIAGE}
        if self.assignee_id:
            groups.add(staff_group(self.assignee_id))
        groups.add(staff_group(self.requester_id) if staff_only else user_group(self.requester_id))
        return frozenset(groups)


@dataclass(frozen=True)
class Audience:
    """`groups` hear the event; `visible` see the ticket after it; `removed` saw it before and, unless
    they also see it after, no longer do (a move, a reassignment, a deletion): they get a "removed"."""

    groups: frozenset[str]
    visible: frozenset[str]
    removed: frozenset[str]

    def reaches(self, user_groups: frozenset[str]) -> bool:
        return bool(self.groups & user_groups)

    def loses(self, user_groups: frozenset[str]) -> bool:
        return bool(self.removed & user_groups) and not self.visible & user_groups


def audience(ticket: Ticket, event: TicketEvent | None = None) -> Audience:
    """Who may hear `event` about `ticket`: the groups that see the ticket after it (the ticket's
    own placement when no event is given), staff only for an internal note, and the groups that
    saw it before the event and no longer do."""
    if event is None:
        after = before = Placement(
            ticket.requester_id, ticket.department_id, ticket.assignee_id, ticket.deleted_at is not None
        )
        staff_only = False
    else:
        after = Placement(ticket.requester_id, event.department_id, event.assignee_id, event.deleted)
        before = Placement(
            ticket.requester_id, event.previous_department_id, event.previous_assignee_id, event.previous_deleted
        )
        staff_only = event.staff_only()
    visible = after.groups()
    return Audience(
        groups=after.groups(staff_only=True) if staff_only else visible,
        visible=visible,
        removed=before.groups() - visible,
    )
