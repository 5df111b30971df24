"""/api/v1/tickets/: the role matrix of every endpoint, and what each caller sees and may change."""

import pytest
from django.test import override_settings

from accounts.models import Role
from audit.models import AuditEntry
from helpdesk import events
from tests.factories import UserFactory
from tests.helpers import assert_problem, captured_events, delivered, matrix
from tickets import services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets/"

# Expected status per caller, in the order of WHO:
# anonymous, employee (the requester), agent_other (another department), agent, lead, admin
LIST = [401, 200, 200, 200, 200, 200]
SHOW = [401, 200, 404, 200, 200, 200]
CREATE = [401, 201, 201, 201, 201, 201]
EDIT_WORDING = [401, 200, 404, 200, 200, 200]
EDIT_PRIORITY = [401, 403, 404, 200, 200, 200]
DELETE = [401, 403, 404, 403, 403, 204]
RESOLVE = [401, 200, 404, 200, 200, 200]
TAKE = [401, 403, 404, 200, 200, 400]  # an admin has no department: not an agent of this one
ASSIGN_AGENT = [401, 403, 404, 403, 200, 200]
ESCALATE = [401, 403, 404, 200, 200, 200]
READ_COMMENTS = [401, 200, 404, 200, 200, 200]
REPLY = [401, 201, 404, 201, 201, 201]
NOTE = [401, 403, 404, 201, 201, 201]


@pytest.fixture
def ticket(people, department):
    return services.ticket_create(
        requester=people["employee"],
        title="VPN drops every hour",
        description="Since Monday the VPN disconnects about every hour.",
        department=department,
    )


def detail(ticket) -> str:
    return f"{URL}{ticket.pk}/"


@pytest.mark.parametrize("who,expected", matrix(LIST))
def test_list_matrix(client_for, ticket, who, expected):
    response = client_for(who).get(URL)
    assert response.status_code == expected
    if expected == 200:
        ids = [row["id"] for row in response.json()["results"]]
        assert ids == ([] if who == "agent_other" else [ticket.pk])


@pytest.mark.parametrize("who,expected", matrix(SHOW))
def test_show_matrix(client_for, ticket, who, expected):
    response = client_for(who).get(detail(ticket))
    assert response.status_code == expected
    if expected == 404:
        assert_problem(response, 404, "not_found")
    elif expected == 200:
        assert response.json()["title"] == "VPN drops every hour"


@pytest.mark.parametrize("who,expected", matrix(CREATE))
def test_create_matrix(client_for, people, who, expected):
    body = {"title": "Printer jammed", "description": "Third floor printer shows error 13.", "priority": "low"}
    response = client_for(who).post(URL, body, format="json")
    assert response.status_code == expected
    if expected == 201:
        created = Ticket.objects.get(pk=response.json()["id"])
        assert created.requester == people[who]
        assert (created.department, created.assignee, created.status) == (None, None, Status.NEW)
        assert response.json()["department"] is None  # waits for routing
    else:
        assert not Ticket.objects.filter(title="Printer jammed").exists()


