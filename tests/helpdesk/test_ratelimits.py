"""Abuse limits: wrong sign-ins per account and per IP, sign-up and refresh per IP, throttles."""

import pytest
from django.test import override_settings

from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_rate_window")]

LOGIN = "/api/v1/auth/login/"


def wrong_login(api, email="ada@example.com", ip="10.0.0.1"):
    return api.post(LOGIN, {"email": email, "password": "wrong-password"}, format="json", REMOTE_ADDR=ip)


def test_the_sixth_wrong_try_in_a_minute_is_429_with_retry_after(api):
    UserFactory(email="ada@example.com")
    for _ in range(5):
        assert_problem(wrong_login(api), 401, "invalid_credentials")
    response = wrong_login(api)
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_once_limited_even_the_right_password_waits(api):
    UserFactory(email="ada@example.com")
    for _ in range(5):
        wrong_login(api)
    right = api.post(LOGIN, {"email": "ada@example.com", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.1")
    assert_problem(right, 429)


def test_the_account_limit_holds_across_ips(api):
    UserFactory(email="ada@example.com")
    for n in range(5):
        wrong_login(api, ip=f"10.0.1.{n}")
    assert_problem(wrong_login(api, ip="10.0.1.99"), 429)
    # Another account from a fresh IP is not affected.
    UserFactory(email="bob@example.com")
    assert_problem(wrong_login(api, email="bob@example.com", ip="10.0.2.1"), 401)


def test_the_ip_limit_holds_across_accounts(api):
    for n in range(5):
        wrong_login(api, email=f"user{n}@example.com", ip="10.0.3.1")
    assert_problem(wrong_login(api, email="someone-else@example.com", ip="10.0.3.1"), 429)
    assert_problem(wrong_login(api, email="someone-else@example.com", ip="10.0.3.2"), 401)


def test_successful_sign_ins_are_not_counted(api):
    UserFactory(email="ada@example.com")
    for _ in range(8):
        ok = api.post(LOGIN, {"email": "ada@example.com", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.4.1")
        assert ok.status_code == 200


@override_settings(RATE_LIMITS={"login_account": "5/m", "login_ip": "5/m", "signup_ip": "2/h", "refresh_ip": "2/m"})
def test_signup_and_refresh_are_limited_per_ip(api):
    for n in range(2):
        body = {"email": f"new{n}@example.com", "password": "violet-harbour-1842"}
        assert api.post("/api/v1/auth/signup/", body, format="json", REMOTE_ADDR="10.0.5.1").status_code == 201
    body = {"email": "new9@example.com", "password": "violet-harbour-1842"}
    assert_problem(api.post("/api/v1/auth/signup/", body, format="json", REMOTE_ADDR="10.0.5.1"), 429)
    for _ in range(2):
        api.post("/api/v1/auth/refresh/", {"refresh": "x"}, format="json", REMOTE_ADDR="10.0.5.2")
    response = api.post("/api/v1/auth/refresh/", {"refresh": "x"}, format="json", REMOTE_ADDR="10.0.5.2")
    assert_problem(response, 429)
    assert "Retry-After" in response


def test_drf_throttles_limit_anonymous_and_signed_in_callers(api, client_for):
    from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

    rates = {"anon": "3/m", "user": "4/m"}
    original = (AnonRateThrottle.THROTTLE_RATES, UserRateThrottle.THROTTLE_RATES)
    AnonRateThrottle.THROTTLE_RATES = UserRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [api.post("/api/v1/auth/login/", {}, format="json").status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        client = client_for("employee")
        statuses = [client.get("/api/v1/auth/me/").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        assert "Retry-After" in client.get("/api/v1/auth/me/")
    finally:
        AnonRateThrottle.THROTTLE_RATES, UserRateThrottle.THROTTLE_RATES = original
