"""Every error under /api/ is application/problem+json, with no internals in it."""

import logging

import pytest
from django.test import Client, override_settings

from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login/"


def test_unknown_api_path_is_a_problem_404(api):
    body = assert_problem(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert body["instance"] == "/api/v1/no-such-thing/"


def test_missing_trailing_slash_says_so(api):
    body = assert_problem(api.get("/api/v1/auth/me"), 404, "not_found")
    assert "slash" in body["detail"]


def test_wrong_method_is_405(api):
    assert_problem(api.get(LOGIN), 405, "method_not_allowed")


def test_malformed_json_is_400_parse_error(api):
    response = api.generic("POST", LOGIN, '{"email": "a@example.com", ', content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_unsupported_media_type_is_415(api):
    response = api.generic("POST", LOGIN, "email=a", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")


def test_validation_errors_name_each_field(api):
    body = assert_problem(api.post(LOGIN, {"email": "not-an-email"}, format="json"), 400, "validation_error")
    assert set(body["errors"]) == {"email", "password"}
    assert body["title"] == "Validation failed"


def test_unknown_body_fields_are_400(api):
    body = assert_problem(
        api.post(LOGIN, {"email": "a@example.com", "password": "x", "remember": True}, format="json"), 400
    )
    assert body["errors"] == {"remember": ["This field is not accepted here."]}


def test_a_body_that_is_not_an_object_is_400(api):
    assert_problem(api.post(LOGIN, ["a", "b"], format="json"), 400, "validation_error")


@override_settings(MAX_REQUEST_BYTES=2048)
def test_oversized_body_is_413_before_it_is_read(api):
    response = api.post(LOGIN, {"email": "a@example.com", "password": "x" * 5000}, format="json")
    assert_problem(response, 413, "payload_too_large")


@override_settings(ROOT_URLCONF="tests.helpdesk.boom_urls")
def test_domain_conflict_is_409_with_its_code(api):
    body = assert_problem(api.post("/api/v1/test/conflict/"), 409, "stale_version")
    assert body["detail"].startswith("The ticket changed")


@override_settings(ROOT_URLCONF="tests.helpdesk.boom_urls")
@pytest.mark.parametrize("path", ["/api/v1/test/boom/", "/api/v1/test/django-boom/"])
def test_a_crash_is_a_500_problem_without_internals_and_is_logged_with_the_request_id(path, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get(path, HTTP_X_REQUEST_ID="req-1234567890")
    body = assert_problem(response, 500, "server_error")
    assert body["request_id"] == "req-1234567890"
    assert response["X-Request-ID"] == "req-1234567890"
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    logged = [record for record in caplog.records if "req-1234567890" in record.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_every_response_carries_a_request_id(api):
    response = api.get("/healthz")
    assert len(response["X-Request-ID"]) == 32
    assert api.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"] != "bad id with spaces"
