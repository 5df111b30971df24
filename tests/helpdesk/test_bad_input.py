"""No input gets a 500 (issue 15, point 1): each of these gets a clear 4xx problem+json and changes
nothing. On SQLite here, and on PostgreSQL when DATABASE_URL names one (.ci/run), where a NUL
character in a query used to make the driver raise.

Where each is handled: nesting and truncated multipart in helpdesk/api/parsers.py, NUL characters
in paths and query strings in helpdesk.middleware.RejectNulMiddleware, NUL characters and integer
widths of every body field in helpdesk.api.serializers.StrictSerializer, too many fields in
helpdesk.api.errors, date-times at the calendar's edge in helpdesk/api/filters.py, unknown /api/
paths in helpdesk.api.views.api_not_found.
"""

from __future__ import annotations

import importlib

import pytest
from django.test import Client, override_settings
from rest_framework import serializers

from accounts.models import Department, Role, User
from helpdesk.api.serializers import NUL_MESSAGE, StrictSerializer
from helpdesk.api.views import csrf_failure
from knowledge.models import Article, ArticleVersion, Category
from tests.factories import ArticleFactory, CategoryFactory, TicketFactory, UserFactory
from tests.helpers import PNG, assert_problem, bearer_client, browser_for, post_file, stored_keys
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(people, department):
    """A ticket, an article and a category to aim at, and the admin's client."""
    admin = people["admin"]
    ticket = TicketFactory(requester=people["employee"], department=department, title="VPN drops")
    article = ArticleFactory(title="Reset the VPN", author=admin)
    category = CategoryFactory(name="Network")
    return {"admin": bearer_client(admin), "ticket": ticket, "article": article, "category": category}


def snapshot(world) -> tuple:
    """Everything these requests could have written."""
    ticket = Ticket.objects.get(pk=world["ticket"].pk)
    article = Article.objects.get(pk=world["article"].pk)
    return (
        Ticket.objects.count(),
        Article.objects.count(),
        ArticleVersion.objects.count(),
        Category.objects.count(),
        User.objects.count(),
        Department.objects.count(),
        (ticket.version, ticket.title, ticket.status, len(ticket.comments), len(ticket.attachments)),
        (article.version, article.title, article.status),
        tuple(stored_keys()),
    )


# --- Pathologically nested JSON -------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_deeply_nested_json_is_a_400_parse_error(world, depth, shape):
    before = snapshot(world)
    if shape == "arrays":
        body = "[" * depth + "]" * depth
    else:
        body = '{"title": ' + '{"a": ' * depth + "1" + "}" * depth + ', "description": "x"}'
    for path in ["/api/v1/tickets/", "/api/v1/auth/login/"]:
        response = world["admin"].generic("POST", path, body, content_type="application/json")
        assert "nests deeper than 32" in assert_problem(response, 400, "parse_error")["detail"]
    assert snapshot(world) == before


def test_json_nested_a_few_levels_is_still_accepted(world):
    response = world["admin"].post("/api/v1/tickets/", {"title": "A", "description": "B", "tags": ["x"]}, format="json")
    assert response.status_code == 201


# --- More fields than Django allows (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1000) -------------------------


MANY = "&".join(f"f{index}=1" for index in range(1_500))


@pytest.mark.parametrize("path", ["/api/v1/tickets/", "/api/v1/kb/search/", "/api/v1/kb/articles/", "/api/v1/users/"])
def test_too_many_query_fields_is_a_400(world, path):
    assert_problem(world["admin"].get(f"{path}?{MANY}"), 400, "too_many_fields")


def test_a_form_post_to_a_json_endpoint_is_a_415_and_writes_nothing(world):
    """The API takes JSON bodies only (multipart only where a file is uploaded): a form, however
    many fields it has, is refused by its media type before any field is read."""
    before = snapshot(world)
    form = "application/x-www-form-urlencoded"
    for client, path in [(world["admin"], "/api/v1/tickets/"), (Client(), "/api/v1/auth/login/")]:
        for body in ["title=A&description=B", MANY]:
            problem = assert_problem(
                client.generic("POST", path, body, content_type=form), 415, "unsupported_media_type"
            )
            assert form in problem["detail"]
    assert snapshot(world) == before


