"""The authorization matrix, generated from the URL configuration (issue 15, point 5).

Every endpoint and method of /api/v1/ (and the websocket feed) is called as each caller of
tests/security/authz_table.py against the object its row names, and must answer the status the table
gives. Around each call:
- a GET is also sent as HEAD (same status, no body);
- a hidden object (the caller is not in VISIBLE for it) answers exactly what a missing id answers:
  the same status and problem code, so never a 403 that confirms it exists;
- a refused write (4xx to POST, PATCH or DELETE) leaves every row of the database as it was;
- no 2xx body holds a marker word of something the caller may not read (authz_table.MARKERS).

One world is built per module inside a transaction that is rolled back at the end; each cell runs in
a savepoint of its own (pytest-django's `db`), so a write in one cell is gone in the next.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from itertools import count

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.conf import settings as django_settings
from django.core.files.storage import storages
from django.test import override_settings
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import sso_views
from accounts.models import Role
from ai_assist import chat, retrieval, store
from helpdesk import urls as project_urls
from helpdesk.db import new_object_id
from intake import urls as intake_urls
from knowledge import services as kb
from knowledge.models import Status as ArticleStatus
from knowledge.models import Visibility
from notifications import routing as ws_routing
from notifications.models import Kind, Notification
from tests.factories import (
    PASSWORD,
    ArticleFactory,
    AuditEntryFactory,
    CategoryFactory,
    DepartmentFactory,
    SuggestionFactory,
    TicketFactory,
    UserFactory,
)
from tests.helpers import PNG, bearer_client, made_once_per_module, stored_keys, uploaded_file
from tests.intake.test_webhooks import basic_auth, postmark_json
from tests.security.authz_table import CALLERS, MARKERS, ROWS, VISIBLE, Row
from tickets import selectors as ticket_selectors
from tickets import services as tickets
from tickets.models import Status as TicketStatus
from tickets.schemas import new_comment

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
OUR_APPS = (
    "accounts",
    "tickets",
    "knowledge",
    "ai_assist",
    "audit",
    "notifications",
    "helpdesk",
    "otp_totp",
    "otp_static",
)


# --- The endpoints, from the URL configuration ------------------------------------------------------


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


# The plain Django views outside /api/v1/ that callers reach: the providers' inbound email webhooks
# (intake.urls) and company sign-in for Django admin (accounts.sso_views). Their methods are stated
# here, since a function view does not say them; a new one without an entry fails the walk below.
PLAIN_VIEW_METHODS = {
    "intake-inbound": {"POST"},
    "intake-inbound-mandrill": {"POST"},
    "sso-login": {"GET"},
    "sso-callback": {"GET"},
}


def allowed_methods(callback) -> set[str]:
    """What the view answers other than 405, HEAD and OPTIONS (HEAD is checked with each GET;
    OPTIONS by test_options_*). A viewset route maps methods to actions; the class's
    http_method_names still refuses the rest (the router maps PUT even where it is off)."""
    cls = callback.cls
    names = set(cls.http_method_names) - {"head", "options"}
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return {method.upper() for method in actions if method in names}
    return {method.upper() for method in names if hasattr(cls, method)}


@functools.cache
def api_endpoints() -> dict[tuple[str, str], str]:
    """(url name, method) -> route for every endpoint under /api/v1/, the plain views of
    PLAIN_VIEW_METHODS and the websocket. The `.json` format-suffix routes DRF's router adds are the
    same views under the same names."""
    found = {}
    for route, pattern in _walk(project_urls.api_v1):
        assert pattern.name, f"api/v1/{route} has no URL name: name it, so the matrix can give it rows"
        for method in allowed_methods(pattern.callback):
            found.setdefault((pattern.name, method), route)
    for patterns in (intake_urls.urlpatterns, sso_views.urlpatterns):
        for route, pattern in _walk(patterns):
            assert pattern.name in PLAIN_VIEW_METHODS, f"{route}: state its methods in PLAIN_VIEW_METHODS"
            for method in PLAIN_VIEW_METHODS[pattern.name]:
                found[(pattern.name, method)] = route
    for route, _pattern in _walk(ws_routing.websocket_urlpatterns):
        found[(f"ws:{route.strip('/').split('/')[-1]}", "CONNECT")] = route
    return found


# --- The world ---------------------------------------------------------------------------------------


@dataclass
class World:
    people: dict
    objects: dict
    links: dict = field(default_factory=dict)  # download links issued while building
    clients: dict = field(default_factory=dict)
    rows: dict | None = None  # database_rows() of the world: every cell starts from it

    def database_rows(self) -> dict:
        if self.rows is None:
            self.rows = database_rows()
        return self.rows

    def client(self, who: str) -> APIClient:
        """One client per caller for the module: each new client would load the middleware again
        (WhiteNoise scans every static file then, about 0.1 s)."""
        if who not in self.clients:
            self.clients[who] = bearer_client(self.people.get(who))
        client = self.clients[who]
        client.cookies.clear()
        return client

    def id(self, name: str) -> str:
        return str(self.objects[name].pk)


def comment(author, body: str, *, internal: bool = False) -> dict:
    return new_comment(author_id=author.pk, body=body, internal=internal, created_at=timezone.now())


def build_world() -> World:
    network = DepartmentFactory(name="Network", description="VPN, Wi-Fi and the office network.")
    hardware = DepartmentFactory(name="Hardware", description="Laptops, printers and monitors.")
    empty_department = DepartmentFactory(name="Facilities", description="Desks and chairs.")
    people = {
        "employee": UserFactory(email="employee@example.com"),
        "employee_other": UserFactory(email="employee.other@example.com"),
        "agent_other": UserFactory(email="agent.other@example.com", role=Role.AGENT, department=hardware),
        "agent": UserFactory(email="agent@example.com", role=Role.AGENT, department=network),
        "lead": UserFactory(email="lead@example.com", role=Role.LEAD, department=network),
        "admin": UserFactory(email="admin@example.com", role=Role.ADMIN),
    }
    employee, agent, lead = people["employee"], people["agent"], people["lead"]
    ticket = TicketFactory(
        title="VPN drops every hour MKTICKET",
        description="Since Monday my VPN disconnects every hour when I work from home.",
        requester=employee,
        department=network,
        assignee=agent,
        comments=[
            comment(agent, "Please restart the VPN client and tell me if it still drops."),
            comment(agent, "MKNOTE: the gateway certificate of the Lisbon office expired.", internal=True),
        ],
    )
    tickets.attachment_add(actor=employee, ticket=ticket, uploaded=uploaded_file("screen.png", PNG, "image/png"))
    ticket.refresh_from_db()
    hw_ticket = TicketFactory(
        title="Laptop screen flickers MKHWTICKET",
        description="The laptop screen flickers when the charger is plugged in.",
        requester=people["employee_other"],
        department=hardware,
        assignee=people["agent_other"],
        status=TicketStatus.RESOLVED,
        comments=[comment(people["agent_other"], "We replaced the charger; the flicker is gone.")],
    )
    triage_ticket = TicketFactory(
        title="Badge reader MKTRIAGE", description="My badge does not open the door.", requester=employee
    )
    article = kb.article_create(
        actor=lead, title="Reset a forgotten password", body="Use the self-service portal to reset it."
    )
    article = kb.article_publish(actor=lead, article=article)
    article = kb.article_update(
        actor=lead, article=article, version=article.version, body="Open the self-service portal and reset it."
    )
    history = kb.article_create(
        actor=lead, title="Printer jam MKDRAFTHIST", body="Reported by MKDRAFTHIST at desk 4.17."
    )
    history = kb.article_update(
        actor=lead, article=history, version=1, title="Clear a printer jam", body="Open tray 2 and pull the sheet."
    )
    history = kb.article_publish(actor=lead, article=history)
    category = CategoryFactory(name="Accounts")
    objects = {
        "ticket": ticket,
        "hw_ticket": hw_ticket,
        "triage_ticket": triage_ticket,
        "article": article,
        "history_article": history,
        "agents_article": ArticleFactory(
            title="Unlock a directory account MKAGENTS", category=category, visibility=Visibility.AGENTS
        ),
        "leads_article": ArticleFactory(title="Directory failover runbook MKLEADS", visibility=Visibility.LEADS),
        "draft_article": ArticleFactory(title="Printer drivers MKDRAFT", status=ArticleStatus.DRAFT),
        "doc_article": kb.document_import(
            actor=lead,
            uploaded=uploaded_file("printer.md", b"# Printer guide\n\nTurn the printer off and on.", "text/markdown"),
            title="Printer guide",
        ),
        "category": category,
        "empty_category": CategoryFactory(name="Empty shelf"),
        "department": network,
        "empty_department": empty_department,
        "agent_user": agent,
        "route_suggestion": SuggestionFactory(ticket=ticket),
        "hw_route_suggestion": SuggestionFactory(ticket=hw_ticket),
        "audit_net": AuditEntryFactory(
            actor=agent, object_id=ticket.pk, department_id=network.pk, details={"t": "MKAUDITNET"}
        ),
        "audit_hw": AuditEntryFactory(
            actor=people["agent_other"], object_id=hw_ticket.pk, department_id=hardware.pk, details={"t": "MKAUDITHW"}
        ),
        "notification": Notification.objects.create(
            user=employee,
            event_id=new_object_id(),
            kind=Kind.REPLY,
            ticket_id=ticket.pk,
            ticket_title=ticket.title,
            text="MKNOTIF Agent replied to your ticket.",
            actor=agent,
        ),
    }
    # The AI reads what the index holds (factories and a transaction that never commits index nothing).
    for name in ("article", "history_article", "agents_article", "leads_article"):
        retrieval.article_corpus().upsert(objects[name])
    retrieval.ticket_corpus().upsert([ticket, hw_ticket, triage_ticket])
    objects["conversation"] = chat.ask(user=employee, message="MKCONV how do I reset my password?").conversation
    world = World(people=people, objects=objects)
    world.links["attachment"] = ticket_selectors.attachments_for(user=employee, ticket=ticket)[0]["download_url"]
    doc = objects["doc_article"]
    from knowledge import selectors as kb_selectors

    world.links["doc_file"] = kb_selectors.attachments_for(user=lead, article=doc)[0]["download_url"]
    return world


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, made once for the module's cells (each runs in a savepoint)."""
    ai = override_settings(
        AI_DIR=tmp_path_factory.mktemp("ai"),
        # Email intake as deployed (its rows post as the provider would, with and without its credentials).
        ANYMAIL={**django_settings.ANYMAIL, "WEBHOOK_SECRET": WEBHOOK_SECRET},
        EMAIL_INTAKE_ADDRESS="support@example.com",
        EMAIL_INTAKE_DOMAINS=["example.com"],
    )
    ai.enable()
    retrieval.reset()
    store.forget()
    stored_before = set(stored_keys())
    try:
        with made_once_per_module(django_db_blocker) as kept:
            yield build_world() if kept else None
    finally:
        for key in set(stored_keys()) - stored_before:
            storages["attachments"].delete(key)
        retrieval.reset()
        store.forget()
        ai.disable()


