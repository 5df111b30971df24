"""Security headers, CORS allowlist, CSRF on session paths (not on JWT calls)."""

import pytest
from django.test import Client, override_settings

from accounts.models import Role
from tests.factories import PASSWORD, UserFactory
from tests.helpers import bearer_client, browser_for

pytestmark = pytest.mark.django_db


def test_security_headers_on_api_responses(api):
    response = api.get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_on_https_when_not_debug(api):
    response = api.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response["Strict-Transport-Security"]


@override_settings(CORS_ALLOWED_ORIGINS=["https://helpdesk.example.com"])
def test_cors_answers_only_allowed_origins(api):
    allowed = api.options(
        "/api/v1/auth/login/",
        HTTP_ORIGIN="https://helpdesk.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://helpdesk.example.com"
    assert "Access-Control-Allow-Credentials" not in allowed
    other = api.options(
        "/api/v1/auth/login/", HTTP_ORIGIN="https://evil.example.net", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in other


def test_session_authenticated_writes_need_a_csrf_token(department):
    admin = UserFactory(email="root@example.com", role=Role.ADMIN)
    browser = browser_for(admin, enforce_csrf_checks=True)
    body = '{"name": "Security"}'
    refused = browser.post("/api/v1/departments/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # The same call with a bearer token needs no CSRF token.
    ok = bearer_client(admin).post("/api/v1/departments/", {"name": "Security"}, format="json")
    assert ok.status_code == 201


def test_admin_login_form_enforces_csrf(db):
    UserFactory(email="root@example.com", role=Role.ADMIN)
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/admin/login/", {"username": "root@example.com", "password": PASSWORD})
    assert response.status_code == 403
