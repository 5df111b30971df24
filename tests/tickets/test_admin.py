"""Django admin for tickets: leads see their department, changes go through the services, bulk
actions, SLA filter and state, comments shown inline and written on the page, soft delete and
restore; SLA policies. Driven as a lead (or admin) through the real admin pages."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from tests.factories import UserFactory
from tests.helpers import browser_for
from tickets import services
from tickets.models import SlaPolicy, Status, Ticket

pytestmark = pytest.mark.django_db

LIST = "/admin/tickets/ticket/"


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
        "tags": ", ".join(ticket.tags),
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
    response = browser_for(people["lead"]).get(change_url(tickets["theirs"]))
    assert response.status_code == 302 and response["Location"] == "/admin/"  # "does not exist", as for none


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


# --- the lead's daily tool: choices in reach, tags, replies and notes, next due -----------------


def options(page: str, name: str) -> set[str]:
    """The values offered by the <select name=...> of a page (the blank choice left out)."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no <select name={name!r}> on the page"
    return {value for value in re.findall(r'<option value="([^"]*)"', select.group(1)) if value}


@pytest.fixture
def more_people(people, department, other_department):
    """An inactive agent and an employee of our department, besides the shared people."""
    return {
        "inactive_agent": UserFactory(role=Role.AGENT, department=department, is_active=False),
        "our_employee": UserFactory(role=Role.EMPLOYEE, department=department),
        "other_lead": UserFactory(role=Role.LEAD, department=other_department),
    }


def test_list_assignee_choices_are_the_active_agents_of_the_leads_department(people, more_people, tickets):
    response = browser_for(people["lead"]).get(LIST)
    assert response.status_code == 200
    assert options(response.content.decode(), "assignee") == {people["agent"].pk, people["lead"].pk}


def test_admins_may_choose_any_active_agent(people, more_people, tickets):
    page = browser_for(people["admin"]).get(LIST).content.decode()
    agents = {people["agent"].pk, people["lead"].pk, people["agent_other"].pk, more_people["other_lead"].pk}
    assert options(page, "assignee") == agents


def test_ticket_page_offers_the_agents_of_the_tickets_department_within_the_leads_rights(
    people, more_people, department, tickets
):
    lead = browser_for(people["lead"])
    ours = lead.get(change_url(tickets["ours"]))
    assert ours.status_code == 200
    assert options(ours.content.decode(), "assignee") == {people["agent"].pk, people["lead"].pk}
    # triage: the agents of the department the lead may route it to (their own)
    triage = lead.get(change_url(tickets["triage"])).content.decode()
    assert options(triage, "assignee") == {people["agent"].pk, people["lead"].pk}
    assert options(triage, "department") == {department.pk}
    # assigned to the lead in another department: they work it but do not assign there
    theirs = tickets["theirs"]
    Ticket.objects.filter(pk=theirs.pk).update(assignee=people["lead"])
    page = lead.get(change_url(theirs)).content.decode()
    assert options(page, "assignee") == {people["lead"].pk}


def test_a_choice_outside_the_leads_department_is_refused_with_a_message(people, tickets):
    response = browser_for(people["lead"]).post(
        LIST,
        {"action": "assign_to_chosen", "_selected_action": [tickets["ours"].pk], "assignee": people["agent_other"].pk},
        follow=True,
    )
    assert response.status_code == 200
    assert "Choose one of the agents offered" in response.content.decode()
    tickets["ours"].refresh_from_db()
    assert tickets["ours"].assignee is None


def test_department_filter_offers_the_leads_own_department_and_triage(people, department, other_department, tickets):
    page = browser_for(people["lead"]).get(LIST).content.decode()
    assert f"department__id__exact={department.pk}" in page
    assert f"department__id__exact={other_department.pk}" not in page
    assert "department__isnull=True" in page and "Triage (none yet)" in page
    admin_page = browser_for(people["admin"]).get(LIST).content.decode()
    assert f"department__id__exact={department.pk}" in admin_page
    assert f"department__id__exact={other_department.pk}" in admin_page


def test_tags_are_edited_as_comma_separated_text(people, tickets):
    ticket = services.ticket_update(actor=people["lead"], ticket=tickets["ours"], tags=["vpn", "wi-fi"])
    lead = browser_for(people["lead"])
    page = lead.get(change_url(ticket)).content.decode()
    assert 'name="tags" value="vpn, wi-fi"' in page
    response = lead.post(change_url(ticket), form_data(ticket, tags=" VPN ,Remote  Access,, vpn "))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.tags == ["vpn", "remote access"]
    assert 'name="tags" value="vpn, remote access"' in lead.get(change_url(ticket)).content.decode()


def test_a_bad_tag_is_a_form_error_and_nothing_is_saved(people, tickets):
    ticket = tickets["ours"]
    response = browser_for(people["lead"]).post(change_url(ticket), form_data(ticket, tags="x" * 51))
    assert response.status_code == 200
    assert "too long" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.tags == [] and ticket.version == 1


def comment_url(ticket) -> str:
    return f"{LIST}{ticket.pk}/comment/"


