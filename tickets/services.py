"""Writes to tickets. Each checks the policy, changes one document with compare-and-set on
`version` (no multi-row transaction: the same code is correct on MongoDB), and publishes an event."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Department, User
from accounts.policies import is_active_agent_of
from helpdesk import events, files
from helpdesk.db import new_object_id
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.tags import normalise_tags
from tickets import policies, schemas, selectors, sla
from tickets.models import ACTIVE_STATUSES, Priority, Status, Ticket

MAX_ATTACHMENTS = 20
APPEND_ATTEMPTS = 200


def _search_text(title: str, description: str, comments: list[dict]) -> tuple[str, str]:
    public = [title, description] + [c["body"] for c in comments if not c["internal"]]
    internal = [c["body"] for c in comments if c["internal"]]
    return "\n".join(public), "\n".join(internal)


def tickets_changed() -> None:
    """Bump the generation that cached list counts are keyed by (selectors.list_count_key)."""
    try:
        cache.incr(selectors.GENERATION_KEY)
    except ValueError:
        cache.add(selectors.GENERATION_KEY, 1, None)


def _compare_and_set(ticket: Ticket, *, expected_version: int, **fields) -> Ticket:
    """Write `fields` only if nobody changed the ticket since `expected_version`."""
    updated = Ticket.objects.filter(pk=ticket.pk, version=expected_version).update(
        **fields, version=F("version") + 1, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict("The ticket changed meanwhile; reload it and try again.", code="stale_version")
    tickets_changed()
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
    title, description = title.strip(), description.strip()
    public_text, _ = _search_text(title, description, [])
    now = timezone.now()
    # One block: every subscriber of ticket.created (the audit log among them) runs before the
    # jobs they defer to after the commit, such as routing, even without a job broker.
    with transaction.atomic():
        ticket = Ticket.objects.create(
            title=title,
            description=description,
            priority=priority,
            priority_rank=Priority.rank(priority),
            category=category.strip(),
            tags=normalise_tags(tags),
            requester=requester,
            department=department,
            public_text=public_text,
            created_at=now,
            **sla.due_times(priority=priority, created_at=now),
        )
        events.publish("ticket.created", ticket=ticket, actor=requester)
    tickets_changed()  # after the commit: a count taken meanwhile must not be kept as current
    return ticket


def ticket_update(*, actor: User, ticket: Ticket, version: int | None = None, **changes) -> Ticket:
    allowed = policies.can_edit_fields(actor, ticket)
    refused = set(changes) - allowed
    if refused:
        raise NotAllowed(f"You may not change: {', '.join(sorted(refused))}.")
    if version is not None and version != ticket.version:
        raise Conflict("The ticket changed since you read it; reload it and try again.", code="stale_version")
    changed = sorted(name for name, value in changes.items() if _current(ticket, name) != value)
    fields = dict(changes)
    for name in ("title", "description", "category"):
        if name in fields:
            fields[name] = fields[name].strip()
    if "tags" in fields:
        fields["tags"] = normalise_tags(fields["tags"])
    if "priority" in fields:
        fields["priority_rank"] = Priority.rank(fields["priority"])
        if fields["priority"] != ticket.priority:
            fields.update(
                sla.due_times(
                    priority=fields["priority"], created_at=ticket.created_at, paused_seconds=ticket.sla_paused_seconds
                )
            )
    if "department" in fields:
        department = fields.pop("department")
        fields["department_id"] = department.pk if department else None
        if fields["department_id"] != ticket.department_id:
            fields["routing_confidence"] = None  # a person placed it, not the router
            if ticket.assignee_id:
                fields["assignee_id"] = None  # the old assignee works for another department
    fields["public_text"], _ = _search_text(
        fields.get("title", ticket.title), fields.get("description", ticket.description), ticket.comments
    )
    ticket = _compare_and_set(ticket, expected_version=ticket.version, **fields)
    events.publish("ticket.updated", ticket=ticket, actor=actor, fields=changed)
    return ticket


def _current(ticket: Ticket, name: str):
    return ticket.department if name == "department" else getattr(ticket, name)


def ticket_transition(*, actor: User, ticket: Ticket, status: str) -> Ticket:
    if status not in Status.values:
        raise Invalid("Unknown status.", errors={"status": [f"One of: {', '.join(Status.values)}."]})
    if status not in policies.legal_moves(actor, ticket):
        raise Conflict(f"A ticket that is {ticket.status} cannot move to {status} by you.", code="invalid_transition")
    now = timezone.now()
    fields: dict = {"status": status, **sla.on_status_change(ticket, new_status=status, now=now)}
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


def _check_may_assign(actor: User, ticket: Ticket, *, taking: bool) -> None:
    if not (policies.can_assign_others(actor, ticket) or (taking and policies.can_take(actor, ticket))):
        raise NotAllowed("You may not assign this ticket.")


def ticket_assign_by_id(*, actor: User, ticket: Ticket, assignee_id: str | None) -> Ticket:
    """ticket_assign from a user id (the API). Whether the actor may assign is checked before anyone
    is looked up, so a caller without the right learns nothing about which users exist."""
    taking = assignee_id == actor.pk
    _check_may_assign(actor, ticket, taking=taking)
    assignee = None
    if assignee_id is not None:
        assignee = actor if taking else User.objects.filter(pk=assignee_id).first()
        if assignee is None:
            raise Invalid("No such user.", errors={"assignee": ["No such user."]})
    return ticket_assign(actor=actor, ticket=ticket, assignee=assignee)


def ticket_assign(*, actor: User, ticket: Ticket, assignee: User | None) -> Ticket:
    """An agent takes a ticket of their department; leads assign (or unassign) within theirs."""
    taking = assignee is not None and assignee.pk == actor.pk
    _check_may_assign(actor, ticket, taking=taking)
    previous = ticket.assignee_id
    if assignee is None:
        ticket = _compare_and_set(ticket, expected_version=ticket.version, assignee_id=None)
        events.publish("ticket.assigned", ticket=ticket, actor=actor, previous=previous)
        return ticket
    if ticket.department_id is None:
        raise Invalid("Route the ticket to a department first.", errors={"assignee": ["The ticket has no department."]})
    if not is_active_agent_of(assignee, ticket.department_id):
        raise Invalid(
            "Tickets go to active agents of the ticket's department.",
            errors={"assignee": ["Not an active agent of this ticket's department."]},
        )
    if not taking and not assignee.is_available:
        raise Invalid(
            "That agent is not available right now.", errors={"assignee": ["The agent is marked unavailable."]}
        )
    fields: dict = {"assignee_id": assignee.pk}
    if ticket.status == Status.NEW:
        fields["status"] = Status.OPEN
    ticket = _compare_and_set(ticket, expected_version=ticket.version, **fields)
    events.publish("ticket.assigned", ticket=ticket, actor=actor, previous=previous)
    return ticket


def ticket_delete(*, actor: User, ticket: Ticket) -> Ticket:
    """Soft delete (admins): hidden everywhere, kept for the record, restorable in admin."""
    if not policies.can_delete(actor):
        raise NotAllowed("Only admins delete tickets.")
    ticket = _compare_and_set(ticket, expected_version=ticket.version, deleted_at=timezone.now(), deleted_by=actor)
    events.publish("ticket.deleted", ticket=ticket, actor=actor)
    return ticket


def ticket_restore(*, actor: User, ticket: Ticket) -> Ticket:
    if not policies.can_delete(actor):
        raise NotAllowed("Only admins restore tickets.")
    ticket = _compare_and_set(ticket, expected_version=ticket.version, deleted_at=None, deleted_by=None)
    events.publish("ticket.restored", ticket=ticket, actor=actor)
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
    if not policies.can_comment(actor, ticket):
        raise NotAllowed("You may not comment on this ticket.")
    if internal and not policies.sees_internal(actor):
        raise NotAllowed("Only agents and up write internal notes.", code="internal_not_allowed")
    now = timezone.now()
    comment = schemas.new_comment(author_id=actor.pk, body=body, internal=internal, created_at=now)

    def with_comment(current: Ticket) -> dict:
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
        return fields

    _append(ticket, with_comment, read=("title", "description", "comments", "first_responded_at"), now=now)
    events.publish("comment.added", ticket=ticket, actor=actor, comment=comment)
    return comment


def _append(ticket: Ticket, change: Callable[[Ticket], dict], *, read: tuple[str, ...], now: datetime) -> None:
    """Re-read the fields `change` needs, write its result if nobody won meanwhile, else retry.

    One conditional single-document update per attempt: atomic on every database, no transaction.
    """
    for attempt in range(APPEND_ATTEMPTS):
        current = Ticket.objects.only("id", "version", *read).get(pk=ticket.pk)
        fields = change(current)
        updated = Ticket.objects.filter(pk=ticket.pk, version=current.version).update(
            **fields, version=F("version") + 1, updated_at=now
        )
        if updated:
            tickets_changed()
            ticket.refresh_from_db()
            return
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter, not crypto
    raise Conflict("The ticket is too busy right now; try again.", code="busy")


def attachment_add(*, actor: User, ticket: Ticket, uploaded: UploadedFile) -> dict:
    """Check (size, sniffed type, malware scan), store under a generated key, then append the
    metadata. Nothing is kept when any step says no."""
    if not policies.can_attach(actor, ticket):
        raise NotAllowed("You may not add files to this ticket.")
    if ticket.attachment_count >= MAX_ATTACHMENTS:
        raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS} files.", code="too_many_attachments")
    attachment_id = new_object_id()
    stored = files.store_upload(
        uploaded, key=files.attachment_key(prefix="tickets", owner_id=ticket.pk, attachment_id=attachment_id)
    )
    now = timezone.now()
    attachment = files.attachment_element(
        attachment_id=attachment_id, stored=stored, uploaded_by=actor.pk, created_at=now
    )

    def with_attachment(current: Ticket) -> dict:
        if len(current.attachments) >= MAX_ATTACHMENTS:
            raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS} files.", code="too_many_attachments")
        attachments = [*current.attachments, attachment]
        return {"attachments": attachments, "attachment_count": len(attachments)}

    try:
        _append(ticket, with_attachment, read=("attachments",), now=now)
    except Exception:
        files.delete_stored(stored.key)
        raise
    events.publish("attachment.added", ticket=ticket, actor=actor, attachment=attachment)
    return attachment


def tickets_escalate_due(
    *, now: datetime | None = None, progress: Callable[[Iterable], Iterable] | None = None
) -> list[Ticket]:
    """Flag the tickets past a due time or inside its warning window (the SLA job; no actor).

    Each ticket is flagged once, with the reason; `ticket.escalated` tells notifications.
    """
    now = now or timezone.now()
    horizon = now + max((t.warning for t in sla.targets_by_priority().values()), default=timedelta(0))
    candidates = Ticket.objects.filter(
        Q(resolution_due_at__lte=horizon) | Q(first_responded_at__isnull=True, first_response_due_at__lte=horizon),
        status__in=ACTIVE_STATUSES,
        escalated=False,
        sla_paused_at__isnull=True,
        deleted_at__isnull=True,
    ).order_by("resolution_due_at", "id")
    escalated = []
    for ticket in (progress or iter)(list(candidates)):
        reason = sla.escalation_reason(ticket, now=now)
        if reason is None:
            continue
        try:
            escalated.append(ticket_escalate(actor=None, ticket=ticket, reason=reason))
        except Conflict:
            continue  # changed meanwhile: the next run looks at it again
    return escalated


def ticket_route(
    *,
    ticket: Ticket,
    department: Department | None,
    confidence: float | None,
    assignee: User | None = None,
    reason: str = "",
) -> Ticket:
    """The router (no actor) places a ticket still in triage: department, and an agent of it when
    confident. Nothing happens if a person routed or assigned it meanwhile (returns it unchanged)."""
    current = Ticket.objects.get(pk=ticket.pk)
    if current.deleted_at is not None or current.department_id is not None or current.assignee_id is not None:
        return current  # deleted, or a person placed it meanwhile
    fields: dict = {"department_id": department.pk if department else None, "routing_confidence": confidence}
    if assignee is not None and department is not None:
        if not is_active_agent_of(assignee, department.pk):
            raise Invalid("The router chose someone who is not an active agent of that department.")
        fields["assignee_id"] = assignee.pk
        if current.status == Status.NEW:
            fields["status"] = Status.OPEN
    try:
        routed = _compare_and_set(current, expected_version=current.version, **fields)
    except Conflict:
        return Ticket.objects.get(pk=ticket.pk)  # a person got there first; they win
    events.publish("ticket.routed", ticket=routed, actor=None, confidence=confidence, reason=reason)
    if assignee is not None and department is not None:
        events.publish("ticket.assigned", ticket=routed, actor=None, previous=None)
    return routed


def ticket_import(
    *,
    external_id: str,
    requester: User,
    title: str,
    description: str,
    department: Department | None,
    category: str = "",
    created_at: datetime | None = None,
    status: str = Status.RESOLVED,
) -> tuple[Ticket, bool]:
    """A historical ticket from another system, idempotent by `external_id`: (ticket, created).

    Imported tickets are history (resolved by default): no SLA clocks, no events for notifications.
    """
    existing = Ticket.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    title, description = (title or "").strip()[:200], (description or "").strip()
    created_at = created_at or timezone.now()
    public_text, _ = _search_text(title, description, [])
    ticket = Ticket.objects.create(
        external_id=external_id,
        title=title or description[:80] or "(no title)",
        description=description,
        category=category.strip()[:120],
        requester=requester,
        department=department,
        status=status,
        public_text=public_text,
        created_at=created_at,
        resolved_at=created_at if status in (Status.RESOLVED, Status.CLOSED) else None,
        closed_at=created_at if status == Status.CLOSED else None,
    )
    tickets_changed()
    events.publish("ticket.imported", ticket=ticket, actor=None)
    return ticket, True
