"""Django admin for tickets: leads see their department, changes go through the services, bulk
actions, SLA filter and state, comments shown inline, soft delete and restore; SLA policies."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory
from tickets import services
from tickets.models import SlaPolicy, Status, Ticket

pytestmark = pytest.mark.django_db

LIST = "/admin/tickets/ticket/"


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tickets(people, department, other_department):
    make = services.ticket_create
    ours = make(requester=people["employee"], title="Ours: VPN", description="d", department=department)
    theirs = make(requester=people["employee"], title="Theirs: printer", description="d", department=other_department)
    triage = make(requester=people["employee"], title="Triage: odd", description="d")
    return {"ours": ours, "theirs": theirs, "triage": triage}


def change_url(ticket) -> str:
    return f"{LIST}{ticket.pk}/change/"


def form_data(ticket, **overrides) -> dict:
    data = {
        "title": ticket.title,
        "description": ticket.description,
        "priority": ticket.priority,
        "category": ticket.category,
        "tags": "[]",
        "department": ticket.department_id or "",
        "status": ticket.status,
        "assignee": ticket.assignee_id or "",
    }
    data.update(overrides)
    return data


def test_lead_sees_their_department_and_triage_only(people, tickets):
    page = browser_for(people["lead"]).get(LIST).content.decode()
    assert "Ours: VPN" in page and "Triage: odd" in page
    assert "Theirs: printer" not in page
    assert browser_for(people["lead"]).get(change_url(tickets["theirs"])).status_code in (302, 404)


def test_agents_and_employees_have_no_admin(people, tickets):
    for who in ("employee", "agent"):
        assert browser_for(people[who]).get(LIST).status_code == 302


def test_change_form_shows_comments_inline_with_internal_notes_marked(people, tickets):
    services.comment_add(actor=people["employee"], ticket=tickets["ours"], body="It dropped again at 10:05")
    services.comment_add(actor=people["agent"], ticket=tickets["ours"], body="Gateway idle timeout", internal=True)
    page = browser_for(people["lead"]).get(change_url(tickets["ours"])).content.decode()
    assert "It dropped again at 10:05" in page and "Gateway idle timeout" in page
    assert "internal note" in page


def test_lead_edits_go_through_the_services(people, department, tickets):
    ticket = tickets["ours"]
    response = browser_for(people["lead"]).post(
        change_url(ticket), form_data(ticket, priority="urgent", assignee=people["agent"].pk, status="pending")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee, ticket.status) == ("urgent", people["agent"], Status.PENDING)
    assert ticket.priority_rank == 3 and ticket.version == 4  # three compare-and-sets, one per service
    assert ticket.sla_paused_at is not None  # the SLA clock paused as the API would have done


def test_lead_cannot_make_an_illegal_move(people, tickets):
    ticket = tickets["ours"]
    services.ticket_transition(actor=people["agent"], ticket=ticket, status=Status.CLOSED)
    ticket.refresh_from_db()
    response = browser_for(people["lead"]).post(change_url(ticket), form_data(ticket, status="pending"))
    assert response.status_code == 200 and "cannot move to pending" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_bulk_assign_and_close(people, department, tickets):
    lead = browser_for(people["lead"])
    extra = services.ticket_create(requester=people["employee"], title="Second", description="d", department=department)
    response = lead.post(
        LIST,
        {
            "action": "assign_to_chosen",
            "_selected_action": [tickets["ours"].pk, extra.pk, tickets["triage"].pk],
            "assignee": people["agent"].pk,
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Assigned 2 ticket(s)." in page and "Skipped Triage: odd" in page
    assert set(Ticket.objects.filter(assignee=people["agent"]).values_list("pk", flat=True)) == {
        tickets["ours"].pk,
        extra.pk,
    }
    lead.post(LIST, {"action": "close", "_selected_action": [tickets["ours"].pk, extra.pk]})
    assert set(Ticket.objects.filter(status=Status.CLOSED).values_list("pk", flat=True)) == {
        tickets["ours"].pk,
        extra.pk,
    }


def test_sla_filter_and_state(people, department, tickets):
    late = tickets["ours"]
    Ticket.objects.filter(pk=late.pk).update(first_response_due_at=timezone.now() - timedelta(minutes=5))
    page = browser_for(people["admin"]).get(LIST, {"sla": "breached"}).content.decode()
    assert "Ours: VPN" in page and "Theirs: printer" not in page
    assert "breached" in page


def test_only_admins_soft_delete_and_restore(people, tickets):
    ticket = tickets["ours"]
    lead_page = browser_for(people["lead"]).get(LIST).content.decode()
    assert "soft_delete" not in lead_page
    admin = browser_for(people["admin"])
    admin.post(LIST, {"action": "soft_delete", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.deleted_at is not None and ticket.deleted_by == people["admin"]
    assert "Ours: VPN" not in admin.get(LIST).content.decode()  # hidden by default
    assert "Ours: VPN" in admin.get(LIST, {"deleted": "yes"}).content.decode()
    admin.post(f"{LIST}?deleted=yes", {"action": "restore", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.deleted_at is None
    assert browser_for(people["lead"]).get(change_url(ticket)).status_code == 200


def test_nobody_hard_deletes_or_adds_tickets_in_admin(people, tickets):
    admin = browser_for(people["admin"])
    assert admin.get(f"{LIST}add/").status_code == 403
    assert admin.get(f"{LIST}{tickets['ours'].pk}/delete/").status_code == 403


def test_admins_edit_sla_policies_and_new_tickets_follow(people, department):
    policy = SlaPolicy.objects.get(priority="low")
    admin = browser_for(people["admin"])
    response = admin.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {
            "priority": "low",
            "first_response_minutes": 7,
            "resolution_minutes": 70,
            "warning_minutes": 5,
            "pause_when_pending": "on",
        },
    )
    assert response.status_code == 302
    ticket = services.ticket_create(
        requester=people["employee"], title="Mouse", description="d", department=department, priority="low"
    )
    assert ticket.resolution_due_at - ticket.created_at == timedelta(minutes=70)


def test_leads_read_sla_policies_but_do_not_change_them(people):
    policy = SlaPolicy.objects.get(priority="low")
    lead = browser_for(people["lead"])
    assert lead.get("/admin/tickets/slapolicy/").status_code == 200
    lead.post(f"/admin/tickets/slapolicy/{policy.pk}/change/", {"priority": "low", "first_response_minutes": 1})
    policy.refresh_from_db()
    assert policy.first_response_minutes != 1


def test_a_lead_of_another_department_cannot_assign_ours(people, department, other_department, tickets):
    other_lead = UserFactory(role=30, department=other_department)
    browser_for(other_lead).post(
        LIST, {"action": "assign_to_chosen", "_selected_action": [tickets["ours"].pk], "assignee": people["agent"].pk}
    )
    tickets["ours"].refresh_from_db()
    assert tickets["ours"].assignee is None
