"""Changing a person's sign-in email (issue 21, decision 0026): only admins may, in Django admin and in
the API alike. A lead who could change it would take the account over with a password reset to the
new address. Every change tells the old address, ends the person's refresh tokens and is audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts import services
from accounts.models import User
from accounts.tokens import issue_pair
from audit.models import AuditEntry
from helpdesk import events
from helpdesk.errors import NotAllowed
from helpdesk.models import OutboxEvent
from notifications import mail as notifications_mail
from notifications.models import OutgoingEmail
from tests.factories import PASSWORD
from tests.helpers import assert_problem, bearer_client, browser_for, delivered, user_change_form

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/refresh/"
LOGIN = "/api/v1/auth/login/"
RESET = "/api/v1/auth/password/reset/"
NEW = "new.address@example.com"
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def sent_emails() -> list:
    """Send what is queued (the email job) and return what went out."""
    notifications_mail.send_due()
    return list(mail.outbox)


def email_change_entries(user: User) -> list[AuditEntry]:
    return [entry for entry in AuditEntry.objects.filter(object_id=user.pk) if "email" in entry.changes]


# --- Leads: names, skills, availability, never the sign-in email ----------------------------------


def test_a_lead_cannot_change_an_agents_sign_in_email_in_admin(people, api):
    lead, agent = people["lead"], people["agent"]
    browser = browser_for(lead)
    url = f"/admin/accounts/user/{agent.pk}/change/"
    with delivered():
        response = browser.post(url, user_change_form(agent, email="lead.owns.this@example.com", first_name="Renamed"))
    assert response.status_code == 302, response.content[:2000]
    agent.refresh_from_db()
    assert agent.email == "agent@example.com"
    assert agent.first_name == "Renamed"  # the rest of the form is saved; the forged email is ignored
    assert not email_change_entries(agent)
    page = browser.get(url).content.decode()
    assert "agent@example.com" in page and 'name="email"' not in page  # shown, not editable
    # And so the takeover goes nowhere: no account uses the lead's address, no reset email is sent.
    with delivered():
        assert api.post(RESET, {"email": "lead.owns.this@example.com"}, format="json").status_code == 202
    assert sent_emails() == []


def test_the_service_refuses_a_leads_email_change_whatever_the_path(people):
    lead, agent = people["lead"], people["agent"]
    agent.email = "lead.owns.this@example.com"
    events_before = OutboxEvent.objects.count()
    with pytest.raises(NotAllowed):
        services.user_admin_save(actor=lead, user=agent)
    assert User.objects.get(pk=agent.pk).email == "agent@example.com"
    assert OutboxEvent.objects.count() == events_before


def test_a_lead_still_edits_names_skills_and_availability(people):
    lead, agent = people["lead"], people["agent"]
    phone = issue_pair(agent)
    form = user_change_form(agent, first_name="Ada", skills='["vpn"]', is_available=None)
    assert browser_for(lead).post(f"/admin/accounts/user/{agent.pk}/change/", form).status_code == 302
    agent.refresh_from_db()
    assert (agent.first_name, agent.skills, agent.is_available) == ("Ada", ["vpn"], False)
    # Nothing about signing in changed: the sessions go on.
    assert bearer_client(None).post(REFRESH, {"refresh": phone["refresh"]}, format="json").status_code == 200


# --- Admins: every path tells the old address, ends the sessions, leaves an audit entry -----------


def change_in_admin(admin, user, email):
    return browser_for(admin).post(f"/admin/accounts/user/{user.pk}/change/", user_change_form(user, email=email))


def change_in_api(admin, user, email):
    return bearer_client(admin).patch(f"/api/v1/users/{user.pk}/", {"email": email}, format="json")


@pytest.mark.parametrize("change", [change_in_admin, change_in_api], ids=["admin", "api"])
def test_an_admins_email_change_tells_the_old_address_ends_sessions_and_is_audited(people, api, change):
    admin, agent = people["admin"], people["agent"]
    phone, laptop = issue_pair(agent), issue_pair(agent)
    with delivered():
        response = change(admin, agent, "New.Address@Example.com ")
    assert response.status_code in (200, 302), response.content[:2000]
    agent.refresh_from_db()
    assert agent.email == NEW

    # The old address is told, with no token, no link to act on and no password.
    [message] = sent_emails()
    assert message.to == ["agent@example.com"]
    assert message.subject == "[Helpdesk AI] The sign-in email of your account changed"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "agent@example.com" in body and NEW in body
        assert not JWT.search(body) and "/reset/confirm/" not in body
        for secret in (PASSWORD, agent.password, phone["refresh"], phone["access"]):
            assert secret not in body

    # Every refresh token issued before is refused; the person signs in with the new address.
    for pair in (phone, laptop):
        assert_problem(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "token_revoked")
    assert api.post(LOGIN, {"email": "agent@example.com", "password": PASSWORD}, format="json").status_code == 401
    fresh = api.post(LOGIN, {"email": NEW, "password": PASSWORD}, format="json")
    assert fresh.status_code == 200
    assert api.post(REFRESH, {"refresh": fresh.json()["refresh"]}, format="json").status_code == 200

    # The audit log: who changed it, from what to what, for admins.
    [entry] = email_change_entries(agent)
    assert entry.action == events.UserEmailChanged.name and entry.actor_id == admin.pk
    assert entry.changes == {"email": ["agent@example.com", NEW]}
    assert entry.details["previous_email"] == "agent@example.com" and entry.department_id == ""
    email = OutgoingEmail.objects.get()
    assert (email.user_id, email.to, email.event_id) == (agent.pk, "agent@example.com", entry.pk)


def test_the_same_address_in_other_letters_is_no_change(people, api):
    admin, agent = people["admin"], people["agent"]
    phone = issue_pair(agent)
    with delivered():
        assert change_in_api(admin, agent, " Agent@Example.COM").status_code == 200
    assert sent_emails() == [] and not email_change_entries(agent)
    assert api.post(REFRESH, {"refresh": phone["refresh"]}, format="json").status_code == 200


def test_an_address_in_use_is_refused_and_nothing_is_told(people):
    admin, agent = people["admin"], people["agent"]
    with delivered():
        response = change_in_api(admin, agent, "lead@example.com")
    assert_problem(response, 400, "invalid")
    agent.refresh_from_db()
    assert agent.email == "agent@example.com" and not OutgoingEmail.objects.exists()
