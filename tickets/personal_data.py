"""The tickets part of a person's export and erasure (helpdesk.personal_data; decision 0027).

Export: the tickets they requested, whole (every comment, internal notes included: the organisation
holds them about the person, and the admin answering a request reviews them before handing the
file over), their comments and files on other tickets (found by `Ticket.participants`, never by
looking inside the arrays), and the tickets assigned to them.

Erasure leaves tickets as they are: they are the organisation's records, and their requester is
the erased account, shown as "Erased user". The one copy of a person's address a ticket may hold
is the routing reason in its `last_event` stamp ("agent <address>: ..." when the router chose
them): that stamp is rewritten for the tickets assigned to them (the version stays, so no writer
is disturbed). Their tickets leave the AI's index in ai_assist.personal_data.
"""

from __future__ import annotations

from typing import Any

from helpdesk import personal_data
from helpdesk.personal_data import Subject
from tickets.models import Ticket


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _attachment(element: dict) -> dict[str, Any]:
    """An attachment's metadata as the person may read it (the storage key is ours)."""
    return {key: value for key, value in element.items() if key != "storage_key"}


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "title": ticket.title,
        "description": ticket.description,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category,
        "tags": list(ticket.tags),
        "department_id": ticket.department_id,
        "assignee_id": ticket.assignee_id,
        "comments": list(ticket.comments),
        "attachments": [_attachment(a) for a in ticket.attachments],
        "escalated": ticket.escalated,
        "escalation_reason": ticket.escalation_reason,
        "created_at": _when(ticket.created_at),
        "updated_at": _when(ticket.updated_at),
        "resolved_at": _when(ticket.resolved_at),
        "closed_at": _when(ticket.closed_at),
        "deleted_at": _when(ticket.deleted_at),
    }


def export_tickets(subject: Subject) -> dict[str, Any]:
    me = subject.user_id
    requested = Ticket.objects.filter(requester_id=me).order_by("created_at", "id")
    elsewhere = (
        Ticket.objects.filter(participants__contains=f"|{me}|")
        .exclude(requester_id=me)
        .order_by("created_at", "id")
        .only("id", "title", "comments", "attachments")
    )
    comments, files = [], []
    for ticket in elsewhere:
        about = {"ticket_id": ticket.pk, "ticket_title": ticket.title}
        comments += [{**about, **c} for c in ticket.comments if c["author"] == me]
        files += [{**about, **_attachment(a)} for a in ticket.attachments if a.get("uploaded_by") == me]
    assigned = Ticket.objects.filter(assignee_id=me).order_by("created_at", "id").values("id", "title", "status")
    return {
        "requested": [_ticket(ticket) for ticket in requested],
        "comments_on_other_tickets": comments,
        "attachments_on_other_tickets": files,
        "assigned": list(assigned),
    }


def erase_tickets(subject: Subject) -> dict[str, int]:
    if subject.pattern() is None:
        return {"tickets_ticket": 0}
    changed = 0
    for pk, version, stamp in Ticket.objects.filter(assignee_id=subject.user_id).values_list(
        "pk", "version", "last_event"
    ):
        scrubbed = subject.scrub(stamp)
        if scrubbed is not stamp:
            # Only while the stamp is still that version's: a newer write has a stamp of its own.
            changed += Ticket.objects.filter(pk=pk, version=version).update(last_event=scrubbed)
    return {"tickets_ticket": changed}


def register() -> None:
    personal_data.register("tickets", export=export_tickets, erase=erase_tickets)