@pytest.mark.parametrize("who,expected", matrix(EDIT_WORDING))
def test_edit_title_matrix(client_for, ticket, who, expected):
    response = client_for(who).patch(detail(ticket), {"title": "VPN drops at 9:00"}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert (ticket.title == "VPN drops at 9:00") == (expected == 200)


@pytest.mark.parametrize("who,expected", matrix(EDIT_PRIORITY))
def test_edit_priority_matrix(client_for, ticket, who, expected):
    response = client_for(who).patch(detail(ticket), {"priority": "urgent"}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert (ticket.priority == "urgent") == (expected == 200)


@pytest.mark.parametrize("who,expected", matrix(DELETE))
def test_delete_matrix(client_for, people, ticket, who, expected):
    response = client_for(who).delete(detail(ticket))
    assert response.status_code == expected
    ticket.refresh_from_db()
    if expected == 204:
        assert ticket.deleted_at is not None and ticket.deleted_by == people["admin"]
    else:
        assert ticket.deleted_at is None


@pytest.mark.parametrize("who,expected", matrix(RESOLVE))
def test_resolve_matrix(client_for, ticket, who, expected):
    response = client_for(who).post(f"{detail(ticket)}transition/", {"status": "resolved"}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert (ticket.status == Status.RESOLVED) == (expected == 200)


@pytest.mark.parametrize("who,expected", matrix(TAKE))
def test_take_matrix(client_for, people, ticket, who, expected):
    response = client_for(who).post(f"{detail(ticket)}assign/", {"assignee": "me"}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    if expected == 200:
        assert ticket.assignee == people[who] and ticket.status == Status.OPEN
    else:
        assert ticket.assignee is None and ticket.status == Status.NEW


@pytest.mark.parametrize("who,expected", matrix(ASSIGN_AGENT))
def test_assign_matrix(client_for, department, ticket, who, expected):
    colleague = UserFactory(role=Role.AGENT, department=department)
    response = client_for(who).post(f"{detail(ticket)}assign/", {"assignee": colleague.pk}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert (ticket.assignee == colleague) == (expected == 200)


@pytest.mark.parametrize("who,expected", matrix(ESCALATE))
def test_escalate_matrix(client_for, ticket, who, expected):
    response = client_for(who).post(f"{detail(ticket)}escalate/", {"reason": "CEO's laptop"}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert ticket.escalated == (expected == 200)
    if expected == 200:
        assert ticket.escalation_reason == "CEO's laptop" and response.json()["escalated"] is True


@pytest.mark.parametrize("who,expected", matrix(READ_COMMENTS))
def test_read_comments_matrix(client_for, people, ticket, who, expected):
    services.comment_add(actor=people["agent"], ticket=ticket, body="Try the new profile.")
    response = client_for(who).get(f"{detail(ticket)}comments/")
    assert response.status_code == expected
    if expected == 200:
        assert [c["body"] for c in response.json()["results"]] == ["Try the new profile."]


@pytest.mark.parametrize("who,expected", matrix(REPLY))
def test_reply_matrix(client_for, ticket, who, expected):
    response = client_for(who).post(f"{detail(ticket)}comments/", {"body": "Any news?"}, format="json")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert len(ticket.comments) == (1 if expected == 201 else 0)


@pytest.mark.parametrize("who,expected", matrix(NOTE))
def test_internal_note_matrix(client_for, ticket, who, expected):
    response = client_for(who).post(
        f"{detail(ticket)}comments/", {"body": "Firewall idle timeout?", "internal": True}, format="json"
    )
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert len(ticket.comments) == (1 if expected == 201 else 0)
    if expected == 403:
        assert_problem(response, 403, "internal_not_allowed")


def test_employee_never_sees_internal_notes(client_for, people, ticket):
    services.comment_add(actor=people["agent"], ticket=ticket, body="We are on it.")
    services.comment_add(actor=people["agent"], ticket=ticket, body="Suspect the zebrafirewall rule.", internal=True)
    employee, agent = client_for("employee"), client_for("agent")

    shown = employee.get(detail(ticket)).json()
    assert [c["body"] for c in shown["comments"]] == ["We are on it."]
    assert shown["comment_count"] == 1
    assert [c["body"] for c in employee.get(f"{detail(ticket)}comments/").json()["results"]] == ["We are on it."]
    assert employee.get(URL).json()["results"][0]["comment_count"] == 1
    assert employee.get(URL, {"q": "zebrafirewall"}).json()["count"] == 0

    assert agent.get(detail(ticket)).json()["comment_count"] == 2
    assert len(agent.get(detail(ticket)).json()["comments"]) == 2
    assert agent.get(URL, {"q": "zebrafirewall"}).json()["count"] == 1


def test_stale_version_is_409_and_changes_nothing(client_for, ticket):
    agent = client_for("agent")
    read = agent.get(detail(ticket)).json()
    assert (
        agent.patch(detail(ticket), {"priority": "high", "version": read["version"]}, format="json").status_code == 200
    )
    response = agent.patch(detail(ticket), {"title": "Mine wins", "version": read["version"]}, format="json")
    assert_problem(response, 409, "stale_version")
    ticket.refresh_from_db()
    assert ticket.title == "VPN drops every hour" and ticket.priority == "high"


def test_patch_refuses_fields_it_does_not_take(client_for, ticket):
    response = client_for("agent").patch(detail(ticket), {"status": "closed", "assignee": None}, format="json")
    body = assert_problem(response, 400)
    assert set(body["errors"]) == {"status", "assignee"}
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_requester_cannot_reword_a_resolved_ticket(client_for, people, ticket):
    services.ticket_transition(actor=people["agent"], ticket=ticket, status=Status.RESOLVED)
    response = client_for("employee").patch(detail(ticket), {"title": "Reworded"}, format="json")
    assert_problem(response, 403)


def test_illegal_move_is_409_invalid_transition(client_for, ticket):
    response = client_for("employee").post(f"{detail(ticket)}transition/", {"status": "pending"}, format="json")
    assert_problem(response, 409, "invalid_transition")
    response = client_for("agent").post(f"{detail(ticket)}transition/", {"status": "new"}, format="json")
    assert_problem(response, 409, "invalid_transition")


def test_unknown_status_is_400(client_for, ticket):
    response = client_for("agent").post(f"{detail(ticket)}transition/", {"status": "done"}, format="json")
    assert "status" in assert_problem(response, 400)["errors"]


@pytest.mark.parametrize(
    "target", ["employee", "agent_other", "admin", "unavailable", "inactive", "nobody"], ids=lambda t: t
)
def test_assigning_outside_the_departments_agents_is_400(client_for, people, department, ticket, target):
    extra = {
        "unavailable": UserFactory(role=Role.AGENT, department=department, is_available=False),
        "inactive": UserFactory(role=Role.AGENT, department=department, is_active=False),
    }
    assignee = "6745a1c2e4b0a1b2c3d4e5ff" if target == "nobody" else (extra.get(target) or people[target]).pk
    response = client_for("lead").post(f"{detail(ticket)}assign/", {"assignee": assignee}, format="json")
    assert "assignee" in assert_problem(response, 400)["errors"]
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_lead_unassigns(client_for, people, ticket):
    services.ticket_assign(actor=people["agent"], ticket=ticket, assignee=people["agent"])
    response = client_for("lead").post(f"{detail(ticket)}assign/", {"assignee": None}, format="json")
    assert response.status_code == 200 and response.json()["assignee"] is None


def test_escalate_needs_a_reason(client_for, ticket):
    assert (
        "reason"
        in assert_problem(client_for("agent").post(f"{detail(ticket)}escalate/", {}, format="json"), 400)["errors"]
    )


def test_leads_see_triage_and_route_it(client_for, people, department):
    triage = services.ticket_create(requester=people["employee"], title="Something broke", description="?")
    assert triage.pk not in [t["id"] for t in client_for("agent").get(URL).json()["results"]]
    lead = client_for("lead")
    assert [t["id"] for t in lead.get(URL, {"department": "none"}).json()["results"]] == [triage.pk]
    response = lead.patch(detail(triage), {"department": department.pk}, format="json")
    assert response.status_code == 200 and response.json()["department"]["id"] == department.pk
    assert triage.pk in [t["id"] for t in client_for("agent").get(URL).json()["results"]]


def test_agents_cannot_route(client_for, ticket, other_department):
    response = client_for("agent").patch(detail(ticket), {"department": other_department.pk}, format="json")
    assert_problem(response, 403)


def test_rerouting_drops_the_old_assignee(client_for, people, ticket, other_department):
    services.ticket_assign(actor=people["agent"], ticket=ticket, assignee=people["agent"])
    response = client_for("admin").patch(detail(ticket), {"department": other_department.pk}, format="json")
    assert response.json()["assignee"] is None


def test_deleted_ticket_is_gone_for_everyone_and_audited(client_for, people, ticket):
    with captured_events(events.TicketDeleted) as seen, delivered():
        assert client_for("admin").delete(detail(ticket)).status_code == 204
    assert [(event.target_id, event.actor_id) for event in seen] == [(ticket.pk, people["admin"].pk)]
    for who in ("employee", "agent", "admin"):
        assert client_for(who).get(detail(ticket)).status_code == 404
        assert client_for(who).get(URL).json()["count"] == 0
    assert Ticket.objects.filter(pk=ticket.pk).exists()  # soft: kept, restorable in admin
    entry = AuditEntry.objects.get(action="ticket.deleted", object_id=ticket.pk)
    assert entry.actor == people["admin"] and entry.department_id == ticket.department_id


def test_create_validates_and_loses_nothing(client_for):
    employee = client_for("employee")
    body = assert_problem(employee.post(URL, {"title": "", "priority": "whenever"}, format="json"), 400)
    assert set(body["errors"]) == {"title", "description", "priority"}
    body = assert_problem(employee.post(URL, {"title": "T", "description": "D", "colour": "red"}, format="json"), 400)
    assert set(body["errors"]) == {"colour"}
    assert Ticket.objects.count() == 0


@override_settings(RATE_LIMITS={"ticket_create_user": "2/m"})
def test_ticket_creation_is_rate_limited_per_user(client_for):
    employee = client_for("employee")
    body = {"title": "Mouse", "description": "Broken."}
    assert [employee.post(URL, body, format="json").status_code for _ in range(2)] == [201, 201]
    response = employee.post(URL, body, format="json")
    assert_problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert client_for("agent").post(URL, body, format="json").status_code == 201  # per user, not global


def test_detail_lists_what_the_caller_may_do(client_for, ticket):
    employee_actions = client_for("employee").get(detail(ticket)).json()["actions"]
    assert employee_actions["transitions"] == ["closed", "resolved"]
    assert employee_actions["can_write_internal"] is False
    agent_actions = client_for("agent").get(detail(ticket)).json()["actions"]
    assert agent_actions["can_take"] is True and agent_actions["can_assign"] is False
