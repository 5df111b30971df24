"""Sign-up, sign-in, refresh with rotation, logout and the caller's profile, over the real API."""

import pytest

from accounts.models import Role, User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem, bearer_client

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"


def login(api, email, password=PASSWORD):
    return api.post(LOGIN, {"email": email, "password": password}, format="json")


def test_signup_creates_an_employee_who_can_sign_in(api):
    response = api.post(
        SIGNUP,
        {"email": "New.Person@Example.com", "password": "violet-harbour-1842", "first_name": "New"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["role"] == "employee"
    assert response.json()["email"] == "new.person@example.com"
    assert "password" not in response.json()
    assert login(api, "new.person@example.com", "violet-harbour-1842").status_code == 200


def test_signup_cannot_choose_a_role_and_creates_nobody(api):
    response = api.post(
        SIGNUP, {"email": "sneaky@example.com", "password": "violet-harbour-1842", "role": "admin"}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "role" in body["errors"]
    assert not User.objects.filter(email="sneaky@example.com").exists()
    assert not User.objects.filter(role__gt=Role.EMPLOYEE).exists()


def test_signup_applies_django_password_validators(api):
    response = api.post(SIGNUP, {"email": "weak@example.com", "password": "12345678"}, format="json")
    body = assert_problem(response, 400)
    assert body["errors"]["password"]
    assert not User.objects.filter(email="weak@example.com").exists()


def test_signup_refuses_an_email_taken_in_another_case(api):
    UserFactory(email="taken@example.com")
    response = api.post(SIGNUP, {"email": "TAKEN@example.com", "password": "violet-harbour-1842"}, format="json")
    assert assert_problem(response, 400)["errors"]["email"]
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_login_returns_a_token_pair_that_opens_me(api):
    user = UserFactory(email="ada@example.com", role=Role.AGENT)
    response = login(api, "ADA@example.com")
    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    me = api.get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == user.pk
    assert me.json()["role"] == "agent"
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize("email,password", [("ada@example.com", "wrong-password"), ("nobody@example.com", PASSWORD)])
def test_login_with_wrong_credentials_is_401_without_saying_which(api, email, password):
    UserFactory(email="ada@example.com")
    body = assert_problem(login(api, email, password), 401, "invalid_credentials")
    assert body["detail"] == "Email or password is wrong."


def test_login_of_a_deactivated_user_is_refused(api):
    UserFactory(email="gone@example.com", is_active=False)
    assert_problem(login(api, "gone@example.com"), 401, "invalid_credentials")


def test_refresh_rotates_and_a_used_refresh_token_is_refused(api):
    UserFactory(email="ada@example.com")
    first = login(api, "ada@example.com").json()
    second = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert second.status_code == 200
    assert second.json()["refresh"] != first["refresh"]
    reused = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert_problem(reused, 401, "token_revoked")
    third = api.post(REFRESH, {"refresh": second.json()["refresh"]}, format="json")
    assert third.status_code == 200


def test_logout_revokes_the_refresh_token(api):
    UserFactory(email="ada@example.com")
    pair = login(api, "ada@example.com").json()
    assert api.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert_problem(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "token_revoked")
    # Logging out twice is harmless.
    assert api.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204


@pytest.mark.parametrize("token", ["not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.forged"])
def test_refresh_and_logout_refuse_garbage_tokens(api, token):
    assert_problem(api.post(REFRESH, {"refresh": token}, format="json"), 401, "token_not_valid")
    assert_problem(api.post(LOGOUT, {"refresh": token}, format="json"), 401, "token_not_valid")


def test_an_access_token_is_not_a_refresh_token_and_vice_versa(api):
    UserFactory(email="ada@example.com")
    pair = login(api, "ada@example.com").json()
    assert_problem(api.post(REFRESH, {"refresh": pair["access"]}, format="json"), 401, "token_not_valid")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['refresh']}")
    assert_problem(api.get(ME), 401)


def test_a_tampered_access_token_is_refused(api):
    user = UserFactory()
    client = bearer_client(user)
    header = client._credentials["HTTP_AUTHORIZATION"]
    client.credentials(HTTP_AUTHORIZATION=header[:-3] + ("AAA" if not header.endswith("AAA") else "BBB"))
    assert_problem(client.get(ME), 401)


def test_me_needs_a_token_and_says_how_to_send_one(api):
    response = api.get(ME)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_user_loses_access_at_the_next_request(api):
    user = UserFactory(email="ada@example.com")
    pair = login(api, "ada@example.com").json()
    client = bearer_client(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get(ME).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_problem(client.get(ME), 401)
    assert_problem(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "user_inactive")


def test_a_demoted_admin_loses_admin_rights_at_the_next_request(department):
    admin = UserFactory(role=Role.ADMIN)
    client = bearer_client(admin)
    new_user = {"email": "x@example.com", "password": "violet-harbour-1842"}
    assert client.post("/api/v1/users/", new_user, format="json").status_code == 201
    User.objects.filter(pk=admin.pk).update(role=Role.EMPLOYEE)
    new_user["email"] = "y@example.com"
    assert_problem(client.post("/api/v1/users/", new_user, format="json"), 403)
    assert client.get(ME).json()["role"] == "employee"


def test_me_patch_changes_name_and_availability_only(api):
    user = UserFactory(role=Role.AGENT)
    client = bearer_client(user)
    response = client.patch(ME, {"first_name": "Grace", "is_available": False}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Grace"
    assert response.json()["is_available"] is False
    body = assert_problem(client.patch(ME, {"role": "admin"}, format="json"), 400, "validation_error")
    assert "role" in body["errors"]
    user.refresh_from_db()
    assert user.role == Role.AGENT


def test_a_stale_bearer_header_does_not_block_sign_in(api):
    UserFactory(email="ada@example.com")
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert login(api, "ada@example.com").status_code == 200