def test_too_many_multipart_fields_on_an_upload_is_a_400_and_stores_nothing(world):
    before = snapshot(world)
    body = "".join(f'--xyz\r\nContent-Disposition: form-data; name="f{index}"\r\n\r\n1\r\n' for index in range(1_500))
    response = world["admin"].generic(
        "POST",
        f"/api/v1/tickets/{world['ticket'].pk}/attachments/",
        (body + "--xyz--\r\n").encode(),
        content_type="multipart/form-data; boundary=xyz",
    )
    assert_problem(response, 400, "too_many_fields")
    assert snapshot(world) == before


def test_too_many_query_fields_names_the_problem(world):
    body = assert_problem(world["admin"].get(f"/api/v1/tickets/?{MANY}"), 400, "too_many_fields")
    assert "fields" in body["detail"]


# --- NUL characters: in path ids, in query strings, in every text field --------------------------


def detail_paths(world) -> list[str]:
    return [
        "/api/v1/tickets/{id}/",
        "/api/v1/tickets/{id}/comments/",
        "/api/v1/tickets/{id}/attachments/",
        "/api/v1/tickets/{id}/transition/",
        "/api/v1/tickets/{id}/assign/",
        "/api/v1/tickets/{id}/escalate/",
        f"/api/v1/tickets/{world['ticket'].pk}/attachments/{{id}}/download/",
        "/api/v1/users/{id}/",
        "/api/v1/departments/{id}/",
        "/api/v1/kb/articles/{id}/",
        "/api/v1/kb/articles/{id}/versions/",
        "/api/v1/kb/articles/{id}/publish/",
        "/api/v1/kb/articles/{id}/revert/",
        "/api/v1/kb/categories/{id}/",
        "/api/v1/ai/tickets/{id}/routing/",
    ]


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_a_nul_in_a_path_id_is_a_404_problem(world, method):
    before = snapshot(world)
    for template in detail_paths(world):
        path = template.format(id=f"{world['ticket'].pk}%00")
        response = getattr(world["admin"], method)(path, {"title": "x"}, format="json")
        assert_problem(response, 404, "not_found")
    assert snapshot(world) == before


def test_a_nul_in_an_admin_path_is_a_plain_404(world, people):
    browser = browser_for(UserFactory(role=Role.ADMIN))
    response = browser.get(f"/admin/tickets/ticket/{world['ticket'].pk}%00/change/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/?q=vpn%00",
        "/api/v1/tickets/?department=%00",
        "/api/v1/tickets/?page=%00",
        "/api/v1/kb/articles/?category=a%00",
        "/api/v1/kb/search/?q=vpn%00",
        "/api/v1/users/?q=%00",
        "/api/v1/departments/?name=%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400_problem(world, path):
    assert_problem(world["admin"].get(path), 400, "invalid_query")


def strict_serializers() -> list[type[StrictSerializer]]:
    for module in ("accounts", "tickets", "knowledge", "ai_assist"):
        importlib.import_module(f"{module}.api.serializers")
    found, stack = [], [StrictSerializer]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            stack.append(sub)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__name__}")


def text_inputs(serializer: type[StrictSerializer]) -> dict[str, object]:
    """A value with a NUL for each field of `serializer` that takes text (lists of text too)."""
    values: dict[str, object] = {}
    for name, field in serializer().fields.items():
        if field.read_only or isinstance(field, serializers.FileField):
            continue
        if isinstance(field, serializers.ListField):
            values[name] = ["ok", "bad\x00value"]
        elif isinstance(field, serializers.BooleanField | serializers.IntegerField | serializers.FloatField):
            continue
        else:  # CharField and its kin, choices, ids of related rows: all arrive as text
            values[name] = "bad\x00value"
    return values


def test_every_request_body_serializer_is_strict():
    assert len(strict_serializers()) >= 15  # the helper finds them all (a new app's too)