@pytest.fixture
def world(made, db) -> World:
    """Read-only for the cells: a refused request must write nothing, and an allowed write is rolled
    back with its savepoint (the objects in memory are not read again)."""
    return made if made is not None else build_world()


@pytest.fixture(autouse=True)
def _empty_attachments_storage():
    """Overrides tests/conftest.py's: the world's files are stored once for the module."""


# --- The request of each row ------------------------------------------------------------------------

_serial = count()
WEBHOOK_SECRET = "intake:a-long-random-webhook-password"


@dataclass
class Call:
    path: str
    data: dict | None = None
    format: str = "json"
    headers: dict = field(default_factory=dict)
    as_provider: bool = False  # sent by a mail provider: its own credentials, no caller's token


def _path(name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs or None)


def request_for(row: Row, world: World, who: str, object_id: str | None) -> Call:
    """The request a row makes; `object_id` is the id of the row's object (or a missing one)."""
    people = world.people
    key = (row.name, row.method, row.case)
    serial = next(_serial)
    pk = {"pk": object_id} if object_id else {}
    bodies = {
        ("auth-signup", "POST", "-"): {"email": f"new{serial}@example.com", "password": "a-new-long-passphrase"},
        ("auth-login", "POST", "-"): {"email": "employee@example.com", "password": PASSWORD},
        ("auth-me", "PATCH", "-"): {"first_name": "Renamed"},
        ("auth-oidc-token", "POST", "-"): {
            "code": "a-code",
            "code_verifier": "v" * 43,
            "redirect_uri": "https://app.example/cb",
            "nonce": "n" * 16,
        },
        ("auth-password", "POST", "-"): {"old_password": PASSWORD, "new_password": "another-long-passphrase-42"},
        ("auth-password", "POST", "-:wrong_old"): {
            "old_password": "not-the-password",
            "new_password": "another-long-passphrase-42",
        },
        ("auth-password-reset", "POST", "-:known_email"): {"email": "employee@example.com"},
        ("auth-password-reset", "POST", "-:unknown_email"): {"email": "nobody@example.com"},
        ("user-list", "POST", "-"): {"email": f"made{serial}@example.com", "password": "a-new-long-passphrase"},
        ("user-detail", "PATCH", "agent_user"): {"first_name": "Renamed"},
        ("department-list", "POST", "-"): {"name": f"Department {serial}"},
        ("department-detail", "PATCH", "department"): {"description": "Renamed."},
        ("ticket-list", "POST", "-"): {"title": "Printer jammed", "description": "Error 13 on the third floor."},
        ("ticket-detail", "PATCH", "ticket"): {"title": "VPN drops every two hours"},
        ("ticket-detail", "PATCH", "ticket:priority"): {"priority": "high"},
        ("ticket-detail", "PATCH", "hw_ticket:priority"): {"priority": "high"},
        ("ticket-assign", "POST", "ticket"): {"assignee": "me"},
        ("ticket-escalate", "POST", "ticket"): {"reason": "The whole office is affected."},
        ("ticket-transition", "POST", "ticket"): {"status": "resolved"},
        ("ticket-transition", "POST", "hw_ticket"): {"status": "open"},
        ("ticket-comments", "POST", "ticket"): {"body": "Any news?"},
        ("ticket-comments", "POST", "ticket:note"): {"body": "Checked the gateway.", "internal": True},
        ("kb-category-list", "POST", "-"): {"name": f"Category {serial}"},
        ("kb-category-detail", "PATCH", "category"): {"description": "Sign-in and accounts."},
        ("kb-article-list", "POST", "-"): {"title": f"New article {serial}", "body": "How to do it."},
        ("kb-article-detail", "PATCH", "article"): {"version": world.objects["article"].version, "summary": "New."},
        ("kb-article-detail", "PATCH", "draft_article"): {"version": 1, "summary": "New."},
        ("kb-article-revert", "POST", "article"): {"version": 1},
        ("ai-route", "POST", "-"): {"title": "VPN drops", "description": "The VPN disconnects every hour."},
        ("ai-similar", "POST", "-"): {"title": "VPN drops", "description": "The VPN disconnects every hour."},
        ("ai-chat", "POST", "-"): {"message": "How do I reset my password?"},
        ("ai-chat", "POST", "-:event_stream"): {"message": "How do I reset my password?"},
        ("ai-chat", "POST", "conversation"): {"message": "And after that?", "conversation_id": object_id},
        ("ai-conversation-ticket", "POST", "conversation"): {"title": "Password reset", "description": "Help."},
        ("ai-suggestion-feedback", "POST", "route_suggestion"): {"verdict": "accepted"},
        ("ai-kb-gap-draft", "POST", "gap"): {},
        ("kb-article-from-ticket", "POST", "ticket"): {"ticket": object_id},
        ("kb-article-from-ticket", "POST", "hw_ticket"): {"ticket": object_id},
        ("notification-email-preferences", "PATCH", "-"): {"reply": False},
        ("auth-password-reset-confirm", "POST", "reset_token"): {
            "uid": "bm9ib2R5",
            "token": "not-a-token",
            "new_password": "another-long-passphrase-42",
        },
    }
    data = bodies.get(key)
    name = row.name
    if name.startswith("auth-2fa-"):
        data = second_factor_body(row, people)
    if name in ("auth-refresh", "auth-logout"):
        from accounts.tokens import issue_pair

        data = {"refresh": issue_pair(people["employee"])["refresh"]}
    if name == "ticket-attachments" and row.method == "POST":
        return Call(_path(name, **pk), {"file": uploaded_file("log.png", PNG, "image/png")}, "multipart")
    if name == "kb-documents":
        upload = uploaded_file("howto.md", b"# How to\n\nRestart the router.", "text/markdown")
        return Call(_path(name), {"file": upload, "title": "How to restart"}, "multipart")
    if name in ("ticket-attachment-download", "kb-attachment-download"):
        link = world.links[row.object]
        return Call(link.split("?")[0] if row.case.endswith(":no_link") else link)
    if name == "kb-search":
        return Call(_path(name) + "?q=password")
    if name == "intake-inbound":
        if row.case == "-:signed":
            return Call(
                _path(name, provider="postmark"), postmark_json(), headers=basic_auth(WEBHOOK_SECRET), as_provider=True
            )
        return Call(_path(name, provider="postmark"), postmark_json())
    if name == "intake-inbound-mandrill":
        headers = basic_auth(WEBHOOK_SECRET)
        return Call(_path(name, provider="mandrill"), {"mandrill_events": "[]"}, "multipart", headers, as_provider=True)
    if name == "kb-article-version":
        return Call(_path(name, pk=object_id, number=1))
    if name in ("ai-ticket-routing", "ai-draft-reply", "ai-ticket-summary"):
        return Call(_path(name, ticket_id=object_id), data)
    if name in ("ai-conversation-detail", "ai-conversation-ticket"):
        return Call(_path(name, conversation_id=object_id), data)
    if name == "ai-suggestion-feedback":
        return Call(_path(name, suggestion_id=object_id), data)
    if name == "ai-kb-gap-draft":
        return Call(_path(name, gap_id=object_id), data)
    if name == "ai-chat" and row.case == "-:event_stream":
        return Call(_path(name), data, headers={"HTTP_ACCEPT": "text/event-stream"})
    if name in ("ai-chat", "kb-article-from-ticket"):
        return Call(_path(name), data)
    if name == "auth-password-reset-confirm":
        return Call(_path(name), data)
    if row.method in WRITES and data is None and key not in bodies:
        data = {}
    return Call(_path(name, **pk), data)


