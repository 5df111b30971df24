"""The audit log's part of a person's export and erasure (helpdesk.personal_data; decision 0027).

Export: the entries where they act, and the entries about their account (sign-ins, failed
sign-ins, changes an admin made to it).

Erasure: the log stays append-only in everything that makes it a log (who, what, when, on what,
from where: the actor is the erased account, which names nobody), and only what named the person
is rewritten, through the one rewrite the log allows (AuditEntry.objects.redact, which marks the
entry `details.redacted`; the database triggers let nothing else through):
- entries about their account: its address, previous address and names, before and after;
- entries where they act, failed sign-ins and reset requests with the address they tried, and the
  routings that chose them (the reason names the agent's address): any quote of their address or
  full name becomes "[erased]".
The erasure's own entry (`user.erased`) names the account by id only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from accounts.models import User
from audit.db import REDACTED
from audit.models import AuditEntry
from helpdesk import events, personal_data
from helpdesk.personal_data import Subject, account_facts_redacted, account_facts_redacted_changes
from tickets.models import Ticket

USER = events.UserEvent.target_type
ENTRY_FIELDS = (
    "id",
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "department_id",
    "changes",
    "details",
    "request_id",
    "ip",
)


def _about(user_id: str):
    return AuditEntry.objects.filter(object_type=USER, object_id=user_id)


def _rows(queryset) -> list[dict[str, Any]]:
    return [{**row, "at": row["at"].isoformat()} for row in queryset.order_by("at", "id").values(*ENTRY_FIELDS)]


def export_audit(subject: Subject) -> dict[str, Any]:
    me = subject.user_id
    return {
        "acted": _rows(AuditEntry.objects.filter(actor_id=me)),
        "about_their_account": _rows(_about(me).exclude(actor_id=me)),
    }


def earlier_emails(user_id: str) -> Iterator[str]:
    """The addresses the log saw the account under (an address changed by an admin, or tried)."""
    for changes, details in _about(user_id).values_list("changes", "details"):
        yield from (value for key, value in (details or {}).items() if "email" in key and isinstance(value, str))
        yield from (value for value in (changes or {}).get("email", []) if isinstance(value, str))


def _quoting(subject: Subject):
    """Entries other than those about the account that may quote the person's address or name."""
    me = subject.user_id
    attempts = Q(object_id="", action__in=[events.LoginFailed.name, events.PasswordResetRequested.name])
    # A routing that chose them: of a ticket they still have, or of their department (the router
    # assigns within the department; one they left is not searched, decision 0027).
    chosen = Q(object_id__in=list(Ticket.objects.filter(assignee_id=me).values_list("pk", flat=True)))
    department = User.objects.filter(pk=me).values_list("department_id", flat=True).first()
    if department:
        chosen |= Q(department_id=department)
    routings = Q(action=events.TicketRouted.name) & chosen
    return AuditEntry.objects.filter(Q(actor_id=me) | attempts | routings).exclude(object_type=USER, object_id=me)


def erase_audit(subject: Subject) -> dict[str, int]:
    changed = 0
    rows = list(_about(subject.user_id).values_list("pk", "changes", "details"))
    about = {pk for pk, _, _ in rows}
    if subject.pattern() is not None:
        rows += list(_quoting(subject).values_list("pk", "changes", "details"))
    for pk, changes, details in rows:
        new_changes, new_details = changes, details
        if pk in about:
            new_changes, new_details = account_facts_redacted_changes(changes), account_facts_redacted(details)
        new_changes, new_details = subject.scrub(new_changes), subject.scrub(new_details)
        if (new_changes, new_details) != (changes, details):
            changed += AuditEntry.objects.filter(pk=pk).redact(
                changes=new_changes, details={**new_details, REDACTED: True}
            )
    return {"audit_auditentry": changed}


def register() -> None:
    personal_data.register("audit", export=export_audit, erase=erase_audit, earlier_emails=earlier_emails)
