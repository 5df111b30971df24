"""Django admin: admins manage everyone; a lead only their department's employees and agents."""

import pytest
from django.test import Client

from accounts.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_employees_and_agents_cannot_open_admin(people):
    for who in ("employee", "agent"):
        response = browser_for(people[who]).get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_lead_sees_only_their_department_users(people):
    response = browser_for(people["lead"]).get("/admin/accounts/user/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "agent@example.com" in page
    assert "agent.other@example.com" not in page
    assert "admin@example.com" not in page
    other = people["agent_other"]
    assert browser_for(people["lead"]).get(f"/admin/accounts/user/{other.pk}/change/").status_code in (302, 404)


def _change_form(user, **overrides) -> dict:
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "department": user.department_id or "",
        "skills": "[]",
        "is_available": "on",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_lead_can_make_an_employee_an_agent_of_their_department(people, department):
    newcomer = UserFactory(email="new@example.com", role=Role.EMPLOYEE, department=department)
    response = browser_for(people["lead"]).post(
        f"/admin/accounts/user/{newcomer.pk}/change/", _change_form(newcomer, role=Role.AGENT)
    )
    assert response.status_code == 302, response.content[:2000]
    newcomer.refresh_from_db()
    assert newcomer.role == Role.AGENT


def test_lead_cannot_raise_anyone_above_agent(people):
    agent = people["agent"]
    for role in (Role.LEAD, Role.ADMIN):
        response = browser_for(people["lead"]).post(
            f"/admin/accounts/user/{agent.pk}/change/", _change_form(agent, role=role)
        )
        assert response.status_code == 200  # the form comes back with an error
        assert "Select a valid choice" in response.content.decode()
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_lead_cannot_move_a_user_to_another_department(people, other_department):
    agent = people["agent"]
    response = browser_for(people["lead"]).post(
        f"/admin/accounts/user/{agent.pk}/change/", _change_form(agent, department=other_department.pk)
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.department_id != other_department.pk


def test_lead_cannot_edit_another_lead_or_set_passwords(people, department):
    other_lead = UserFactory(email="lead2@example.com", role=Role.LEAD, department=department)
    browser = browser_for(people["lead"])
    response = browser.post(
        f"/admin/accounts/user/{other_lead.pk}/change/", _change_form(other_lead, role=Role.EMPLOYEE)
    )
    assert response.status_code == 403
    other_lead.refresh_from_db()
    assert other_lead.role == Role.LEAD
    assert browser.get(f"/admin/accounts/user/{people['agent'].pk}/password/").status_code == 403
    assert browser.get("/admin/accounts/user/add/").status_code == 403


def test_admin_creates_a_user_in_admin(people, department):
    response = browser_for(people["admin"]).post(
        "/admin/accounts/user/add/",
        {
            "email": "Newbie@Example.com",
            "first_name": "New",
            "last_name": "Bie",
            "role": Role.AGENT,
            "department": department.pk,
            "password1": "violet-harbour-1842",
            "password2": "violet-harbour-1842",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    user = User.objects.get(email="newbie@example.com")
    assert user.role == Role.AGENT and user.check_password("violet-harbour-1842")


def test_admin_manages_departments_and_leads_only_read_them(people, department):
    assert browser_for(people["admin"]).get(f"/admin/accounts/department/{department.pk}/change/").status_code == 200
    lead = browser_for(people["lead"])
    assert lead.get("/admin/accounts/department/").status_code == 200
    assert lead.get("/admin/accounts/department/add/").status_code == 403
