"""Personal data (GDPR, decision 0027): GET /api/v1/users/{id}/export/ and POST .../erase/.

The export holds every kind of data the system keeps about the person and nothing of anyone else,
in a number of queries that does not grow with the data. The erasure leaves no trace of their
addresses, names or chat text in any table, keeps their tickets (requester "Erased user"), ends
every way in, takes their tickets out of the AI's index for good, writes one audit entry, and can
be run again. Admins only, never on themselves.
"""

from __future__ import annotations

import importlib
import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts
from accounts.models import Role, User
from accounts.tokens import issue_pair
from ai_assist import chat, retrieval, routing, store
from ai_assist.models import ChatMessage, Conversation, Suggestion
from audit.models import AppendOnly, AuditEntry
from helpdesk import events, personal_data
from notifications import feed
from notifications import services as notification_services
from notifications.models import Notification, OutgoingEmail
from tests.factories import PASSWORD, AuditEntryFactory, TicketFactory, UserFactory
from tests.helpers import PNG, assert_problem, bearer_client, delivered, uploaded_file
from tickets import services as tickets

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"
MARKER = "WOMBATFAN"  # a word only the person wrote, in the chatbot and in a similar-ticket search
OTHER_MARKER = "OTTERMARK"  # a word only the other person wrote


def export_url(user) -> str:
    return f"{USERS}{user.pk}/export/"


def erase_url(user) -> str:
    return f"{USERS}{user.pk}/erase/"


@pytest.fixture(autouse=True)
def ai_dir(settings, tmp_path):
    settings.AI_DIR = tmp_path / "ai"
    settings.AI_AUTO_ROUTE = False
    retrieval.reset()
    store.forget()
    yield
    retrieval.reset()
    store.forget()


@pytest.fixture
def zeb(people, department) -> dict:
    """An employee with some of everything: sign-ins, a failed one, a reset request, a renamed
    profile and an address an admin changed, a ticket with replies and an internal note, a chat,
    a similar-ticket search, email preferences; and another employee with their own."""
    admin, agent = people["admin"], people["agent"]
    person = UserFactory(email="zeb.old@example.com", first_name="Zeb", last_name="Quillfeather")
    other = UserFactory(email="olive.other@example.com", first_name="Olive", last_name="Otterton")
    with delivered():
        accounts.user_update(actor=admin, user=person, email="zebulon.q@example.com")
        accounts.login_succeeded(user=person)
        accounts.login_failed(email=person.email)
        accounts.password_reset_request(email=person.email)
        accounts.profile_update(user=person, first_name="Zebulon")
        ticket = tickets.ticket_create(
            requester=person, title="Laptop fan is loud", description="The fan spins all day.", department=department
        )
        tickets.ticket_assign(actor=people["lead"], ticket=ticket, assignee=agent)
        tickets.comment_add(actor=person, ticket=ticket, body="It got worse after the update.")
        tickets.comment_add(actor=agent, ticket=ticket, body="Please send a photo of the sticker.")
        tickets.comment_add(actor=agent, ticket=ticket, body="That fan model is on a recall list.", internal=True)
        chat.ask(user=person, message=f"How do I silence the {MARKER} cooler?")
        routing.find_similar(actor=person, title=f"{MARKER} cooler noise", description="It is loud.", limit=5)
        notification_services.email_preferences_update(user=person, status=False)
        theirs = tickets.ticket_create(
            requester=other, title="Printer jams", description=f"The {OTHER_MARKER} tray jams.", department=department
        )
        chat.ask(user=other, message=f"How do I fix the {OTHER_MARKER} printer?")
    person.refresh_from_db()
    return {"person": person, "other": other, "ticket": ticket, "theirs": theirs}


def database_text() -> str:
    """Every row of every table (ours and Django's), as lower-case text."""
    rows = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        rows += [json.dumps(row, default=str) for row in model._base_manager.values()]
    return "\n".join(rows).lower()


# --- Export ---------------------------------------------------------------------------------------


