"""Django admin: admins manage everyone; a lead only their department's employees and agents."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from accounts import policies
from accounts.models import Role, User
from tests.factories import UserFactory
from tests.helpers import browser_for, user_change_form

pytestmark = pytest.mark.django_db


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
    response = browser_for(people["lead"]).get(f"/admin/accounts/user/{other.pk}/change/")
    assert response.status_code == 302 and response["Location"] == "/admin/"  # "does not exist", as for none


def test_lead_can_make_an_employee_an_agent_of_their_department(people, department):
    newcomer = UserFactory(email="new@example.com", role=Role.EMPLOYEE, department=department)
    response = browser_for(people["lead"]).post(
        f"/admin/accounts/user/{newcomer.pk}/change/", user_change_form(newcomer, role=Role.AGENT)
    )
    assert response.status_code == 302, response.content[:2000]
    newcomer.refresh_from_db()
    assert newcomer.role == Role.AGENT


def test_lead_cannot_raise_anyone_above_agent(people):
    agent = people["agent"]
    for role in (Role.LEAD, Role.ADMIN):
        response = browser_for(people["lead"]).post(
            f"/admin/accounts/user/{agent.pk}/change/", user_change_form(agent, role=role)
        )
        assert response.status_code == 200  # the form comes back with an error
        assert "Select a valid choice" in response.content.decode()
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_lead_cannot_move_a_user_to_another_department(people, other_department):
    agent = people["agent"]
    response = browser_for(people["lead"]).post(
        f"/admin/accounts/user/{agent.pk}/change/", user_change_form(agent, department=other_department.pk)
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.department_id != other_department.pk


def test_lead_cannot_edit_another_lead_or_set_passwords(people, department):
    other_lead = UserFactory(email="lead2@example.com", role=Role.LEAD, department=department)
    browser = browser_for(people["lead"])
    response = browser.post(
        f"/admin/accounts/user/{other_lead.pk}/change/", user_change_form(other_lead, role=Role.EMPLOYEE)
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


# --- what a lead may do in admin: each app declares its own, accounts collects them ------------

LEADS_ADMIN = {
    "accounts": {"view_user", "change_user", "view_department"},
    "tickets": {"view_ticket", "change_ticket", "view_slapolicy"},
    "audit": {"view_auditentry"},
    "knowledge": {
        "view_article",
        "add_article",
        "change_article",
        "delete_article",
        "view_articleversion",
        "view_category",
        "add_category",
        "change_category",
        "delete_category",
    },
    "ai_assist": {"view_suggestion", "view_suggestionfeedback"},  # the log and its reviews, inline
}


def test_each_app_declares_its_own_lead_permissions_and_accounts_collects_them():
    for label, codenames in LEADS_ADMIN.items():
        assert apps.get_app_config(label).lead_admin_permissions == {f"{label}.{name}" for name in codenames}
    assert policies.lead_admin_permissions() == {f"{label}.{n}" for label, names in LEADS_ADMIN.items() for n in names}


def test_lead_permissions_follow_the_role(people):
    lead, agent, admin = people["lead"], people["agent"], people["admin"]
    assert lead.has_perm("tickets.change_ticket") and lead.has_perm("ai_assist.view_suggestion")
    assert not lead.has_perm("tickets.delete_ticket") and not lead.has_perm("ai_assist.change_suggestion")
    assert not lead.has_perm("accounts.add_user") and not lead.has_perm("accounts.view_revokedtoken")
    assert lead.has_module_perms("ai_assist") and not lead.has_module_perms("notifications")
    assert admin.has_perm("tickets.delete_ticket") and admin.has_module_perms("notifications")
    assert not agent.has_perm("tickets.view_ticket") and not agent.has_module_perms("tickets")


def test_an_app_may_not_grant_leads_another_apps_permissions(monkeypatch):
    monkeypatch.setattr(
        apps.get_app_config("audit"), "lead_admin_permissions", frozenset({"tickets.delete_ticket"}), raising=False
    )
    policies.lead_admin_permissions.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match=r"tickets\.delete_ticket"):
            policies.lead_admin_permissions()
    finally:
        monkeypatch.undo()
        policies.lead_admin_permissions.cache_clear()
    assert "audit.view_auditentry" in policies.lead_admin_permissions()


def test_accounts_names_no_other_app():
    """The dependency runs one way (accounts <- tickets, knowledge <- ai_assist): accounts imports none."""
    sources = [
        path for path in Path(apps.get_app_config("accounts").path).rglob("*.py") if "migrations" not in path.parts
    ]
    other_apps = re.compile(r"^\s*(from|import)\s+(tickets|knowledge|ai_assist|audit|notifications)\b", re.M)
    assert sources and not [str(path) for path in sources if other_apps.search(path.read_text())]
