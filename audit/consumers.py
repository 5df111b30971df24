"""The audit consumer: every domain event becomes one audit entry. Registered in AuditConfig.ready().

Atomic (helpdesk.dispatch): the entry and the record of its delivery are one transaction, and the
entry's id is the event's, so a redelivery never writes a second entry.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from audit.models import KNOWLEDGE_BASE, TRIAGE, AuditEntry
from helpdesk import dispatch, events

# Envelope fields (columns of their own) and text too long or too private to copy into the log
# (a comment's body is on the ticket; the log says that it was added, by whom, and which).
NOT_DETAILS = {"id", "at", "actor_id", "target_id", "request_id", "ip", "changes", "body", "name"}


def _scope(event: events.Event) -> tuple[str, str]:
    """(department, previous department) for who may read the entry (audit.policies)."""
    if isinstance(event, events.TicketEvent):
        now = event.department_id or TRIAGE
        before = event.previous_department_id or TRIAGE
        return now, before if before != now else ""
    if isinstance(event, events.SuggestionEvent):  # the AI's work on a ticket or for the knowledge base
        if event.ticket_id:
            return event.department_id or TRIAGE, ""
        return (KNOWLEDGE_BASE, "") if event.article_id else ("", "")  # chat answers, previews: admins only
    if isinstance(event, events.ArticleEvent | events.CategoryEvent):
        return KNOWLEDGE_BASE, ""
    return "", ""


def record(event: events.Event) -> None:
    department, previous = _scope(event)
    details = {key: value for key, value in event.to_data().items() if key not in NOT_DETAILS}
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the delivery's transaction usable
            AuditEntry.objects.create(
                id=event.id,
                at=event.at,
                actor_id=event.actor_id,
                action=event.name,
                object_type=event.target_type,
                object_id=event.target_id,
                department_id=department,
                previous_department_id=previous,
                changes=dict(event.changes),
                details=details,
                request_id=event.request_id[:64],
                ip=event.ip,
            )
    except IntegrityError:
        return  # recorded already (the event was delivered before its delivery could be noted)


def connect() -> None:
    dispatch.register("audit", record, events=[events.Event], atomic=True)
