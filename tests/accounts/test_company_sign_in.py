"""Company sign-in in process (decision 0031): the rules about who a verified token is and what role
they get, the PASSWORD_LOGIN switch, and the endpoint where company sign-in is off or the provider is
down. The protocol itself (code + PKCE, the ID token checks) runs against a real provider in
tests/e2e/test_oidc.py."""

from __future__ import annotations

import pytest
from django.test import override_settings

from accounts import sso
from accounts.models import Role, User
from accounts.oidc import SignInRefused
from helpdesk import events
from tests.factories import PASSWORD, DepartmentFactory, UserFactory
from tests.helpers import assert_problem, captured_events

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/oidc/token/"
LOGIN = "/api/v1/auth/login/"
GRANT = {"code": "c", "code_verifier": "v" * 43, "redirect_uri": "https://app.example/cb", "nonce": "n" * 16}
MAPPING = {
    "OIDC_GROUP_ROLES": {"hd-admins": "admin", "hd-net-agents": "agent", "hd-net-leads": "lead", "hd-orphans": "agent"},
    "OIDC_GROUP_DEPARTMENTS": {"hd-net-agents": "Network", "hd-net-leads": "Network"},
}


ISSUER = "https://idp.corp.example"


def claims(email="ada@corp.example", groups=(), verified=True, **more):
    base = {"iss": ISSUER, "sub": f"sub-of-{email}", "email": email, "email_verified": verified}
    return {**base, "groups": list(groups), "given_name": "Ada", **more}


@pytest.fixture
def network():
    return DepartmentFactory(name="Network")


def test_the_endpoint_is_404_where_company_sign_in_is_off(api):
    assert_problem(api.post(TOKEN, GRANT, format="json"), 404, "oidc_not_configured")


@override_settings(
    OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="helpdesk", OIDC_CLIENT_SECRET="s", OIDC_TIMEOUT_SECONDS=1
)
def test_a_provider_that_does_not_answer_is_503_not_a_sign_in(api):
    assert_problem(api.post(TOKEN, GRANT, format="json"), 503, "oidc_unavailable")
    assert not User.objects.exists()


def test_the_client_cannot_send_a_role(api):
    assert_problem(api.post(TOKEN, {**GRANT, "role": "admin"}, format="json"), 400, "validation_error")


@override_settings(**MAPPING)
def test_first_sign_in_makes_the_account_with_the_groups_role(network):
    with captured_events(events.UserProvisioned, events.UserLoggedIn) as seen:
        user = sso.sign_in(claims=claims(groups=["hd-net-agents", "unrelated"]))
    assert (user.role, user.department, user.has_usable_password()) == (Role.AGENT, network, False)
    assert [type(e) for e in seen] == [events.UserProvisioned, events.UserLoggedIn]
    assert seen[1].method == "oidc"


@override_settings(**MAPPING)
def test_the_highest_role_wins_and_leaving_the_groups_means_employee(network):
    user = UserFactory(email="ada@corp.example", role=Role.AGENT, department=network)
    assert sso.sign_in(claims=claims(groups=["hd-net-agents", "hd-net-leads"])).role == Role.LEAD
    with captured_events(events.UserRoleChanged, events.UserUpdated) as seen:
        again = sso.sign_in(claims=claims(groups=[]))
    assert (again.role, again.department) == (Role.EMPLOYEE, None)
    role_change = next(e for e in seen if isinstance(e, events.UserRoleChanged))
    assert (role_change.changes["role"], role_change.actor_id, role_change.target_id) == (
        ["lead", "employee"],
        None,
        user.pk,
    )


@override_settings(**MAPPING)
def test_an_agent_group_without_a_department_signs_in_an_employee(network):
    assert sso.sign_in(claims=claims(groups=["hd-orphans"])).role == Role.EMPLOYEE


@override_settings(OIDC_GROUP_ROLES={}, OIDC_GROUP_DEPARTMENTS={})
def test_without_a_mapping_roles_stay_as_the_helpdesk_keeps_them(network):
    UserFactory(email="ada@corp.example", role=Role.LEAD, department=network)
    user = sso.sign_in(claims=claims(groups=["anything"]))
    assert (user.role, user.department) == (Role.LEAD, network)


def test_an_email_the_provider_did_not_verify_signs_nobody_in():
    UserFactory(email="ada@corp.example", role=Role.ADMIN)
    for unverified in (False, "true", None):
        with pytest.raises(SignInRefused) as refused:
            sso.sign_in(claims=claims(verified=unverified))
        assert refused.value.code == "oidc_email_unverified"