def second_factor_body(row: Row, people: dict) -> dict:
    """The second factor's bodies: a forged challenge; a real one for the lead, enrolled here (the
    cell's transaction rolls it back) with the code an app shows now; the Network agent's enrolment
    challenge (STAFF_REQUIRE_2FA)."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import two_factor

    if row.name == "auth-2fa-verify" and row.case == "-:code":
        device = TOTPDevice.objects.create(user=people["lead"], name="Authenticator", confirmed=True)
        code = TOTP(device.bin_key).token()
        return {"challenge": two_factor._challenge(people["lead"], two_factor.VERIFY), "code": f"{code:06d}"}
    if row.name == "auth-2fa-verify":
        return {"challenge": "not-a-challenge", "code": "123456"}
    body = {"challenge": two_factor._challenge(people["agent"], two_factor.ENROL)} if row.case == "-:challenge" else {}
    if row.name == "auth-2fa-confirm":
        body["code"] = "000000"
    return body


def send(client, row: Row, call: Call):
    if call.as_provider:
        client = APIClient()
    method = getattr(client, row.method.lower())
    if row.method in ("GET", "HEAD"):
        return method(call.path, **call.headers)
    return method(call.path, call.data, format=call.format, **call.headers)


# --- Checks ------------------------------------------------------------------------------------------


def database_rows() -> dict[str, list[dict]]:
    """Every row of every table of the product (the world is small): a refused write changes none."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and not model._meta.proxy
    }