def test_lead_adds_a_public_reply_and_an_internal_note_from_the_ticket_page(people, client_for, tickets):
    ticket = tickets["ours"]
    lead = browser_for(people["lead"])
    page = lead.get(change_url(ticket)).content.decode()
    assert f'action="{comment_url(ticket)}"' in page and 'name="internal"' in page

    response = lead.post(comment_url(ticket), {"body": "Please restart the VPN client."})
    assert response.status_code == 302 and response["Location"] == change_url(ticket)
    response = lead.post(
        comment_url(ticket), {"body": "Gateway logs show idle timeouts.", "internal": "on"}, follow=True
    )
    assert response.status_code == 200
    assert "Internal note added." in response.content.decode()

    ticket.refresh_from_db()
    assert [(c["body"], c["internal"]) for c in ticket.comments] == [
        ("Please restart the VPN client.", False),
        ("Gateway logs show idle timeouts.", True),
    ]
    assert ticket.first_responded_at is not None  # the public reply stopped the first-response clock
    assert (ticket.public_comment_count, ticket.internal_comment_count) == (1, 1)
    # the requester sees the reply, never the note; the page shows both, the note marked
    seen = client_for("employee").get(f"/api/v1/tickets/{ticket.pk}/comments/").json()
    bodies = [c["body"] for c in seen.get("results", seen)]
    assert bodies == ["Please restart the VPN client."]
    page = lead.get(change_url(ticket)).content.decode()
    assert "Gateway logs show idle timeouts." in page and "internal note" in page


def test_a_refused_comment_is_an_error_message(people, tickets):
    ticket = tickets["ours"]
    response = browser_for(people["lead"]).post(comment_url(ticket), {"body": "   "}, follow=True)
    assert response.status_code == 200
    assert "Not added: A comment needs some text." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.comments == []


def test_comments_only_on_tickets_the_lead_may_see_and_only_by_post(people, tickets):
    lead = browser_for(people["lead"])
    assert lead.post(comment_url(tickets["theirs"]), {"body": "Hello"}).status_code == 404
    assert lead.get(comment_url(tickets["ours"])).status_code == 405
    assert browser_for(people["agent"]).post(comment_url(tickets["ours"]), {"body": "Hi"}).status_code == 302
    for ticket in (tickets["theirs"], tickets["ours"]):
        ticket.refresh_from_db()
        assert ticket.comments == []


def sort_link(page: str, column: str) -> str:
    header = re.search(rf'<th scope="col" class="sortable column-{column}[^"]*">(.*?)</th>', page, re.S)
    assert header, f"column {column} is not sortable"
    return re.search(r'<a href="(\?o=[^"]+)"', header.group(1)).group(1)


def test_next_due_column_shows_the_earliest_due_time_that_applies_and_sorts(people, department, tickets):
    make = services.ticket_create
    urgent = make(requester=people["employee"], title="Urgent: outage", description="d", department=department)
    urgent = services.ticket_update(actor=people["lead"], ticket=urgent, priority="urgent")
    answered = tickets["ours"]
    services.comment_add(actor=people["agent"], ticket=answered, body="Looking at it.")
    answered.refresh_from_db()
    closed = make(requester=people["employee"], title="Closed: mouse", description="d", department=department)
    services.ticket_transition(actor=people["lead"], ticket=closed, status=Status.CLOSED)

    lead = browser_for(people["lead"])
    page = lead.get(LIST).content.decode()
    assert "column-next_due" in page and "Next due" in page
    stamp = timezone.localtime(urgent.first_response_due_at).strftime("%d %b %H:%M")
    assert stamp in page  # unanswered: the first response is due first
    assert timezone.localtime(answered.resolution_due_at).strftime("%d %b %H:%M") in page  # answered: resolution

    ascending = lead.get(LIST + sort_link(page, "next_due"))
    assert ascending.status_code == 200
    titles = re.findall(r'class="short-text" title="([^"]+)"', ascending.content.decode())
    assert titles.index("Urgent: outage") < titles.index("Triage: odd") < titles.index("Ours: VPN")
    assert titles[-1] == "Closed: mouse"  # nothing due: after everything that is
    descending = lead.get(LIST + sort_link(ascending.content.decode(), "next_due"))
    assert re.findall(r'class="short-text" title="([^"]+)"', descending.content.decode()) == titles[::-1]


def test_long_titles_are_cut_in_the_list_with_the_full_title_as_tooltip(people, department):
    title = "VPN drops every few minutes " * 7
    services.ticket_create(requester=people["employee"], title=title.strip(), description="d", department=department)
    page = browser_for(people["lead"]).get(LIST).content.decode()
    shown = re.search(r'class="short-text" title="[^"]+">([^<]+)<', page).group(1)
    assert len(shown) <= 60 and shown.endswith("…")
    assert f'title="{title.strip()}"' in page


def test_lead_routes_a_triage_ticket_and_assigns_it_in_one_save(people, department, tickets):
    ticket = tickets["triage"]
    response = browser_for(people["lead"]).post(
        change_url(ticket), form_data(ticket, department=department.pk, assignee=people["agent"].pk)
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.department, ticket.assignee, ticket.status) == (department, people["agent"], Status.OPEN)