def test_a_deactivated_account_stays_out_and_the_refusal_is_recorded():
    user = UserFactory(email="ada@corp.example", is_active=False)
    with captured_events(events.CompanySignInRefused) as seen, pytest.raises(SignInRefused):
        sso.sign_in(claims=claims())
    assert (seen[0].target_id, seen[0].reason) == (user.pk, "user_inactive")
    user.refresh_from_db()
    assert not user.is_active


@override_settings(OIDC_CREATE_USERS=False)
def test_no_account_is_made_when_provisioning_is_off():
    with pytest.raises(SignInRefused) as refused:
        sso.sign_in(claims=claims())
    assert refused.value.code == "oidc_no_account" and not User.objects.exists()


# --- PASSWORD_LOGIN -----------------------------------------------------------------------------------


@override_settings(PASSWORD_LOGIN=False)
def test_password_sign_in_off_lets_only_admins_in_and_answers_others_as_a_wrong_password(api):
    employee = UserFactory(email="pat@example.com")
    admin = UserFactory(email="root@example.com", role=Role.ADMIN)
    right = api.post(LOGIN, {"email": employee.email, "password": PASSWORD}, format="json")
    wrong = api.post(LOGIN, {"email": employee.email, "password": "not-it"}, format="json")
    same = ("status", "code", "title", "detail")
    right_body, wrong_body = assert_problem(right, 401, "invalid_credentials"), assert_problem(wrong, 401)
    assert [right_body[key] for key in same] == [wrong_body[key] for key in same]  # no password oracle
    assert api.post(LOGIN, {"email": admin.email, "password": PASSWORD}, format="json").status_code == 200


@override_settings(PASSWORD_LOGIN=False)
def test_password_sign_in_off_closes_django_admin_s_form_to_leads(client, network):
    lead = UserFactory(email="lead@example.com", role=Role.LEAD, department=network)
    response = client.post("/admin/login/?next=/admin/", {"username": lead.email, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    admin = UserFactory(email="root@example.com", role=Role.ADMIN)
    response = client.post("/admin/login/?next=/admin/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == admin.pk


def test_password_sign_in_is_on_by_default(api):
    employee = UserFactory(email="pat@example.com")
    assert api.post(LOGIN, {"email": employee.email, "password": PASSWORD}, format="json").status_code == 200


# --- Django admin's login page ------------------------------------------------------------------------


def test_the_admin_login_page_offers_company_sign_in_only_when_configured(client):
    assert "Sign in with" not in client.get("/admin/login/").content.decode()
    with override_settings(OIDC_ISSUER="https://id.corp.example", OIDC_PROVIDER_NAME="Corp SSO"):
        page = client.get("/admin/login/?next=/admin/tickets/").content.decode()
    assert 'href="/sso/login/?next=/admin/tickets/"' in page and "Sign in with Corp SSO" in page


# --- The company account is bound at the first sign-in ---------------------------------------------


@override_settings(OIDC_CREATE_USERS=True)
def test_the_first_sign_in_binds_the_company_account_and_a_changed_address_still_finds_it():
    with captured_events(events.CompanyIdentityLinked) as seen:
        first = sso.sign_in(claims=claims(email="ada@corp.example", sub="0001"))
    assert [e.target_id for e in seen] == [first.pk]
    # The provider renames her address: the same person, the same account, no second one.
    again = sso.sign_in(claims=claims(email="ada.lovelace@corp.example", sub="0001"))
    assert again == first and User.objects.count() == 1


@override_settings(OIDC_CREATE_USERS=True)
def test_an_address_handed_to_someone_else_at_the_provider_does_not_open_the_old_account():
    """Ada left; the provider gave ada@ to a new hire (another subject). The new hire is refused,
    never signed in as Ada with her tickets and role."""
    ada = sso.sign_in(claims=claims(email="ada@corp.example", sub="0001"))
    with captured_events(events.CompanySignInRefused) as seen, pytest.raises(SignInRefused) as refused:
        sso.sign_in(claims=claims(email="ada@corp.example", sub="0999"))
    assert refused.value.code == "oidc_other_company_account"
    assert [(e.target_id, e.reason) for e in seen] == [(ada.pk, "oidc_other_company_account")]


def test_an_existing_password_account_is_bound_at_its_first_company_sign_in():
    person = UserFactory(email="grace@corp.example", role=Role.EMPLOYEE)
    assert sso.sign_in(claims=claims(email="grace@corp.example", sub="0042")) == person
    assert person.company_identities.get().subject == "0042"


def test_a_token_without_a_subject_names_nobody():
    UserFactory(email="ada@corp.example", role=Role.EMPLOYEE)
    with pytest.raises(SignInRefused) as refused:
        sso.sign_in(claims=claims(email="ada@corp.example", sub=""))
    assert refused.value.code == "oidc_no_subject"