def body_text(response) -> str:
    raw = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return raw.decode(errors="replace")


def problem_code(response, text: str) -> str | None:
    if response.get("Content-Type", "").startswith("application/problem+json"):
        return json.loads(text).get("code")
    return None


def hidden_from(row: Row, who: str) -> bool:
    return who != "anonymous" and row.object in VISIBLE and who not in VISIBLE[row.object]


def leaked_markers(text: str, who: str) -> list[str]:
    return [marker for marker, readers in MARKERS.items() if marker in text and who not in readers]


HTTP_CELLS = [(row, who) for row in ROWS if row.method != "CONNECT" for who in CALLERS]


@pytest.mark.parametrize("row,who", HTTP_CELLS, ids=[f"{row.id} {who}" for row, who in HTTP_CELLS])
def test_cell(world, db, row, who):
    if (row.name, row.method) not in api_endpoints():
        pytest.fail(f"{row.name} is not in the URL configuration: remove its rows or add the endpoint")
    expected = row.expected[who]
    client = world.client(who)
    object_id = world.id(row.object) if row.object in world.objects else None
    if row.object == "gap" or row.object == "reset_token":
        object_id = new_object_id()
    refused_write = row.method in WRITES and expected >= 400
    before = world.database_rows() if refused_write else None

    response = send(client, row, request_for(row, world, who, object_id))
    text = body_text(response)

    assert response.status_code < 500, text[:800]
    assert response.status_code == expected, f"{row.id} as {who}: {response.status_code} {text[:400]}"
    if refused_write:
        assert database_rows() == before, f"{row.id} as {who} was refused ({expected}) but changed the database"
    if 200 <= response.status_code < 300:
        assert not leaked_markers(text, who), f"{row.id} as {who} shows {leaked_markers(text, who)}: {text[:600]}"
    if row.case.endswith(":event_stream") and expected == 200:
        assert response["Content-Type"].startswith("text/event-stream")
        assert "event: done" in text
    if row.method == "GET":
        head = client.head(request_for(row, world, who, object_id).path)
        assert head.status_code == response.status_code, f"HEAD {row.id} as {who}: {head.status_code}"
        assert not (b"".join(head.streaming_content) if head.streaming else head.content)
    if hidden_from(row, who):
        # Hidden must look exactly like missing: same status, same problem code.
        missing = send(client, row, request_for(row, world, who, new_object_id()))
        missing_text = body_text(missing)
        assert (response.status_code, problem_code(response, text)) == (
            missing.status_code,
            problem_code(missing, missing_text),
        ), f"{row.id} as {who}: hidden {response.status_code} but missing {missing.status_code}"
        assert response.status_code != 403 or missing.status_code == 403, "a 403 confirms the object exists"