def test_the_export_holds_each_kind_of_data_about_the_person_and_nothing_of_anyone_else(client_for, zeb, people):
    person, ticket = zeb["person"], zeb["ticket"]
    response = client_for("admin").get(export_url(person))
    assert response.status_code == 200, response.content
    document = response.json()
    text = response.content.decode()
    assert document["format"] == "helpdesk-personal-data/1" and document["user_id"] == person.pk
    parts = document["parts"]

    account = parts["accounts"]["account"]
    assert (account["email"], account["first_name"], account["last_name"]) == (
        "zebulon.q@example.com",
        "Zebulon",
        "Quillfeather",
    )
    assert account["has_password"] is True and person.password not in text and "md5$" not in text

    [requested] = parts["tickets"]["requested"]
    assert requested["id"] == ticket.pk
    assert [(c["body"], c["internal"]) for c in requested["comments"]] == [
        ("It got worse after the update.", False),
        ("Please send a photo of the sticker.", False),
        ("That fan model is on a recall list.", True),  # the organisation holds it about them
    ]

    [conversation] = parts["ai_assist"]["conversations"]
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]
    assert MARKER in conversation["messages"][0]["text"]
    assert {s["kind"] for s in parts["ai_assist"]["suggestions_asked"]} == {"chat", "similar"}

    notifications = parts["notifications"]
    assert [n["kind"] for n in notifications["notifications"]] == ["reply"]
    assert notifications["email_preferences"]["status"] is False and notifications["email_preferences"]["stored"]
    assert {e["kind"] for e in notifications["emails"]} >= {"reply", "account"}
    assert all(e["to"] == "zebulon.q@example.com" for e in notifications["emails"] if e["kind"] == "reply")
    # An account email's body may hold a reset link that still works: withheld.
    assert all(e["text"].startswith("[withheld") for e in notifications["emails"] if e["kind"] == "account")
    assert "token:" not in text and "confirm/" not in text

    acted = {e["action"] for e in parts["audit"]["acted"]}
    assert {events.UserLoggedIn.name, events.TicketCreated.name, events.CommentAdded.name} <= acted
    about = {e["action"] for e in parts["audit"]["about_their_account"]}
    assert {events.LoginFailed.name, events.PasswordResetRequested.name} <= about
    assert parts["knowledge"] == {"articles": [], "versions": []}

    # Nobody else's data.
    other = zeb["other"]
    for foreign in (OTHER_MARKER, other.email, other.pk, zeb["theirs"].pk, "Otterton"):
        assert foreign.lower() not in text.lower(), foreign


def test_an_agents_export_holds_their_comments_and_files_on_other_peoples_tickets(client_for, people, department):
    agent = people["agent"]
    ticket = tickets.ticket_create(
        requester=people["employee"], title="Wi-Fi drops", description="Every hour.", department=department
    )
    tickets.comment_add(actor=agent, ticket=ticket, body="Restart the access point, please.")
    tickets.comment_add(actor=people["lead"], ticket=ticket, body="Not the agent's words.")
    tickets.attachment_add(actor=agent, ticket=ticket, uploaded=uploaded_file("ap.png", PNG, "image/png"))
    TicketFactory(requester=people["employee"], department=department, title="Untouched by the agent")
    parts = client_for("admin").get(export_url(agent)).json()["parts"]
    [comment] = parts["tickets"]["comments_on_other_tickets"]
    assert (comment["ticket_id"], comment["body"], comment["author"]) == (
        ticket.pk,
        "Restart the access point, please.",
        agent.pk,
    )
    [attachment] = parts["tickets"]["attachments_on_other_tickets"]
    assert (attachment["ticket_id"], attachment["name"], attachment["uploaded_by"]) == (ticket.pk, "ap.png", agent.pk)
    assert "storage_key" not in attachment
    assert parts["tickets"]["requested"] == []


def test_participants_are_kept_by_the_services_and_filled_in_for_existing_tickets(people, department):
    """Ticket.participants (`|id|id|`) is how a person's comments are found without a query inside
    the comments array; migration tickets.0007 fills it in for the tickets written before it."""
    agent, lead = people["agent"], people["lead"]
    ticket = tickets.ticket_create(
        requester=people["employee"], title="VPN", description="Drops.", department=department
    )
    tickets.comment_add(actor=lead, ticket=ticket, body="Looking.", internal=True)
    tickets.attachment_add(actor=agent, ticket=ticket, uploaded=uploaded_file("log.png", PNG, "image/png"))
    ticket.refresh_from_db()
    assert ticket.participants == f"|{'|'.join(sorted([agent.pk, lead.pk]))}|"

    fill = importlib.import_module("tickets.migrations.0007_ticket_participants").fill
    older = TicketFactory(requester=people["employee"], comments=ticket.comments, participants="")
    untouched = TicketFactory(requester=people["employee"])
    fill(apps, None)
    older.refresh_from_db()
    untouched.refresh_from_db()
    assert (older.participants, untouched.participants) == (f"|{lead.pk}|", "")


