"""The activity log records every ticket event; leads read their department's entries in admin."""

import pytest

from audit.models import AuditEntry
from tests.helpers import browser_for
from tickets import services

pytestmark = pytest.mark.django_db


def test_each_ticket_write_leaves_an_entry(people, department):
    agent = people["agent"]
    ticket = services.ticket_create(requester=people["employee"], title="VPN", description="d", department=department)
    ticket = services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
    services.comment_add(actor=agent, ticket=ticket, body="note", internal=True)
    services.ticket_escalate(actor=None, ticket=ticket, reason="SLA breached")
    entries = list(AuditEntry.objects.filter(object_id=ticket.pk).order_by("at", "id"))
    assert [e.action for e in entries] == ["ticket.created", "ticket.assigned", "comment.added", "ticket.escalated"]
    assert entries[0].actor == people["employee"] and entries[-1].actor is None
    assert entries[2].details["internal"] is True and entries[-1].details["reason"] == "SLA breached"


def test_leads_read_their_departments_entries_only(people, department, other_department):
    ours = services.ticket_create(requester=people["employee"], title="Ours", description="d", department=department)
    theirs = services.ticket_create(
        requester=people["employee"], title="Theirs", description="d", department=other_department
    )
    browser = browser_for(people["lead"])
    page = browser.get("/admin/audit/auditentry/").content.decode()
    assert ours.pk in page and theirs.pk not in page
    assert browser.get("/admin/audit/auditentry/add/").status_code == 403