# --- The websocket feed ------------------------------------------------------------------------------

WS_ROWS = [row for row in ROWS if row.method == "CONNECT"]
WS_CELLS = [(row, who) for row in WS_ROWS for who in CALLERS]


@pytest.mark.parametrize("row,who", WS_CELLS, ids=[f"{row.id} {who}" for row, who in WS_CELLS])
def test_websocket_cell(world, db, monkeypatch, settings, row, who):
    # Channels closes "old" connections around each database call; inside the module's
    # transaction that would drop the savepoints, so the feed shares the test's connection as is.
    import channels.db

    monkeypatch.setattr(channels.db, "close_old_connections", lambda: None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends = {}
    from accounts.tokens import issue_pair

    user = world.people.get(who)
    path = "/ws/feed/" + (f"?token={issue_pair(user)['access']}" if user else "")

    async def scenario():
        communicator = WebsocketCommunicator(ws_routing.websocket_application(), path)
        connected, _ = await communicator.connect()
        assert connected
        if user is None:
            await communicator.send_to(text_data=json.dumps({"type": "ping"}))
            output = await communicator.receive_output(3)
            while output["type"] == "websocket.send":
                output = await communicator.receive_output(3)
            return output.get("code"), ""
        output = await communicator.receive_output(3)
        await communicator.disconnect()
        message = json.loads(output["text"])
        return (101 if message["type"] == "hello" else message["type"]), output["text"]

    code, text = async_to_sync(scenario)()
    channel_layers.backends = {}
    assert code == row.expected[who]
    assert not leaked_markers(text, who)


# --- The table matches the URL configuration ---------------------------------------------------------


def test_every_endpoint_and_method_has_a_row_and_every_row_an_endpoint():
    endpoints = set(api_endpoints())
    rows = {(row.name, row.method) for row in ROWS}
    assert not endpoints - rows, f"endpoints without a row in tests/security/authz_table.py: {sorted(endpoints - rows)}"
    assert not rows - endpoints, f"rows for endpoints that do not exist: {sorted(rows - endpoints)}"


def test_the_table_has_one_row_per_request_and_known_objects():
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), "a row is repeated"
    known = set(VISIBLE) | {"-", "attachment", "doc_file", "category", "empty_category", "department"}
    known |= {"empty_department", "gap", "reset_token"}
    assert {row.object for row in ROWS} <= known


