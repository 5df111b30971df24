"""The OpenAPI document is the truth (issue 15, point 4): each finding of the fuzzer and of the
generated client (`make fuzz`, tests/contract/), kept as a property of every operation so a new
endpoint complies too. The rules live in helpdesk/api/schema.py (HelpdeskAutoSchema)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from accounts.models import User
from tests.helpers import assert_problem, operations

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "tickets", "knowledge", "ai_assist", "audit", "notifications", "helpdesk"}


def component(schema, media: dict) -> dict:
    return schema["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]


# --- Bodies: JSON only; multipart only where a file is uploaded -----------------------------------


def test_request_bodies_are_json_only_and_multipart_only_for_file_uploads(schema):
    uploads = set()
    for path, method, operation in operations(schema):
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]
        where = f"{method.upper()} {path}"
        assert list(content) in (["application/json"], ["multipart/form-data"]), (where, list(content))
        if "multipart/form-data" in content:
            body = component(schema, content["multipart/form-data"])
            assert any(field.get("format") == "binary" for field in body["properties"].values()), where
            uploads.add(where)
    assert uploads == {"POST /api/v1/tickets/{id}/attachments/", "POST /api/v1/kb/documents/"}


def test_a_form_post_is_refused_as_415_where_json_is_taken(client_for):
    response = client_for("employee").generic(
        "POST", "/api/v1/tickets/", "title=A&description=B", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported_media_type")
    multipart = client_for("employee").post("/api/v1/tickets/", {"title": "A", "description": "B"}, format="multipart")
    assert_problem(multipart, 415, "unsupported_media_type")


# --- Unknown fields are refused, and the document says so ----------------------------------------


def test_every_request_body_forbids_unknown_fields(schema):
    for path, method, operation in operations(schema):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            body = component(schema, media)
            assert body.get("additionalProperties") is False, f"{method.upper()} {path}"


def test_an_unknown_field_is_a_400_naming_it(client_for):
    response = client_for("employee").post(
        "/api/v1/tickets/", {"title": "A", "description": "B", "colour": "red"}, format="json"
    )
    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"] == {"colour": ["This field is not accepted here."]}


# --- Every error status an operation can answer is declared ---------------------------------------


def test_every_operation_declares_the_errors_any_request_can_meet(schema):
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        declared = set(operation["responses"])
        expected = {"400", "429", "503"}  # a bad query string; a rate limit; the database down
        if operation.get("security") and {} not in operation["security"]:
            expected.add("401")
        if method in ("post", "put", "patch"):
            expected |= {"413", "415"}
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if "{" in path or "page" in names:
            expected.add("404")  # an id you may not see, or a page past the last
        assert expected <= declared, (where, sorted(expected - declared))
        for code in declared - {c for c in declared if c.startswith("2")}:
            assert list(operation["responses"][code]["content"]) == ["application/problem+json"], (where, code)


def test_the_503_declared_is_the_database_unavailable_problem(schema):
    example = next(iter(schema["paths"]["/api/v1/tickets/"]["get"]["responses"]["503"]["content"].values()))
    value = next(iter(example["examples"].values()))["value"]
    assert value["code"] == "database_unavailable" and value["status"] == 503


def test_a_page_past_the_last_is_the_declared_404(client_for, schema):
    assert "404" in schema["paths"]["/api/v1/kb/categories/"]["get"]["responses"]
    assert_problem(client_for("employee").get("/api/v1/kb/categories/?page=99"), 404, "not_found")


# --- Nullable fields are marked -------------------------------------------------------------------


def model_serializers() -> list[type[serializers.ModelSerializer]]:
    for app in ("accounts", "tickets", "knowledge", "ai_assist", "audit", "notifications"):
        if apps.is_installed(app):
            __import__(f"{app}.api.serializers")
    found, stack = set(), [serializers.ModelSerializer]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.split(".")[0] in OUR_APPS:
                found.add(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__name__}")


def test_every_field_over_a_nullable_column_allows_null():
    """A field declared by hand on a ModelSerializer loses the column's null=True (UserOut.department
    answered null where the document said string)."""
    classes = model_serializers()
    assert len(classes) >= 3
    for cls in classes:
        model = cls.Meta.model
        for name, field in cls().fields.items():
            if isinstance(field, serializers.SerializerMethodField) or "." in field.source or field.source == "*":
                continue
            try:
                column = model._meta.get_field(field.source)
            except Exception:  # a property or an annotation, not a column
                continue
            if getattr(column, "null", False):
                assert field.allow_null, f"{cls.__name__}.{name}: its column is nullable, the field is not"


def test_a_user_without_a_department_matches_the_document(client_for, schema):
    department = schema["components"]["schemas"]["MeOut"]["properties"]["department"]
    assert department.get("nullable") is True
    me = client_for("employee").get("/api/v1/auth/me/").json()
    assert me["department"] is None


# --- Lists declare only the query parameters they read --------------------------------------------


def test_comments_and_attachments_do_not_declare_the_ticket_lists_filters(schema):
    ticket_filters = {p["name"] for p in schema["paths"]["/api/v1/tickets/"]["get"]["parameters"] if p["in"] == "query"}
    assert {"status", "priority", "ordering", "q"} <= ticket_filters
    for path in ["/api/v1/tickets/{id}/comments/", "/api/v1/tickets/{id}/attachments/"]:
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        assert not names & {"status", "priority", "ordering", "q", "department", "assignee"}, (path, names)
        assert {"page", "page_size"} <= names


def test_no_extra_action_declares_its_viewsets_filters(schema):
    """Generic: an extra action of a viewset that does not set its own filter_backends does not
    filter (only ListModelMixin.list calls filter_queryset), so it declares none of the filters."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    checked = 0
    for path, _, method, callback in generator.endpoints:
        view = generator.create_view(callback, method)
        action = getattr(view, "action", None)
        filterset = getattr(view, "filterset_class", None)
        if method != "GET" or action in (None, "list") or "filter_backends" in vars(view) or filterset is None:
            continue
        operation = schema["paths"][path.replace("{pk}", "{id}")]["get"]  # the document names a pk `id`
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert not names & (set(filterset.base_filters) | {"ordering"}), (path, action, names)
        checked += 1
    assert checked >= 2  # comments and attachments at least


