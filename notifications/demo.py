"""seed_demo's part for notifications: a Network ticket already past its first-reply due time, so
that `make run` shows an escalation with no command: the server's SLA job escalates it as it
starts, and the Network lead gets an in-app notification, an email and a live-feed message.

It runs after the AI's demo (INSTALLED_APPS order), so the router never trains on it. The ticket
is written as tickets.services writes one (a document and its ticket.created through
helpdesk.outbox), since notifications does not call another app's services (decision 0013);
only its creation time lies in the past. Idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from accounts.models import Department, User
from helpdesk import events, outbox
from tickets.models import Priority, SlaPolicy, Ticket

# A topic no other demo ticket is near, so that it never joins a group in the AI's knowledge-gap report.
TITLE = "Switch in the second-floor comms room keeps beeping"
DESCRIPTION = "The network switch in the second-floor comms room beeps every few seconds; one of its lights is orange."
REQUESTER = "employee2@example.com"  # accounts.demo's second employee
DEPARTMENT = "Network"
OPENED_AGO = timedelta(hours=3)


def _created(ticket: Ticket) -> events.TicketEvent:
    return events.TicketCreated(
        target_id=ticket.pk,
        actor_id=ticket.requester_id,
        title=ticket.title,
        status=ticket.status,
        priority=ticket.priority,
        requester_id=ticket.requester_id,
        department_id=ticket.department_id,
        assignee_id=None,
        deleted=False,
        version=ticket.version,
        previous_department_id=ticket.department_id,
        previous_assignee_id=None,
        previous_deleted=False,
        at=ticket.created_at,
    )


def seed(*, write: Callable[[str], object], quiet: bool = False) -> None:
    requester = User.objects.filter(email=REQUESTER).first()
    department = Department.objects.filter(name=DEPARTMENT).first()
    policy = SlaPolicy.objects.filter(priority=Priority.HIGH).first()
    if requester is None or department is None or policy is None:
        return
    if not Ticket.objects.filter(requester=requester, title=TITLE).exists():
        opened = timezone.now() - OPENED_AGO
        ticket = Ticket(
            title=TITLE,
            description=DESCRIPTION,
            priority=Priority.HIGH,
            priority_rank=Priority.rank(Priority.HIGH),
            requester=requester,
            department=department,
            public_text=f"{TITLE}\n{DESCRIPTION}",
            created_at=opened,
            updated_at=opened,
            first_response_due_at=opened + timedelta(minutes=policy.first_response_minutes),
            resolution_due_at=opened + timedelta(minutes=policy.resolution_minutes),
        )
        outbox.insert(ticket, event=_created)
    write(
        f"Overdue demo ticket: {TITLE!r} ({DEPARTMENT}, high priority, opened {OPENED_AGO.seconds // 3600} hours "
        "ago, no reply yet): the server's SLA job escalates it as it starts."
    )