def test_no_hidden_cell_expects_a_403_unless_the_role_may_not_use_the_endpoint():
    """Read from the table alone: where the object is hidden from a caller who may use the endpoint
    (the same caller gets a non-403 on a visible object of the same kind), the answer is 404."""
    for row in ROWS:
        for who, status in row.expected.items():
            if hidden_from(row, who) and status == 403:
                same_endpoint = [r for r in ROWS if (r.name, r.method) == (row.name, row.method)]
                assert all(r.expected[who] == 403 for r in same_endpoint), (
                    f"{row.id}: {who} gets 403 for a hidden object but may use the endpoint elsewhere"
                )


# --- OPTIONS, on every endpoint -------------------------------------------------------------------


def first_rows() -> list[Row]:
    """One row per URL name (its first), for the endpoint's URL with the row's object."""
    seen: dict[str, Row] = {}
    for row in ROWS:
        if row.method != "CONNECT":
            seen.setdefault(row.name, row)
    return list(seen.values())


OPTIONS_CELLS = [(row, who) for row in first_rows() for who in CALLERS]


@pytest.mark.parametrize("row,who", OPTIONS_CELLS, ids=[f"{row.name} OPTIONS {who}" for row, who in OPTIONS_CELLS])
def test_options_cell(world, db, row, who):
    """OPTIONS describes the endpoint and runs its permission checks, not its object lookup: no
    5xx; anonymous is 401 wherever every row of the endpoint says so; and the answer for the
    world's object is the answer for a missing id (it cannot tell whether the object exists)."""
    client = world.client(who)
    object_id = world.id(row.object) if row.object in world.objects else None
    missing_id = new_object_id() if row.object != "-" else None
    response = client.options(request_for(row, world, who, object_id).path)
    missing = client.options(request_for(row, world, who, missing_id).path)
    assert response.status_code < 500
    if who == "anonymous" and all(r.expected[who] == 401 for r in ROWS if r.name == row.name):
        assert response.status_code == 401
    assert response.status_code == missing.status_code
    # A plain view that is a browser redirect (company sign-in) has no OPTIONS: 405.
    assert response.status_code in ((200, 401, 403, 405) if row.name in PLAIN_VIEW_METHODS else (200, 401, 403))
    assert not leaked_markers(body_text(response), who)
