"""Helpers for tests: signed-in clients and browsers, the role matrix, problem+json assertions,
captured domain events, sample files and uploads, the demo data, skips."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, TestCase, override_settings
from rest_framework.test import APIClient

from accounts.tokens import issue_pair
from helpdesk import events
from helpdesk.models import OutboxEvent

# The checkout: manage.py, README.md, and var/ (which no test may write to: tests/conftest.py).
ROOT = Path(__file__).resolve().parents[1]

# The role matrix: who calls, from the outside in.
WHO = ["anonymous", "employee", "agent_other", "agent", "lead", "admin"]


def bearer_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")
    return client


def browser_for(user, **client_options) -> Client:
    """A browser signed in to Django admin (a session, as after the login form) as `user`.
    `client_options` go to django.test.Client, e.g. enforce_csrf_checks=True."""
    client = Client(**client_options)
    client.force_login(user)
    return client


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is application/problem+json with the given status (and code)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    for key in ("type", "title", "status", "detail", "instance", "code"):
        assert key in body, key
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


requires_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15 (.ci/run always does)",
)


def matrix(expected: list[int]) -> list[tuple[str, int]]:
    """Pair each caller of WHO with the status it should get."""
    assert len(expected) == len(WHO)
    return list(zip(WHO, expected, strict=True))


# --- Domain events ------------------------------------------------------------------------------


@contextmanager
def captured_events(*kinds: type[events.Event]) -> Iterator[list[events.Event]]:
    """Every event of these classes (subclasses included) stored in the outbox inside the block,
    in order, as the consumers get them (filled in when the block ends):

        with captured_events(events.TicketDeleted) as seen:
            client.delete(url)
        assert seen[0].actor_id == admin.pk
    """
    assert kinds, "name the event classes to capture"
    before = set(OutboxEvent.objects.values_list("pk", flat=True))
    seen: list[events.Event] = []
    try:
        yield seen
    finally:
        rows = OutboxEvent.objects.exclude(pk__in=before).order_by("created_at", "id")
        seen.extend(event for event in (events.Event.from_data(row.data) for row in rows) if isinstance(event, kinds))


@contextmanager
def delivered(using: str = "default") -> Iterator[None]:
    """Deliver the events the block stores, as production does right after each commit (a test's
    own transaction never commits, so without this nothing hears them)."""
    with TestCase.captureOnCommitCallbacks(using=using, execute=True):
        yield


# --- Sample files and uploads -------------------------------------------------------------------

# Built from two halves, so that no file of the test suite is itself the antivirus test signature.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR" + b"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# A valid 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
    "0000050001e226059b0000000049454e44ae426082"
)
# The smallest PDF that sniffs as one (no pages, no text).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_bytes(*paragraphs: str) -> bytes:
    """A Word document with these paragraphs."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs or ("The VPN drops every ten minutes.",):
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    """A ZIP archive with one text file (not a type any upload accepts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


def uploaded_file(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    """A file as Django hands an upload to a view (kept in memory); `content_type` is the client's claim."""
    return SimpleUploadedFile(name, data, content_type=content_type)


def post_file(client, url: str, name: str, data: bytes, content_type: str = "application/octet-stream", **fields):
    """POST one file as the multipart form field "file", with any other form `fields`."""
    return client.post(url, {"file": uploaded_file(name, data, content_type), **fields}, format="multipart")


def stored_keys(prefix: str = "") -> list[str]:
    """Every key in the "attachments" storage under `prefix` ("tickets", "kb"; "": all), sorted."""
    storage = storages["attachments"]
    if prefix and not storage.exists(prefix):
        return []
    folders, names = storage.listdir(prefix)
    keys = [f"{prefix}/{name}" if prefix else name for name in names]
    for folder in folders:
        keys += stored_keys(f"{prefix}/{folder}" if prefix else folder)
    return sorted(keys)


# --- Demo data ----------------------------------------------------------------------------------


def seed_demo_data() -> str:
    """Run `manage.py seed_demo` as `make run` does (DEBUG on); its output. Needs the database.
    It trains the router and fills the AI index under settings.AI_DIR (the run's temporary VAR_DIR,
    or the test's own under tests/ai_assist/)."""
    out = io.StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out, verbosity=0)
    return out.getvalue()


HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def operations(schema: dict, *, api_only: bool = True):
    """(path, method, operation) of every operation of an OpenAPI document: the API's (under /api/),
    or with api_only=False also the plain views the document describes (inbound email, company sign-in)."""
    for path, item in schema["paths"].items():
        if api_only and not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def user_change_form(user, **overrides) -> dict:
    """The POST of Django admin's user change form for `user`, with `overrides`; a field given
    None is left out (an unticked checkbox)."""
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "department": user.department_id or "",
        "skills": "[]",
        "is_available": "on",
        "is_active": "on",
        # The company-account inline (accounts.admin.CompanyIdentityInline): its formset's counts.
        "company_identities-TOTAL_FORMS": "0",
        "company_identities-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@contextmanager
def made_once_per_module(django_db_blocker) -> Iterator[bool]:
    """For a module whose tests all need the same rows: a module-scoped fixture makes them once inside
    this transaction, which is rolled back after the module's last test. Each test runs in a savepoint
    inside it (pytest-django's `db`), so what one test writes the next never sees. Yields False where
    the database has no transactions (MongoDB without a replica set: every test flushes), and the
    fixture then leaves the rows to each test (`fresh_world`)."""
    from django.db import connection, transaction

    with django_db_blocker.unblock():
        if not connection.features.supports_transactions:
            yield False
            return
        with transaction.atomic():
            yield True
            transaction.set_rollback(True)


def fresh_world(world, build):
    """The module's world as this test starts: its rows read again (a test's writes to the objects in
    memory must not reach the next test), or built anew where the module could not keep it."""
    from dataclasses import fields, is_dataclass, replace

    from django.db.models import Model

    if world is None:
        return build()

    def fresh(value):
        if isinstance(value, Model):
            return type(value)._default_manager.get(pk=value.pk)
        if isinstance(value, dict):
            return {key: fresh(item) for key, item in value.items()}
        return value

    if is_dataclass(world):
        return replace(world, **{field.name: fresh(getattr(world, field.name)) for field in fields(world)})
    return fresh(world)
