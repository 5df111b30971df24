"""Writes to tickets. Each checks the policy, then changes the one document with compare-and-set on
`version` through helpdesk.outbox (no multi-row transaction: the same code is correct on MongoDB),
which stamps the ticket with the write's event and stores the event in the outbox with it."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Department, User
from accounts.policies import is_active_agent_of
from helpdesk import events, files, metrics, outbox
from helpdesk.db import new_object_id
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.tags import normalise_tags
from tickets import policies, schemas, selectors, sla
from tickets.models import ACTIVE_STATUSES, RESOLVED_STATUSES, Priority, SlaPolicy, Status, Ticket

MAX_ATTACHMENTS = 20
APPEND_ATTEMPTS = 200


def _search_text(title: str, description: str, comments: list[dict]) -> tuple[str, str]:
    public = [title, description] + [c["body"] for c in comments if not c["internal"]]
    internal = [c["body"] for c in comments if c["internal"]]
    return "\n".join(public), "\n".join(internal)


def tickets_changed() -> None:
    """Bump the generation that cached list counts are checked against (CachedCountPaginator)."""
    try:
        cache.incr(selectors.GENERATION_KEY)
    except ValueError:
        cache.add(selectors.GENERATION_KEY, 1, None)


# What the events say changed, by the name the API uses: the model attribute, or how to read it.
CHANGE_FIELDS: dict[str, Callable[[Ticket], object]] = {
    "title": lambda t: t.title,
    "description": lambda t: t.description,
    "priority": lambda t: t.priority,
    "category": lambda t: t.category,
    "tags": lambda t: list(t.tags),
    "department": lambda t: t.department_id,
    "assignee": lambda t: t.assignee_id,
    "status": lambda t: t.status,
    "escalated": lambda t: t.escalated,
    "deleted": lambda t: t.deleted_at is not None,
}


def _event(
    kind: type[events.TicketEvent],
    before: Ticket,
    *,
    actor: User | None,
    changed: Iterable[str] = (),
    **extra,
) -> Callable[[Ticket], events.TicketEvent]:
    """The event of a write, built from the ticket as the write leaves it (`after`): what every
    ticket event carries, where the ticket was `before`, and the `changed` fields before/after."""

    def build(after: Ticket) -> events.TicketEvent:
        changes = {}
        for name in changed:
            old, new = CHANGE_FIELDS[name](before), CHANGE_FIELDS[name](after)
            if old != new:
                changes[name] = [old, new]
        return kind(
            target_id=after.pk,
            actor_id=actor.pk if actor is not None else None,
            title=after.title,
            status=after.status,
            priority=after.priority,
            requester_id=after.requester_id,
            department_id=after.department_id,
            assignee_id=after.assignee_id,
            deleted=after.deleted_at is not None,
            version=after.version,
            previous_department_id=before.department_id,
            previous_assignee_id=before.assignee_id,
            previous_deleted=before.deleted_at is not None,
            changes=changes,
            **extra,
        )

    return build


def _write(ticket: Ticket, event: Callable[[Ticket], events.TicketEvent], **fields) -> Ticket:
    """Write `fields` only if nobody changed the ticket since it was read (its `version`), with the
    event (helpdesk.outbox.compare_and_set); Conflict otherwise."""
    ticket = outbox.compare_and_set(ticket, fields=fields, event=event)
    tickets_changed()
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
    ticket = Ticket(
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
        updated_at=now,
        **sla.due_times(priority=priority, created_at=now),
    )
    # The ticket and its ticket.created, together; routing and the rest follow after the commit.
    outbox.insert(ticket, event=_event(events.TicketCreated, ticket, actor=requester))
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
    before = copy.copy(ticket)
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
    event = _event(events.TicketUpdated, before, actor=actor, changed=[*changed, "assignee"], fields=tuple(changed))
    return _write(ticket, event, **fields)


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
    event = _event(
        events.TicketStatusChanged, copy.copy(ticket), actor=actor, changed=["status"], previous_status=ticket.status
    )
    return _write(ticket, event, **fields)


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
    event = _event(events.TicketAssigned, copy.copy(ticket), actor=actor, changed=["assignee", "status"])
    if assignee is None:
        return _write(ticket, event, assignee_id=None)
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
    return _write(ticket, event, **fields)


def ticket_delete(*, actor: User, ticket: Ticket) -> Ticket:
    """Soft delete (admins): hidden everywhere, kept for the record, restorable in admin."""
    if not policies.can_delete(actor):
        raise NotAllowed("Only admins delete tickets.")
    event = _event(events.TicketDeleted, copy.copy(ticket), actor=actor, changed=["deleted"])
    return _write(ticket, event, deleted_at=timezone.now(), deleted_by=actor)


def ticket_restore(*, actor: User, ticket: Ticket) -> Ticket:
    if not policies.can_delete(actor):
        raise NotAllowed("Only admins restore tickets.")
    event = _event(events.TicketRestored, copy.copy(ticket), actor=actor, changed=["deleted"])
    return _write(ticket, event, deleted_at=None, deleted_by=None)


def ticket_escalate(*, actor: User | None, ticket: Ticket, reason: str) -> Ticket:
    """Agents and up escalate by hand (actor); the SLA job escalates with actor None."""
    if actor is not None and not policies.can_escalate(actor, ticket):
        raise NotAllowed("You may not escalate this ticket.")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why.", errors={"reason": ["This field may not be blank."]})
    event = _event(events.TicketEscalated, copy.copy(ticket), actor=actor, changed=["escalated"], reason=reason[:500])
    return _write(ticket, event, escalated=True, escalation_reason=reason[:500], escalated_at=timezone.now())


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
            "participants": schemas.participants(comments, current.attachments),
        }
        if staff and not internal and current.first_responded_at is None and actor.pk != ticket.requester_id:
            fields["first_responded_at"] = now  # the first public reply stops the first-response clock
        return fields

    event = partial(
        _event,
        events.CommentAdded,
        actor=actor,
        comment_id=comment["id"],
        body=comment["body"],
        internal=comment["internal"],
        created_at=comment["created_at"],
    )
    _append(ticket, with_comment, event)
    return comment


def _append(
    ticket: Ticket, change: Callable[[Ticket], dict], event: Callable[[Ticket], Callable[[Ticket], events.TicketEvent]]
) -> None:
    """Re-read the ticket, write what `change` makes of it with `event(current)` if nobody won
    meanwhile, else retry. One conditional single-document update per attempt (with its event):
    atomic on every database, no transaction needed."""
    for attempt in range(APPEND_ATTEMPTS):
        current = Ticket.objects.get(pk=ticket.pk)
        fields = change(current)
        try:
            outbox.compare_and_set(current, fields=fields, event=event(copy.copy(current)))
        except Conflict:
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 # nosec B311 - jitter, not crypto
            continue
        tickets_changed()
        ticket.refresh_from_db()
        return
    raise Conflict("The ticket is too busy right now; try again.", code="busy")


def attachment_add(
    *, actor: User, ticket: Ticket, uploaded: UploadedFile, allowed_types: Iterable[str] | None = None
) -> dict:
    """Check (size, sniffed type, malware scan), store under a generated key, then append the
    metadata. Nothing is kept when any step says no. `allowed_types` replaces
    ATTACHMENT_ALLOWED_TYPES (email intake keeps the original message, message/rfc822)."""
    if not policies.can_attach(actor, ticket):
        raise NotAllowed("You may not add files to this ticket.")
    if ticket.attachment_count >= MAX_ATTACHMENTS:
        raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS} files.", code="too_many_attachments")
    attachment_id = new_object_id()
    stored = files.store_upload(
        uploaded,
        key=files.attachment_key(prefix="tickets", owner_id=ticket.pk, attachment_id=attachment_id),
        allowed_types=allowed_types,
    )
    now = timezone.now()
    attachment = files.attachment_element(
        attachment_id=attachment_id, stored=stored, uploaded_by=actor.pk, created_at=now
    )

    def with_attachment(current: Ticket) -> dict:
        if len(current.attachments) >= MAX_ATTACHMENTS:
            raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS} files.", code="too_many_attachments")
        attachments = [*current.attachments, attachment]
        return {
            "attachments": attachments,
            "attachment_count": len(attachments),
            "participants": schemas.participants(current.comments, attachments),
        }

    event = partial(
        _event,
        events.AttachmentAdded,
        actor=actor,
        attachment_id=attachment["id"],
        file_name=attachment["name"],
        size=attachment["size"],
        content_type=attachment["content_type"],
        sha256=attachment["sha256"],
    )
    try:
        _append(ticket, with_attachment, event)
    except Exception:
        files.delete_stored(stored.key)
        raise
    return attachment


def tickets_escalate_due(
    *, now: datetime | None = None, progress: Callable[[Iterable], Iterable] | None = None
) -> list[Ticket]:
    """Flag the tickets past a due time or inside its warning window (the SLA job; no actor).

    Each ticket is flagged once, with the reason; its TicketEscalated tells notifications.
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
        metrics.SLA_ESCALATIONS.labels("breached" if sla.is_breach(reason) else "warning").inc()
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
    # One event for the one write: TicketRouted names the department and, when set, the assignee.
    event = _event(
        events.TicketRouted,
        copy.copy(current),
        actor=None,
        changed=["department", "assignee", "status"],
        confidence=confidence,
        reason=reason[:500],
    )
    try:
        return _write(current, event, **fields)
    except Conflict:
        return Ticket.objects.get(pk=ticket.pk)  # a person got there first; they win


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

    Imported tickets are history (resolved by default): no SLA clocks; their event is
    TicketImported, which the index hears and notifications ignore.
    """
    existing = Ticket.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    title, description = (title or "").strip()[:200], (description or "").strip()
    created_at = created_at or timezone.now()
    public_text, _ = _search_text(title, description, [])
    ticket = Ticket(
        external_id=external_id,
        title=title or description[:80] or "(no title)",
        description=description,
        category=category.strip()[:120],
        requester=requester,
        department=department,
        status=status,
        public_text=public_text,
        created_at=created_at,
        resolved_at=created_at if status in RESOLVED_STATUSES else None,
        closed_at=created_at if status == Status.CLOSED else None,
    )
    outbox.insert(ticket, event=_event(events.TicketImported, ticket, actor=None))
    tickets_changed()
    return ticket, True


# --- SLA policies (Django admin) ------------------------------------------------------------------

SLA_POLICY_FIELDS = (
    "priority",
    "first_response_minutes",
    "resolution_minutes",
    "warning_minutes",
    "pause_when_pending",
)


def _sla_event(kind: type[events.SlaPolicyEvent], policy: SlaPolicy, *, actor: User, changes: dict | None = None):
    return kind(
        target_id=policy.pk,
        actor_id=actor.pk,
        changes=changes or {},
        **{name: getattr(policy, name) for name in SLA_POLICY_FIELDS},
    )


def _check_may_edit_sla(actor: User) -> None:
    if not policies.can_edit_sla(actor):
        raise NotAllowed("Only admins change SLA policies.")


def _sla_saved(policy: SlaPolicy, event: events.SlaPolicyEvent) -> SlaPolicy:
    try:
        with transaction.atomic():
            policy.save()
            events.publish(event)
    except IntegrityError:
        raise Invalid(
            "That priority has a policy already.", errors={"priority": ["A policy for this priority exists."]}
        ) from None
    _forget_sla_policies()
    return policy


def sla_policy_create(*, actor: User, **fields) -> SlaPolicy:
    """The targets of a priority that has none (new tickets of it get due times from now on)."""
    _check_may_edit_sla(actor)
    policy = SlaPolicy(**{name: fields[name] for name in SLA_POLICY_FIELDS if name in fields})
    return _sla_saved(policy, _sla_event(events.SlaPolicyCreated, policy, actor=actor))


def sla_policy_update(*, actor: User, policy: SlaPolicy, **changes) -> SlaPolicy:
    _check_may_edit_sla(actor)
    unknown = set(changes) - set(SLA_POLICY_FIELDS)
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    changed = {
        name: [getattr(policy, name), value] for name, value in changes.items() if getattr(policy, name) != value
    }
    for name, value in changes.items():
        setattr(policy, name, value)
    if not changed:
        return policy
    return _sla_saved(policy, _sla_event(events.SlaPolicyUpdated, policy, actor=actor, changes=changed))


def sla_policy_delete(*, actor: User, policy: SlaPolicy) -> None:
    """Tickets of that priority get no due times from now on (those they have stay)."""
    _check_may_edit_sla(actor)
    event = _sla_event(events.SlaPolicyDeleted, policy, actor=actor)
    with transaction.atomic():
        policy.delete()
        events.publish(event)
    _forget_sla_policies()


def _forget_sla_policies() -> None:
    """Now (this connection reads the new targets) and after the commit (another process may
    have cached the old ones meanwhile): every process reads the new targets."""
    sla.forget_policies()
    transaction.on_commit(sla.forget_policies)