def test_every_app_has_its_part_and_the_account_is_erased_last():
    parts = personal_data.parts()
    assert {part.name for part in parts} == {
        "helpdesk",
        "accounts",
        "tickets",
        "knowledge",
        "ai_assist",
        "notifications",
        "audit",
        "intake",
    }
    assert parts[-1].name == "accounts" and parts[-1].erase_last


def test_the_export_makes_the_same_number_of_queries_however_much_there_is(
    client_for, zeb, people, department, django_assert_max_num_queries
):
    person, admin = zeb["person"], bearer_client(people["admin"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(export_url(person)).status_code == 200
        return len(captured)

    before = queries()
    for n in range(3):  # more of everything
        more = tickets.ticket_create(
            requester=person, title=f"Dock {n}", description="No signal.", department=department
        )
        tickets.comment_add(actor=person, ticket=more, body="Still broken.")
        tickets.comment_add(actor=people["agent"], ticket=more, body="Looking.", internal=True)
        conversation = Conversation.objects.create(user=person, title=f"Question {n}")
        ChatMessage.objects.create(conversation=conversation, role=ChatMessage.Role.USER, text="Why?")
        Suggestion.objects.create(kind=Suggestion.Kind.SIMILAR, actor=person, inputs={"title": "x"})
        Notification.objects.create(user=person, event_id=f"{n:024d}", kind="reply", ticket_id=more.pk, text="Hi")
        AuditEntryFactory(actor=person)
    assert queries() == before
    with django_assert_max_num_queries(25):
        admin.get(export_url(person))


# --- Erasure --------------------------------------------------------------------------------------


def test_erasure_leaves_no_trace_of_their_addresses_names_or_chat_text_anywhere(client_for, zeb):
    person = zeb["person"]
    traces = ["zebulon.q@example.com", "zeb.old@example.com", "zebulon", "quillfeather", MARKER.lower()]
    before = database_text()
    assert all(trace in before for trace in traces)  # they were there

    with delivered():
        response = client_for("admin").post(erase_url(person))
    assert response.status_code == 200, response.content
    assert response.json()["user"]["email"] == f"erased-{person.pk}@erased.invalid"

    after = database_text()
    assert [trace for trace in traces if trace in after] == []
    # The other person is untouched.
    assert OTHER_MARKER.lower() in after and "olive.other@example.com" in after
    assert Conversation.objects.filter(user=zeb["other"]).exists()


def test_the_account_stays_anonymised_and_cannot_sign_in_or_refresh(client_for, zeb):
    person = zeb["person"]
    old = issue_pair(person)
    client_for("admin").post(erase_url(person))
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.get_full_name()) == ("Erased", "user", "Erased user")
    assert person.email == f"erased-{person.pk}@erased.invalid"
    assert not person.is_active and not person.has_usable_password() and person.skills == []
    anonymous = bearer_client(None)
    for email in ("zebulon.q@example.com", person.email):
        login = anonymous.post("/api/v1/auth/login/", {"email": email, "password": PASSWORD}, format="json")
        assert_problem(login, 401)
    assert_problem(anonymous.post("/api/v1/auth/refresh/", {"refresh": old["refresh"]}, format="json"), 401)
    signed_in = bearer_client(None)
    signed_in.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert signed_in.get("/api/v1/auth/me/").status_code == 401


def test_their_tickets_stay_with_the_requester_shown_as_erased_user(client_for, zeb):
    ticket = zeb["ticket"]
    client_for("admin").post(erase_url(zeb["person"]))
    shown = client_for("agent").get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert shown["requester"] == {"id": zeb["person"].pk, "name": "Erased user"}
    assert shown["title"] == "Laptop fan is loud" and len(shown["comments"]) == 3
    listed = client_for("agent").get("/api/v1/tickets/").json()["results"]
    assert {t["requester"]["name"] for t in listed if t["id"] == ticket.pk} == {"Erased user"}


@pytest.mark.ai_consumers  # the index hears the erasure
def test_their_tickets_leave_the_vector_index_for_good(client_for, zeb, people):
    ticket, lead = zeb["ticket"], client_for("lead")
    collection = retrieval.ticket_corpus().collection()
    body = {"title": "Laptop fan is loud", "description": "The fan spins all day.", "limit": 10}
    assert collection.get(ids=[ticket.pk])["ids"] == [ticket.pk]
    assert ticket.pk in {s["ticket"]["id"] for s in lead.post("/api/v1/ai/similar/", body, format="json").json()}

    with delivered():
        client_for("admin").post(erase_url(zeb["person"]))
    assert collection.get(ids=[ticket.pk])["ids"] == []
    assert ticket.pk not in {s["ticket"]["id"] for s in lead.post("/api/v1/ai/similar/", body, format="json").json()}

    # Neither a later change of the ticket nor a rebuild of the index brings it back.
    with delivered():
        tickets.comment_add(actor=people["agent"], ticket=ticket, body="Closing this after the erasure.")
    call_command("reindex", "--only", "tickets", stdout=io.StringIO(), stderr=io.StringIO())
    collection = retrieval.ticket_corpus().collection()  # the rebuild made a new one
    assert collection.get(ids=[ticket.pk])["ids"] == []
    assert zeb["theirs"].pk in collection.get(ids=[zeb["theirs"].pk])["ids"]  # the others' stay


def test_an_erasure_writes_exactly_one_audit_entry_naming_the_account_by_id_only(client_for, zeb, people):
    person = zeb["person"]
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    with delivered():
        client_for("admin").post(erase_url(person))
    [entry] = AuditEntry.objects.exclude(pk__in=before)
    assert (entry.action, entry.object_type, entry.object_id, entry.actor_id) == (
        events.UserErased.name,
        "user",
        person.pk,
        people["admin"].pk,
    )
    assert entry.changes == {} and entry.details == {}


def test_erasing_twice_is_fine_and_changes_nothing_more(client_for, zeb):
    admin = client_for("admin")
    with delivered():
        first = admin.post(erase_url(zeb["person"]))
    after_first = database_text()
    with delivered():
        second = admin.post(erase_url(zeb["person"]))
    assert (first.status_code, second.status_code) == (200, 200)
    assert any(n for part in first.json()["changed"].values() for n in part.values())
    assert all(n == 0 for part in second.json()["changed"].values() for n in part.values()), second.json()
    # Only the second erasure's own audit entry and event are new.
    new = set(database_text().splitlines()) - set(after_first.splitlines())
    assert all(events.UserErased.name in line or '"consumer"' in line for line in new), new


def test_an_agents_erasure_scrubs_what_others_were_told_and_the_routing_that_chose_them(client_for, people, department):
    quentin = UserFactory(
        email="quentin.m@example.com",
        first_name="Quentin",
        last_name="Marblewood",
        role=Role.AGENT,
        department=department,
    )
    with delivered():
        ticket = tickets.ticket_create(requester=people["employee"], title="Wi-Fi drops", description="Every hour.")
        ticket = tickets.ticket_route(
            ticket=ticket,
            department=department,
            confidence=0.93,
            assignee=quentin,
            reason=f"router-v1: 0.93; agent {quentin.email}: skills wi-fi",
        )
        tickets.comment_add(actor=quentin, ticket=ticket, body="Restart the access point, please.")
    told = Notification.objects.get(user=people["employee"], actor=quentin)
    assert "Quentin Marblewood" in told.text
    assert OutgoingEmail.objects.filter(user=people["employee"], text__contains="Quentin").exists()
    with delivered():
        assert client_for("admin").post(erase_url(quentin)).status_code == 200
    after = database_text()
    assert [trace for trace in ("quentin", "marblewood") if trace in after] == []
    told.refresh_from_db()
    assert told.text.startswith("[erased] replied: Restart the access point")
    routed = AuditEntry.objects.get(action=events.TicketRouted.name, object_id=ticket.pk)
    assert routed.details["reason"] == "router-v1: 0.93; agent [erased]: skills wi-fi"
    assert routed.details["redacted"] is True and routed.actor_id is None  # who, what, when stay


def test_the_erased_persons_open_sockets_are_closed(client_for, zeb, monkeypatch):
    sent = []
    monkeypatch.setattr(feed, "group_send", lambda messages: sent.extend(messages))
    with delivered():
        client_for("admin").post(erase_url(zeb["person"]))
    assert (
        f"user.{zeb['person'].pk}",
        {"type": feed.GROUP_ACCOUNT, "user": zeb["person"].pk, "action": "close", "code": feed.CLOSE_UNAUTHENTICATED},
    ) in sent


# --- Who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who,status", [("anonymous", 401), ("employee", 403), ("agent", 403), ("lead", 403), ("admin", None)]
)
def test_only_admins_export_and_erase(client_for, people, who, status):
    target = people["agent"]
    export, erase = client_for(who).get(export_url(target)), client_for(who).post(erase_url(target))
    if status is None:
        assert (export.status_code, erase.status_code) == (200, 200)
        return
    assert_problem(export, status)
    assert_problem(erase, status)
    target.refresh_from_db()
    assert target.is_active and target.email == "agent@example.com"