@pytest.mark.parametrize("serializer", strict_serializers(), ids=lambda cls: cls.__name__)
def test_every_text_field_of_every_request_body_refuses_a_nul(db, serializer):
    for name, value in text_inputs(serializer).items():
        with pytest.raises(serializers.ValidationError) as refused:
            serializer.validated({name: value}, partial=True)
        errors = refused.value.detail
        key = name if name in errors else f"{name}.1"
        assert errors[key] == [NUL_MESSAGE], (name, errors)


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/tickets/", {"title": "VPN", "description": "down", "department": "dept\x00"}),
        ("/api/v1/tickets/", {"title": "VPN\x00", "description": "down"}),
        ("/api/v1/tickets/", {"title": "VPN", "description": "down", "tags": ["a\x00"]}),
        ("/api/v1/kb/articles/", {"title": "A", "body": "B", "category": "cat\x00"}),
        ("/api/v1/kb/categories/", {"name": "Printers", "parent": "cat\x00"}),
        ("/api/v1/users/", {"email": "x@example.com", "password": "violet-harbour-1842", "department": "d\x00"}),
        ("/api/v1/departments/", {"name": "Net\x00work"}),
        ("/api/v1/auth/signup/", {"email": "n@example.com", "password": "violet\x00harbour-1842"}),
        ("/api/v1/auth/login/", {"email": "n@example.com", "password": "pass\x00word"}),
        ("/api/v1/auth/refresh/", {"refresh": "a\x00b"}),
        ("/api/v1/ai/route/", {"title": "VPN\x00", "description": "down"}),
        ("/api/v1/ai/similar/", {"title": "VPN\x00", "description": "down"}),
        ("/api/v1/tickets/{ticket}/comments/", {"body": "still down\x00"}),
        ("/api/v1/tickets/{ticket}/assign/", {"assignee": "u\x00"}),
        ("/api/v1/tickets/{ticket}/escalate/", {"reason": "slow\x00"}),
    ],
)
def test_a_nul_in_a_body_field_is_a_400_naming_it_and_writes_nothing(world, path, body):
    before = snapshot(world)
    response = world["admin"].post(path.format(ticket=world["ticket"].pk), body, format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert NUL_MESSAGE in str(problem["errors"])
    assert snapshot(world) == before


def test_a_nul_in_a_patch_or_a_form_field_is_refused_too(world):
    before = snapshot(world)
    ticket = world["ticket"]
    response = world["admin"].patch(
        f"/api/v1/tickets/{ticket.pk}/", {"version": ticket.version, "department": "d\x00"}, format="json"
    )
    assert assert_problem(response, 400, "validation_error")["errors"] == {"department": [NUL_MESSAGE]}
    response = post_file(
        world["admin"], "/api/v1/kb/documents/", "a.md", b"# Title\n\nBody", "text/markdown", tags="a\x00"
    )
    assert assert_problem(response, 400, "validation_error")["errors"] == {"tags": [NUL_MESSAGE]}
    assert snapshot(world) == before


# --- Odd but well-typed values ------------------------------------------------------------------


@pytest.mark.parametrize("version", [2**63, 2**64, 10**30])
def test_integers_wider_than_a_database_column_are_a_400_naming_the_field(world, version):
    before = snapshot(world)
    ticket, article = world["ticket"], world["article"]
    response = world["admin"].patch(f"/api/v1/tickets/{ticket.pk}/", {"version": version, "title": "x"}, format="json")
    assert set(assert_problem(response, 400, "validation_error")["errors"]) == {"version"}
    response = world["admin"].post(f"/api/v1/kb/articles/{article.pk}/revert/", {"version": version}, format="json")
    assert set(assert_problem(response, 400, "validation_error")["errors"]) == {"version"}
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "query",
    [
        "created_after=0001-01-01T00:00:00%2B01:00",  # before year 1 in UTC
        "created_before=9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "created_after=99999-01-01",
        "created_after=2020-02-30",
    ],
)
def test_date_times_outside_the_calendar_are_a_400(world, query):
    body = assert_problem(world["admin"].get(f"/api/v1/tickets/?{query}"), 400, "validation_error")
    assert set(body["errors"]) == {"created"}


def test_date_times_at_the_calendar_edge_in_utc_are_accepted(world):
    for query in ["created_after=0001-01-01T00:00:00Z", "created_before=9999-12-31T23:59:59Z"]:
        assert world["admin"].get(f"/api/v1/tickets/?{query}").status_code == 200


