"""Service levels: due times from the policy of a ticket's priority, pauses, state, escalation.

Targets are calendar time. Due times are stored on the ticket (so lists, admin and the job filter
on plain fields) and recomputed when the priority changes or a pause ends:
    due = created_at + target + time spent paused so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from tickets.models import ACTIVE_STATUSES, SlaPolicy, Status, Ticket

_CACHE_KEY = "tickets:sla-policies"
_CACHE_SECONDS = 60
# Each process also keeps the targets this long: every list request needs them, and asking the
# shared cache each time cost a round trip (docs/performance.md). Another process sees an edited
# policy within these seconds; the process that saved it, at once.
_PROCESS_SECONDS = 5
_in_process: tuple[float, dict[str, Targets]] | None = None
_BREACHED = "SLA breached:"  # how an escalation reason for a passed due time starts


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta
    warning: timedelta
    pause_when_pending: bool


def targets_by_priority() -> dict[str, Targets]:
    """All policies: four rows, edited rarely (in admin), read from the database once a minute per
    shared cache and from that cache once every few seconds per process."""
    global _in_process
    held = _in_process
    if held is not None and held[0] > time.monotonic():
        return held[1]
    targets = cache.get(_CACHE_KEY)
    if targets is None:
        targets = {
            policy.priority: Targets(
                first_response=timedelta(minutes=policy.first_response_minutes),
                resolution=timedelta(minutes=policy.resolution_minutes),
                warning=timedelta(minutes=policy.warning_minutes),
                pause_when_pending=policy.pause_when_pending,
            )
            for policy in SlaPolicy.objects.all()
        }
        cache.set(_CACHE_KEY, targets, _CACHE_SECONDS)
    _in_process = (time.monotonic() + _PROCESS_SECONDS, targets)
    return targets


def forget_policies() -> None:
    """Call after changing a policy, so every process reads the new targets (others within
    _PROCESS_SECONDS)."""
    global _in_process
    _in_process = None
    cache.delete(_CACHE_KEY)


def due_times(*, priority: str, created_at: datetime, paused_seconds: int = 0) -> dict:
    """The two due-time fields for a ticket of this priority (None when no policy exists)."""
    targets = targets_by_priority().get(priority)
    if targets is None:
        return {"first_response_due_at": None, "resolution_due_at": None}
    start = created_at + timedelta(seconds=paused_seconds)
    return {
        "first_response_due_at": start + targets.first_response,
        "resolution_due_at": start + targets.resolution,
    }


def on_status_change(ticket: Ticket, *, new_status: str, now: datetime) -> dict:
    """Fields that pause or resume the clocks when a ticket enters or leaves `pending`."""
    targets = targets_by_priority().get(ticket.priority)
    if new_status == Status.PENDING and ticket.sla_paused_at is None:
        if targets is not None and targets.pause_when_pending:
            return {"sla_paused_at": now}
        return {}
    if new_status != Status.PENDING and ticket.sla_paused_at is not None:
        paused = ticket.sla_paused_seconds + int((now - ticket.sla_paused_at).total_seconds())
        return {
            "sla_paused_at": None,
            "sla_paused_seconds": paused,
            **due_times(priority=ticket.priority, created_at=ticket.created_at, paused_seconds=paused),
        }
    return {}


def state(ticket: Ticket, *, now: datetime | None = None, targets: dict[str, Targets] | None = None) -> str:
    """none, ok, warning, breached, paused or met: what a lead scanning a list wants to know.

    A list passes `targets` (read once per request) so that rows do not each ask the cache.
    """
    now = now or timezone.now()
    if ticket.resolution_due_at is None:
        return "none"
    if ticket.status not in ACTIVE_STATUSES:
        met = ticket.resolved_at or ticket.closed_at
        return "met" if met is None or met <= ticket.resolution_due_at else "breached"
    if ticket.sla_paused_at is not None:
        return "paused"
    first_due = next_due(ticket)
    assert first_due is not None  # an active, running ticket with a resolution target
    if first_due <= now:
        return "breached"
    policy = (targets if targets is not None else targets_by_priority()).get(ticket.priority)
    if policy is not None and first_due - policy.warning <= now:
        return "warning"
    return "ok"


def next_due(ticket: Ticket) -> datetime | None:
    """The earliest due time that still applies: the first response while unanswered, the
    resolution while the ticket is worked; none once resolved or closed, or while paused.
    `next_due_expression` is the same rule for the database (tests/tickets/test_sla.py)."""
    if ticket.status not in ACTIVE_STATUSES or ticket.sla_paused_at is not None:
        return None
    due = [ticket.resolution_due_at]
    if ticket.first_responded_at is None:
        due.append(ticket.first_response_due_at)
    present = [at for at in due if at is not None]
    return min(present) if present else None


def escalation_reason(ticket: Ticket, *, now: datetime) -> str | None:
    """Why the job should escalate this ticket now, or None."""
    targets = targets_by_priority().get(ticket.priority)
    if targets is None or ticket.sla_paused_at is not None or ticket.status not in ACTIVE_STATUSES:
        return None
    checks = [("Resolution", ticket.resolution_due_at)]
    if ticket.first_responded_at is None:
        checks.insert(0, ("First response", ticket.first_response_due_at))
    for label, due in checks:
        if due is None:
            continue
        stamp = due.strftime("%Y-%m-%d %H:%M UTC")
        if due <= now:
            return f"{_BREACHED} {label.lower()} was due {stamp}."
        if due - targets.warning <= now:
            return f"SLA warning: {label.lower()} due {stamp}, within the {_minutes(targets.warning)} warning window."
    return None


def is_breach(reason: str) -> bool:
    """Whether an escalation_reason says a due time has passed (not only its warning window)."""
    return reason.startswith(_BREACHED)


def breached_count(*, now: datetime | None = None) -> int:
    """Live tickets whose running clock is past its next due time (next_due_expression): what
    /metrics reports as helpdesk_tickets_sla_breached."""
    live = Ticket.objects.filter(deleted_at__isnull=True, status__in=ACTIVE_STATUSES, sla_paused_at__isnull=True)
    return live.annotate(next_due_at=next_due_expression()).filter(next_due_at__lte=now or timezone.now()).count()


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)}-minute"


def next_due_expression() -> Case:
    """next_due as a database expression, so that a list can sort by it."""
    running = Q(status__in=ACTIVE_STATUSES, sla_paused_at__isnull=True)
    first_response_applies = Q(first_responded_at__isnull=True, first_response_due_at__isnull=False) & (
        Q(resolution_due_at__isnull=True) | Q(first_response_due_at__lte=F("resolution_due_at"))
    )
    return Case(
        When(~running, then=Value(None)),
        When(first_response_applies, then=F("first_response_due_at")),
        default=F("resolution_due_at"),
        output_field=DateTimeField(),
    )
