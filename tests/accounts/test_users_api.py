"""/api/v1/users/: admins manage; agents and leads read their own department; others nothing."""

import pytest

from accounts.models import Role, User
from tests.factories import UserFactory
from tests.helpers import assert_problem, matrix

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/"

# Expected status per caller, in the order of WHO:
# anonymous, employee, agent_other, agent, lead, admin
LIST = [401, 403, 200, 200, 200, 200]
SHOW_COLLEAGUE = [401, 403, 404, 200, 200, 200]  # a user of the agent's own department
CREATE = [401, 403, 403, 403, 403, 201]
CHANGE = [401, 403, 403, 403, 403, 200]
DEACTIVATE = [401, 403, 403, 403, 403, 204]


@pytest.fixture
def colleague(department):
    return UserFactory(email="colleague@example.com", role=Role.AGENT, department=department)


@pytest.mark.parametrize("who,expected", matrix(LIST))
def test_list_matrix(client_for, who, expected):
    response = client_for(who).get(URL)
    assert response.status_code == expected


@pytest.mark.parametrize("who,expected", matrix(SHOW_COLLEAGUE))
def test_show_matrix(client_for, colleague, who, expected):
    response = client_for(who).get(f"{URL}{colleague.pk}/")
    assert response.status_code == expected
    if expected == 404:
        assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("who,expected", matrix(CREATE))
def test_create_matrix(client_for, department, who, expected):
    body = {
        "email": "Grace@Example.com",
        "password": "violet-harbour-1842",
        "first_name": "Grace",
        "role": "agent",
        "department": department.pk,
        "skills": ["VPN", "vpn", "Wi-Fi "],
    }
    response = client_for(who).post(URL, body, format="json")
    assert response.status_code == expected
    created = User.objects.filter(email="grace@example.com").first()
    if expected == 201:
        assert response.json()["role"] == "agent"
        assert response.json()["department"] == department.pk
        assert created.skills == ["vpn", "wi-fi"]
        assert created.check_password("violet-harbour-1842")
    else:
        assert created is None


@pytest.mark.parametrize("who,expected", matrix(CHANGE))
def test_change_role_and_department_matrix(client_for, colleague, other_department, who, expected):
    response = client_for(who).patch(
        f"{URL}{colleague.pk}/", {"role": "lead", "department": other_department.pk}, format="json"
    )
    assert response.status_code == expected
    colleague.refresh_from_db()
    if expected == 200:
        assert (colleague.role, colleague.department_id) == (Role.LEAD, other_department.pk)
    else:
        assert (colleague.role, colleague.department_id) == (Role.AGENT, colleague.department_id)


@pytest.mark.parametrize("who,expected", matrix(DEACTIVATE))
def test_deactivate_matrix(client_for, colleague, who, expected):
    response = client_for(who).delete(f"{URL}{colleague.pk}/")
    assert response.status_code == expected
    colleague.refresh_from_db()
    assert colleague.is_active is (expected != 204)


def test_agents_list_only_their_department(client_for, people, colleague):
    emails = {user["email"] for user in client_for("agent").get(URL).json()["results"]}
    assert emails == {"agent@example.com", "lead@example.com", "colleague@example.com"}
    emails = {user["email"] for user in client_for("agent_other").get(URL).json()["results"]}
    assert emails == {"agent.other@example.com"}


def test_admin_lists_everyone_with_filters(client_for, people, department):
    client = client_for("admin")
    assert client.get(URL).json()["count"] == 5
    agents = client.get(URL, {"role": "agent"}).json()["results"]
    assert {user["email"] for user in agents} == {"agent@example.com", "agent.other@example.com"}
    in_department = client.get(URL, {"department": department.pk}).json()["results"]
    assert {user["email"] for user in in_department} == {"agent@example.com", "lead@example.com"}
    assert client.get(URL, {"q": "LEAD@"}).json()["count"] == 1


def test_list_costs_the_same_few_queries_at_any_size(client_for, people, department, django_assert_max_num_queries):
    client = client_for("admin")
    UserFactory.create_batch(40, role=Role.AGENT, department=department)
    with django_assert_max_num_queries(3):  # the caller, the count, the page
        response = client.get(URL, {"page_size": 50})
    assert len(response.json()["results"]) == 45


def test_agents_and_leads_need_a_department(client_for):
    response = client_for("admin").post(
        URL, {"email": "x@example.com", "password": "violet-harbour-1842", "role": "agent"}, format="json"
    )
    assert "department" in assert_problem(response, 400)["errors"]


def test_admin_cannot_lock_themselves_out(client_for, people):
    admin = people["admin"]
    client = client_for("admin")
    assert_problem(client.patch(f"{URL}{admin.pk}/", {"role": "agent"}, format="json"), 400, "self_lockout")
    assert_problem(client.delete(f"{URL}{admin.pk}/"), 400, "self_lockout")
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active


def test_unknown_and_bad_fields_are_400_and_change_nothing(client_for, colleague):
    client = client_for("admin")
    body = assert_problem(client.patch(f"{URL}{colleague.pk}/", {"is_staff": True}, format="json"), 400)
    assert "is_staff" in body["errors"]
    body = assert_problem(client.patch(f"{URL}{colleague.pk}/", {"role": "wizard"}, format="json"), 400)
    assert "role" in body["errors"]
    body = assert_problem(client.patch(f"{URL}{colleague.pk}/", {"department": "0" * 24}, format="json"), 400)
    assert "department" in body["errors"]
    colleague.refresh_from_db()
    assert colleague.role == Role.AGENT


def test_put_is_not_offered(client_for, colleague):
    assert_problem(client_for("admin").put(f"{URL}{colleague.pk}/", {}, format="json"), 405, "method_not_allowed")