@pytest.mark.parametrize("page_size", ["-1", "0", "99999999999999999999999", "abc"])
def test_odd_page_sizes_fall_back_to_the_default_page(world, page_size):
    # DRF's documented behaviour: a page_size it cannot use means the default size (25), at most 100.
    response = world["admin"].get(f"/api/v1/tickets/?page_size={page_size}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.parametrize("page", ["0", "-1", "99999999999999999999999", "last", "1.5"])
def test_odd_page_numbers_are_a_404_problem_or_the_last_page(world, page):
    response = world["admin"].get(f"/api/v1/tickets/?page={page}")
    assert response.status_code in (200, 404)
    if response.status_code == 404:
        assert_problem(response, 404)


@pytest.mark.parametrize(
    "title", ["😀", "\u200b", "\u202e evil", "ǅ", "ﬁ" * 80, "İstanbul", "a\u0301", "\U0001f3f3\ufe0f\u200d\U0001f308"]
)
def test_unicode_oddities_are_stored_and_read_back_as_sent(world, title):
    created = world["admin"].post("/api/v1/tickets/", {"title": title, "description": title}, format="json")
    assert created.status_code == 201, created.content
    assert world["admin"].get(f"/api/v1/tickets/{created.json()['id']}/").json()["title"] == title
    article = world["admin"].post("/api/v1/kb/articles/", {"title": title, "body": title}, format="json")
    assert article.status_code == 201, article.content


def test_a_lone_surrogate_in_json_is_a_400(world):
    before = snapshot(world)
    body = '{"title": "\\ud800", "description": "x"}'
    response = world["admin"].generic("POST", "/api/v1/tickets/", body, content_type="application/json")
    assert set(assert_problem(response, 400, "validation_error")["errors"]) == {"title"}
    assert snapshot(world) == before


# --- Writes to unknown /api/ paths: a problem+json 404, never Django's HTML CSRF page --------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_an_unknown_api_path_is_a_problem_404(world, method):
    anonymous = Client(enforce_csrf_checks=True)
    staff_browser = browser_for(UserFactory(role=Role.ADMIN), enforce_csrf_checks=True)
    for client in (anonymous, staff_browser, world["admin"]):
        for path in ["/api/v1/no-such-thing/", "/api/v1/tickets/x/no-such-action/", "/api/v2/tickets/"]:
            response = getattr(client, method)(path, "{}", content_type="application/json")
            assert_problem(response, 404, "not_found")


def test_a_csrf_failure_under_api_is_problem_json(rf):
    request = rf.post("/api/v1/anything/")
    response = csrf_failure(request, reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_request_django_refuses_itself_is_a_problem_400(api):
    assert_problem(api.get("/api/v1/auth/me/", HTTP_HOST="evil.example"), 400, "bad_request")


# --- Malformed multipart ------------------------------------------------------------------------


MALFORMED_MULTIPART = [
    ("multipart/form-data", b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nhello\r\n--xyz--\r\n'),
    ("multipart/form-data; boundary=xyz", b"garbage without any boundary"),
    (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n',
    ),
    (  # cut before its closing boundary: the file would be stored half
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + PNG[:40],
    ),
    ("multipart/form-data; boundary=" + "x" * 300, b"--" + b"x" * 300 + b"--\r\n"),
    ("multipart/form-data; boundary=\x01", b"--\x01--"),
]


@pytest.mark.parametrize("content_type,body", MALFORMED_MULTIPART)
def test_malformed_multipart_is_a_400_and_stores_nothing(world, content_type, body):
    before = snapshot(world)
    for path in [f"/api/v1/tickets/{world['ticket'].pk}/attachments/", "/api/v1/kb/documents/"]:
        response = world["admin"].generic("POST", path, body, content_type=content_type)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:300])
        assert_problem(response, response.status_code)
    assert snapshot(world) == before


def test_a_well_formed_upload_still_works(world):
    response = post_file(
        world["admin"], f"/api/v1/tickets/{world['ticket'].pk}/attachments/", "a.png", PNG, "image/png"
    )
    assert response.status_code == 201