# --- The chatbot's event stream is described event by event ---------------------------------------


def test_the_chat_event_stream_is_declared_as_events(schema):
    """The stream was declared as one ChatOut body (the fuzzer read its `start` event as one), and
    its errors as text/event-stream too, though they are always problem+json."""
    success = schema["paths"]["/api/v1/ai/chat/"]["post"]["responses"]["200"]["content"]
    assert component(schema, success["application/json"])["required"][0] == "answer"
    event = component(schema, success["text/event-stream"])
    assert set(event["required"]) == {"event", "data"}
    enum = schema["components"]["schemas"]["ChatEventEnum"]["enum"]
    assert set(enum) == {"start", "token", "replace", "done", "error"}


def test_errors_are_problem_json_even_when_the_event_stream_is_asked_for(client_for, schema):
    declared = schema["paths"]["/api/v1/ai/chat/"]["post"]["responses"]
    for status, who, body in [(401, "anonymous", {"message": "hi"}), (400, "employee", {"message": ""})]:
        assert list(declared[str(status)]["content"]) == ["application/problem+json"]
        response = client_for(who).post("/api/v1/ai/chat/", body, format="json", HTTP_ACCEPT="text/event-stream")
        assert_problem(response, status)


# --- A field the document takes, the service takes ------------------------------------------------


def test_an_admin_can_create_a_user_inactive_as_the_document_allows(client_for):
    body = {"email": "new.starter@example.com", "password": "a-long-enough-passphrase-2026", "is_active": False}
    response = client_for("admin").post("/api/v1/users/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["is_active"] is False
    assert User.objects.get(email="new.starter@example.com").is_active is False
    login = Client().post(
        "/api/v1/auth/login/", {"email": body["email"], "password": body["password"]}, content_type="application/json"
    )
    assert login.status_code in (400, 401)