def test_a_missing_user_is_a_404_for_admins_and_a_403_for_the_others(client_for):
    missing = User(pk="0" * 24)
    assert_problem(client_for("admin").get(export_url(missing)), 404)
    assert_problem(client_for("admin").post(erase_url(missing)), 404)
    assert_problem(client_for("agent").get(export_url(missing)), 403)


def test_an_admin_cannot_erase_themselves(client_for, people):
    admin = people["admin"]
    body = assert_problem(client_for("admin").post(erase_url(admin)), 400, "self_lockout")
    assert "yourself" in body["detail"] or "your own" in body["detail"]
    admin.refresh_from_db()
    assert admin.is_active and admin.email == "admin@example.com"


def test_exports_are_rate_limited_per_admin(client_for, people, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "personal_data_export_user": "2/h"}
    admin = client_for("admin")
    assert [admin.get(export_url(people["agent"])).status_code for _ in range(2)] == [200, 200]
    assert_problem(admin.get(export_url(people["agent"])), 429, "rate_limited")


# --- The audit log stays append-only but for a redaction ----------------------------------------


def test_an_audit_entry_takes_only_a_marked_rewrite_of_changes_and_details():
    entry = AuditEntryFactory(details={"email": "someone@example.com"})
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).redact(changes={}, details={"email": "[erased]"})
    assert AuditEntry.objects.filter(pk=entry.pk).redact(changes={}, details={"email": "[erased]", "redacted": True})
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.details == {"email": "[erased]", "redacted": True} and entry.action == "ticket.created"


