"""The intake part of a person's export and erasure (helpdesk.personal_data; decision 0027): the
record of the emails they sent (address and subject). Erasure blanks both and keeps the row, so a
provider's late retry of one of their messages is still recognised and makes nothing. The messages
themselves are kept as `original-message.eml` on their tickets, which erasure keeps (decision 0027)."""

from __future__ import annotations

from typing import Any

from helpdesk import personal_data
from helpdesk.personal_data import Subject
from intake.models import InboundMessage


def _theirs(subject: Subject):
    return InboundMessage.objects.filter(sender__in=[email.lower() for email in subject.emails])


def export_intake(subject: Subject) -> dict[str, Any]:
    rows = _theirs(subject).order_by("received_at", "id")
    return {
        "inbound_emails": [
            {
                "received_at": row.received_at.isoformat(),
                "sender": row.sender,
                "subject": row.subject,
                "source": row.source,
                "outcome": row.outcome,
                "reason": row.reason,
                "ticket_id": row.ticket_id,
            }
            for row in rows
        ]
    }


def erase_intake(subject: Subject) -> dict[str, int]:
    if not subject.emails:
        return {"intake_inboundmessage": 0}
    return {"intake_inboundmessage": _theirs(subject).update(sender="", subject="")}


def register() -> None:
    personal_data.register("intake", export=export_intake, erase=erase_intake)
