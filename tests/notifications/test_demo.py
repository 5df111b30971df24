"""seed_demo's overdue ticket: the SLA job escalates it with no command (the server runs the job as it
starts), and the Network lead is told in the app and by email."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts import demo as accounts_demo
from helpdesk import jobs
from notifications import demo
from notifications.models import Notification, OutgoingEmail
from tests.helpers import delivered
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_overdue_demo_ticket_is_escalated_by_the_job_and_the_lead_is_told():
    accounts_demo.seed(write=lambda line: None, quiet=True)
    out: list[str] = []
    demo.seed(write=out.append)
    demo.seed(write=out.append)  # idempotent, and says the same
    assert out[0] == out[1] and demo.TITLE in out[0] and "->" not in out[0]
    [ticket] = Ticket.objects.filter(title=demo.TITLE)
    assert ticket.department.name == "Network" and not ticket.escalated and ticket.requester.email == demo.REQUESTER
    assert ticket.first_response_due_at < timezone.now()
    with delivered():
        assert jobs.run_exclusive("tickets.escalate_due")  # what the server's jobs thread runs at start
    ticket.refresh_from_db()
    assert ticket.escalated and ticket.escalation_reason.startswith("SLA breached: first response was due")
    lead = accounts_demo.user("lead.network")
    assert Notification.objects.get(user=lead).kind == "escalated"
    assert OutgoingEmail.objects.get(user=lead).subject == f"[Helpdesk AI] Escalated: {demo.TITLE}"