@pytest.mark.skipif(connection.vendor not in ("sqlite", "postgresql"), reason="triggers on SQL databases only")
@pytest.mark.parametrize(
    "assignments",
    [
        "action = 'x'",  # anything but changes and details: refused, marked or not
        "action = 'x', details = '{\"redacted\": true}'",
        "actor_id = NULL, details = '{\"redacted\": true}'",
        'details = \'{"email": "[erased]"}\'',  # not marked as a redaction
    ],
)
def test_the_database_refuses_any_other_update(assignments):
    entry = AuditEntryFactory(details={"email": "someone@example.com"})
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE audit_auditentry SET {assignments} WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).details == {"email": "someone@example.com"}


# --- The AI's other copies of their chat text -----------------------------------------------------


def test_a_gap_outline_that_quoted_their_question_and_the_cached_question_vectors_lose_it(client_for, zeb):
    from ai_assist import gaps

    question = ChatMessage.objects.get(conversation__user=zeb["person"], role=ChatMessage.Role.USER)
    theirs = ChatMessage.objects.get(conversation__user=zeb["other"], role=ChatMessage.Role.USER)
    gaps._question_vectors_for([(question.pk, question.text), (theirs.pk, theirs.text)])
    # An outline as gap drafts quoted questions before they stopped doing so (clipped, contact details out).
    outline = Suggestion.objects.create(
        kind=Suggestion.Kind.GAP,
        inputs={"gap": question.pk, "items": [{"kind": "question", "id": question.pk}]},
        output={"title": question.text, "text": f"## What people ask\n\n- {question.text}\n- {theirs.text}\n"},
    )
    client_for("admin").post(erase_url(zeb["person"]))
    outline.refresh_from_db()
    assert MARKER not in json.dumps(outline.output) and OTHER_MARKER in outline.output["text"]
    assert outline.output["title"] == "[erased]"
    assert question.pk not in gaps._question_vectors and theirs.pk in gaps._question_vectors
