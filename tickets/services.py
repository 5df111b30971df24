"""Writes to tickets. Each checks the policy, changes one document with compare-and-set on
`version` (no multi-row transaction: the same code is correct on MongoDB), and publishes an event."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

from django.db.models import F
from django.utils import timezone

from accounts.models import Department, Role, User
from helpdesk import events
from helpdesk.api.errors import Conflict, Invalid, NotAllowed
from tickets import policies, schemas
from tickets.models import Priority, Status, Ticket

MAX_TAGS = 20
APPEND_ATTEMPTS = 200


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        tag = " ".join(str(tag).strip().lower().split())
        if tag and tag not in cleaned:
            cleaned.append(tag[:50])
    if len(cleaned) > MAX_TAGS:
        raise Invalid("Too many tags.", errors={"tags": [f"At most {MAX_TAGS} tags."]})
    return cleaned


def _search_text(title: str, description: str, comments: list[dict]) -> tuple[str, str]:
    public = [title, description] + [c["body"] for c in comments if not c["internal"]]
    internal = [c["body"] for c in comments if c["internal"]]
    return "\n".join(public), "\n".join(internal)


def _compare_and_set(ticket: Ticket, *, expected_version: int, **fields) -> Ticket:
    """Write `fields` only if nobody changed the ticket since `expected_version`."""
    updated = Ticket.objects.filter(pk=ticket.pk, version=expected_version).update(
        **fields, version=F("version") + 1, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict("The ticket changed meanwhile; reload it and try again.", code="stale_version")
    ticket.refresh_from_db()
    return ticket


def ticket_create(
    *,
    requester: User,
    title: str,
    description: str,
    priority: str = Priority.MEDIUM,
    category: str = "",
    tags: Iterable[str] = (),
    department: Department | None = None,
) -> Ticket:
    """Anyone signed in opens a ticket for themselves; without a department it waits for routing."""
    public_text, _ = _search_text(title, description, [])
    ticket = Ticket.objects.create(
        title=title.strip(),
        description=description.strip(),
        priority=priority,
        category=category.strip(),
        tags=_clean_tags(tags),
        requester=requester,
        department=department,
        public_text=public_text,
    )
    events.publish("ticket.created", ticket=ticket, actor=requester)
    return ticket


def ticket_update(*, actor: User, ticket: Ticket, version: int | None = None, **changes) -> Ticket:
    allowed = policies.can_edit_fields(actor, ticket)
    refused = set(changes) - allowed
    if refused:
        raise NotAllowed(f"You may not change: {', '.join(sorted(refused))}.")
    if "tags" in changes:
        changes["tags"] = _clean_tags(changes["tags"])
    title = changes.get("title", ticket.title)
    description = changes.get("description", ticket.description)
    changes["public_text"], _ = _search_text(title, description, ticket.comments)
    ticket = _compare_and_set(ticket, expected_version=version or ticket.version, **changes)
    events.publish("ticket.updated", ticket=ticket, actor=actor, fields=sorted(set(changes) - {"public_text"}))
    return ticket


def ticket_transition(*, actor: User, ticket: Ticket, status: str) -> Ticket:
    if status not in Status.values:
        raise Invalid("Unknown status.", errors={"status": [f"One of: {', '.join(Status.values)}."]})
    if status not in policies.legal_moves(actor, ticket):
        raise Conflict(f"A ticket that is {ticket.status} cannot move to {status} by you.", code="invalid_transition")
    now = timezone.now()
    fields: dict = {"status": status}
    if status == Status.RESOLVED:
        fields["resolved_at"] = now
    elif status == Status.CLOSED:
        fields["closed_at"] = now
    elif status == Status.OPEN:
        fields.update(resolved_at=None, closed_at=None)
    previous = ticket.status
    ticket = _compare_and_set(ticket, expected_version=ticket.version, **fields)
    events.publish("ticket.status_changed", ticket=ticket, actor=actor, previous=previous)
    return ticket


def ticket_assign(*, actor: User, ticket: Ticket, assignee: User) -> Ticket:
    taking = assignee.pk == actor.pk
    if not (policies.can_assign_others(actor, ticket) or (taking and policies.can_take(actor, ticket))):
        raise NotAllowed("You may not assign this ticket.")
    if ticket.department_id is None:
        raise Invalid("Route the ticket to a department first.", errors={"assignee": ["The ticket has no department."]})
    if not (
        assignee.is_active
        and Role.AGENT <= assignee.role <= Role.LEAD
        and assignee.department_id == ticket.department_id
    ):
        raise Invalid(
            "Tickets go to active agents of the ticket's department.",
            errors={"assignee": ["Not an active agent of this ticket's department."]},
        )
    fields: dict = {"assignee_id": assignee.pk}
    if ticket.status == Status.NEW:
        fields["status"] = Status.OPEN
    ticket = _compare_and_set(ticket, expected_version=ticket.version, **fields)
    events.publish("ticket.assigned", ticket=ticket, actor=actor)
    return ticket


def ticket_escalate(*, actor: User | None, ticket: Ticket, reason: str) -> Ticket:
    """Agents and up escalate by hand (actor); the SLA job escalates with actor None."""
    if actor is not None and not policies.can_escalate(actor, ticket):
        raise NotAllowed("You may not escalate this ticket.")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why.", errors={"reason": ["This field may not be blank."]})
    ticket = _compare_and_set(
        ticket,
        expected_version=ticket.version,
        escalated=True,
        escalation_reason=reason[:500],
        escalated_at=timezone.now(),
    )
    events.publish("ticket.escalated", ticket=ticket, actor=actor, reason=reason)
    return ticket


def comment_add(*, actor: User, ticket: Ticket, body: str, internal: bool = False) -> dict:
    """Append a comment atomically: re-read, append, compare-and-set; retry when another won."""
    staff = policies.works_on(actor, ticket)
    if not (staff or ticket.requester_id == actor.pk):
        raise NotAllowed("You may not comment on this ticket.")
    if internal and not policies.sees_internal(actor):
        raise NotAllowed("Only agents and up write internal notes.", code="internal_not_allowed")
    now = timezone.now()
    comment = schemas.new_comment(author_id=actor.pk, body=body, internal=internal, created_at=now)
    for attempt in range(APPEND_ATTEMPTS):
        current = Ticket.objects.only("id", "version", "title", "description", "comments", "first_responded_at").get(
            pk=ticket.pk
        )
        comments = [*current.comments, comment]
        public_text, internal_text = _search_text(current.title, current.description, comments)
        fields = {
            "comments": comments,
            "public_text": public_text,
            "internal_text": internal_text,
            "public_comment_count": sum(not c["internal"] for c in comments),
            "internal_comment_count": sum(c["internal"] for c in comments),
        }
        if staff and not internal and current.first_responded_at is None and actor.pk != ticket.requester_id:
            fields["first_responded_at"] = now  # the first public reply stops the first-response clock
        updated = Ticket.objects.filter(pk=ticket.pk, version=current.version).update(
            **fields, version=F("version") + 1, updated_at=now
        )
        if updated:
            ticket.refresh_from_db()
            events.publish("comment.added", ticket=ticket, actor=actor, comment=comment)
            return comment
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter, not crypto
    raise Conflict("The ticket is too busy right now; try again.", code="busy")
