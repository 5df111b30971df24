"""The OpenAPI document, Swagger UI and ReDoc: complete, and served with nothing from outside."""

import re

import pytest

from tests.helpers import operations

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_covers_the_contract(schema):
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/auth/signup/",
        "/api/v1/auth/login/",
        "/api/v1/auth/refresh/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/me/",
        "/api/v1/users/",
        "/api/v1/users/{id}/",
        "/api/v1/departments/",
        "/api/v1/departments/{id}/",
        "/api/v1/tickets/",
        "/api/v1/tickets/{id}/",
        "/api/v1/tickets/{id}/assign/",
        "/api/v1/tickets/{id}/transition/",
        "/api/v1/tickets/{id}/escalate/",
        "/api/v1/tickets/{id}/comments/",
        "/api/v1/tickets/{id}/attachments/",
        "/api/v1/tickets/{id}/attachments/{attachment_id}/download/",
    ]:
        assert path in schema["paths"], path


def test_every_operation_has_a_summary_schemas_examples_and_errors(schema):
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        responses = operation["responses"]
        successes = [code for code in responses if code.startswith("2")]
        assert successes, where
        for code in successes:
            content = responses[code].get("content")
            if code == "204":
                continue
            if "application/json" not in content:  # a file download
                assert list(content) == ["application/octet-stream"], where
                continue
            media = content["application/json"]
            assert "schema" in media, where
            assert media.get("examples"), f"{where} {code} has no example"
        if "requestBody" in operation:
            content = operation["requestBody"]["content"]
            if "application/json" in content:
                assert content["application/json"].get("examples"), f"{where} request has no example"
            else:  # a file upload: the form's fields are documented, there is nothing to show as JSON
                assert list(content) == ["multipart/form-data"] and content["multipart/form-data"]["schema"], where
            assert "400" in responses, where
        errors = [code for code in responses if code[0] in "45"]
        assert "429" in errors, where
        for code in errors:
            problem = responses[code]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"].endswith("/Problem"), where
            assert problem.get("examples"), f"{where} {code}"


def test_the_plain_views_outside_the_api_are_documented(schema):
    """The providers' inbound email webhooks and company sign-in for admin are plain Django views (no
    bearer token, no rate limit of the API's): described, with their answers, errors as problem+json."""
    every = operations(schema, api_only=False)
    plain = {f"{method.upper()} {path}": operation for path, method, operation in every if not path.startswith("/api/")}
    assert set(plain) == {
        "POST /anymail/{provider}/inbound/",
        "POST /anymail/mailgun/inbound_mime/",
        "POST /anymail/mandrill/",
        "GET /sso/login/",
        "GET /sso/callback/",
    }
    providers = schema["paths"]["/anymail/{provider}/inbound/"]["post"]["parameters"][0]["schema"]["enum"]
    assert {"mailgun", "sendgrid", "postmark", "amazon_ses"} <= set(providers)
    for where, operation in plain.items():
        assert operation.get("summary") and operation.get("description"), where
        responses = operation["responses"]
        assert {"200", "302"} & set(responses), where
        for code in (code for code in responses if code[0] in "45"):
            problem = responses[code]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"].endswith("/Problem") and problem["examples"], f"{where} {code}"
    webhook = plain["POST /anymail/{provider}/inbound/"]
    assert webhook["security"] == [{"webhookBasicAuth": []}] and {"400", "503"} <= set(webhook["responses"])


def test_authenticated_operations_document_401_and_public_ones_do_not_need_it(schema):
    me = schema["paths"]["/api/v1/auth/me/"]["get"]
    assert "401" in me["responses"]
    assert me.get("security")


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_other_hosts(api, url):
    response = api.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == []
    assert "/static/drf_spectacular_sidecar/" in html


def test_docs_assets_are_served(client):
    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200
