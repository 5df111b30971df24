"""Every write through a service leaves one audit entry: the AI's (drafts, summaries, reviews,
routing corrections, conversations), notifications (read, read all, email preferences) and Django
admin's (users, passwords, departments, SLA policies), each with actor, action, target, changes
before/after (never a secret), request id and IP. And a list that names, for every public function
of every `*/services.py`, the test of its audit entry or why it has none."""

from __future__ import annotations

import importlib
import inspect
import json
import re

import pytest

from accounts import services as accounts
from accounts.models import Department, RevokedToken, Role, User
from ai_assist import retrieval, store
from ai_assist import services as ai_services
from ai_assist.models import Conversation, Suggestion
from audit.models import KNOWLEDGE_BASE, TRIAGE, AuditEntry
from helpdesk import events
from knowledge import services as knowledge
from notifications.models import EmailPreferences, Notification
from tests.factories import PASSWORD, SuggestionFactory, TicketFactory, UserFactory
from tests.helpers import ROOT, bearer_client, browser_for, delivered, user_change_form
from tickets import services as tickets
from tickets.models import SlaPolicy, Status

pytestmark = pytest.mark.django_db

REQUEST = {"HTTP_X_REQUEST_ID": "req-audit-0001", "REMOTE_ADDR": "10.9.8.7"}
AUDIT = "/api/v1/audit/"


def only(**filters) -> AuditEntry:
    [entry] = AuditEntry.objects.filter(**filters)
    return entry


def assert_from_the_request(entry: AuditEntry, actor) -> None:
    assert (entry.actor_id, entry.request_id, entry.ip) == (
        actor.pk,
        REQUEST["HTTP_X_REQUEST_ID"],
        REQUEST["REMOTE_ADDR"],
    )


def lead_reads(client_for, entry: AuditEntry, who: str = "lead") -> bool:
    return entry.pk in {e["id"] for e in client_for(who).get(AUDIT, {"page_size": 100}).json()["results"]}


@pytest.fixture
def ticket(people, department):
    return tickets.ticket_create(
        requester=people["employee"], title="VPN drops", description="every hour", department=department
    )


# --- The AI ----------------------------------------------------------------------------------------


def test_a_review_of_a_draft_and_its_revision_are_audited_without_the_text(client_for, people, ticket):
    agent = people["agent"]
    draft = SuggestionFactory(
        kind=Suggestion.Kind.DRAFT, actor=agent, ticket=ticket, output={"text": "Restart the VPN client."}
    )
    url = f"/api/v1/ai/suggestions/{draft.pk}/feedback/"
    with delivered():
        assert client_for("agent").post(url, {"verdict": "accepted"}, format="json", **REQUEST).status_code == 201
        edited = {
            "verdict": "edited",
            "final_text": "Restart the VPN client, then sign in again.",
            "comment": "private",
        }
        assert client_for("agent").post(url, edited, format="json", **REQUEST).status_code == 200
    first, second = AuditEntry.objects.filter(action=events.SuggestionReviewed.name).order_by("at", "id")
    assert (first.object_type, first.object_id) == ("suggestion", draft.pk)
    assert first.changes == {"verdict": [None, "accepted"]}
    assert second.changes == {"verdict": ["accepted", "edited"], "edit_distance": [None, 5]}
    assert second.details["ticket_id"] == ticket.pk and second.department_id == ticket.department_id
    assert_from_the_request(second, agent)
    assert "sign in again" not in json.dumps([second.changes, second.details]) and "private" not in str(second.details)
    assert lead_reads(client_for, second)  # the ticket's department's lead
    other_lead = UserFactory(role=Role.LEAD, department=people["agent_other"].department)
    assert second.pk not in {e["id"] for e in bearer_client(other_lead).get(AUDIT).json()["results"]}


def test_a_summary_and_an_article_drafted_from_a_ticket_are_audited(client_for, people, ticket, settings, tmp_path):
    settings.AI_DIR = tmp_path / "ai"
    lead = people["lead"]
    with delivered():
        summary = client_for("agent").post(f"/api/v1/ai/tickets/{ticket.pk}/summary/", **REQUEST)
        assert summary.status_code == 200, summary.content
        tickets.ticket_transition(actor=lead, ticket=ticket, status=Status.RESOLVED)
        article = client_for("lead").post(
            "/api/v1/kb/articles/from-ticket/", {"ticket": ticket.pk}, format="json", **REQUEST
        )
        assert article.status_code == 201, article.content
    made = only(action=events.SuggestionCreated.name, object_id=summary.json()["suggestion_id"])
    assert made.details["kind"] == "summary" and made.department_id == ticket.department_id
    assert_from_the_request(made, people["agent"])
    drafted = only(action=events.SuggestionCreated.name, details__kind="article")
    assert drafted.details["article_id"] == article.json()["id"] and drafted.details["ticket_id"] == ticket.pk
    assert_from_the_request(drafted, lead)
    assert lead_reads(client_for, made) and lead_reads(client_for, drafted)


def test_an_article_for_a_knowledge_gap_is_the_knowledge_bases_and_previews_are_not_audited(people, ticket):
    with delivered():
        gap = ai_services.suggestion_record(
            kind=Suggestion.Kind.GAP, actor=people["lead"], inputs={}, output={"article": "a" * 24, "text": "Outline"}
        )
        ai_services.suggestion_record(kind=Suggestion.Kind.ROUTE, actor=people["agent"], inputs={"title": "VPN"})
        ai_services.suggestion_record(kind=Suggestion.Kind.SIMILAR, actor=people["employee"], inputs={"q": "VPN"})
    [entry] = AuditEntry.objects.filter(object_type="suggestion")
    assert (entry.object_id, entry.department_id, entry.details["article_id"]) == (gap.pk, KNOWLEDGE_BASE, "a" * 24)


def test_a_routing_correction_and_its_withdrawal_are_audited(client_for, people, department, other_department):
    ticket = TicketFactory(department=department, requester=people["employee"])
    routed = SuggestionFactory(ticket=ticket, department=department)
    admin = client_for("admin")
    with delivered():
        moved = admin.patch(
            f"/api/v1/tickets/{ticket.pk}/", {"department": other_department.pk}, format="json", **REQUEST
        )
        assert moved.status_code == 200, moved.content
        back = admin.patch(f"/api/v1/tickets/{ticket.pk}/", {"department": department.pk}, format="json")
        assert back.status_code == 200, back.content
    corrected, withdrawn = AuditEntry.objects.filter(action=events.SuggestionReviewed.name).order_by("at", "id")
    assert corrected.object_id == routed.pk and corrected.actor == people["admin"]
    assert corrected.changes == {
        "verdict": [None, "corrected"],
        "corrected_department": [None, other_department.pk],
    }
    assert withdrawn.details["verdict"] is None
    assert withdrawn.changes == {"verdict": ["corrected", None], "corrected_department": [other_department.pk, None]}


@pytest.fixture
def ai_dir(settings, tmp_path):
    settings.AI_DIR = tmp_path / "ai"
    retrieval.reset()
    store.forget()
    yield
    retrieval.reset()
    store.forget()


def test_a_conversation_is_audited_when_it_starts_and_opens_a_ticket_but_not_turn_by_turn(client_for, people, ai_dir):
    employee = client_for("employee")
    with delivered():
        body = employee.post(
            "/api/v1/ai/chat/", {"message": "What is the capital of Australia?"}, format="json", **REQUEST
        ).json()
        employee.post(
            "/api/v1/ai/chat/", {"message": "And of Peru?", "conversation_id": body["conversation_id"]}, format="json"
        )
        opened = employee.post(
            f"/api/v1/ai/conversations/{body['conversation_id']}/ticket/", {}, format="json", **REQUEST
        )
        assert opened.status_code == 201, opened.content
    logged = AuditEntry.objects.filter(object_type="conversation").order_by("at", "id")
    assert [(e.action, e.object_id) for e in logged] == [
        (events.ConversationStarted.name, body["conversation_id"]),
        (events.ConversationTicketOpened.name, body["conversation_id"]),
    ]
    assert logged[1].changes == {"ticket": [None, opened.json()["id"]]}
    for entry in logged:
        assert_from_the_request(entry, people["employee"])
        assert entry.department_id == ""  # the asker's own: admins only
        assert "Australia" not in json.dumps([entry.changes, entry.details])
    assert not AuditEntry.objects.filter(object_type="suggestion").exists()  # the answers: the conversation's
    assert Conversation.objects.get().ticket_id == opened.json()["id"]


# --- Notifications ---------------------------------------------------------------------------------


def test_reading_notifications_and_email_preferences_are_audited(client_for, people, ticket):
    employee = people["employee"]
    with delivered():
        for n in range(3):
            tickets.comment_add(actor=people["agent"], ticket=ticket, body=f"Reply {n}")
    first, *_ = Notification.objects.filter(user=employee).order_by("created_at", "id")
    client = client_for("employee")
    with delivered():
        assert client.post(f"/api/v1/notifications/{first.pk}/read/", **REQUEST).status_code == 200
        client.post(f"/api/v1/notifications/{first.pk}/read/")  # again: nothing changes, nothing logged
        assert client.post("/api/v1/notifications/read-all/", **REQUEST).status_code == 200
        client.post("/api/v1/notifications/read-all/")  # none left unread
        prefs = {"reply": False, "status": True}
        assert (
            client.patch("/api/v1/notifications/email-preferences/", prefs, format="json", **REQUEST).status_code == 200
        )
    read = only(action=events.NotificationRead.name)
    assert (read.object_type, read.object_id, read.changes) == ("notification", first.pk, {"read": [False, True]})
    assert read.details["ticket_id"] == ticket.pk
    read_all = only(action=events.NotificationsReadAll.name)
    assert (read_all.object_type, read_all.object_id, read_all.changes) == ("user", employee.pk, {"unread": [2, 0]})
    preferences = only(action=events.EmailPreferencesUpdated.name)
    assert preferences.changes == {"reply": [True, False]}  # status was on already
    for entry in (read, read_all, preferences):
        assert_from_the_request(entry, employee)
        assert entry.department_id == ""
    assert EmailPreferences.objects.get(user=employee).reply is False


# --- Django admin ----------------------------------------------------------------------------------


def post(browser, url: str, data: dict, **extra):
    """A form posted in admin, its events delivered as after the commit."""
    with delivered():
        return browser.post(url, data, **extra)


def test_a_leads_user_edit_in_admin_is_audited_fact_by_fact(people, department):
    lead = people["lead"]
    newcomer = UserFactory(email="new@example.com", role=Role.EMPLOYEE, department=department, first_name="Ann")
    form = user_change_form(newcomer, role=Role.AGENT, first_name="Anne", is_active=None)
    response = post(browser_for(lead), f"/admin/accounts/user/{newcomer.pk}/change/", form, **REQUEST)
    assert response.status_code == 302, response.content[:2000]
    logged = {e.action: e for e in AuditEntry.objects.filter(object_id=newcomer.pk)}
    assert set(logged) == {events.UserRoleChanged.name, events.UserDeactivated.name, events.UserUpdated.name}
    assert logged[events.UserRoleChanged.name].changes == {"role": ["employee", "agent"]}
    assert logged[events.UserDeactivated.name].changes == {"is_active": [True, False]}
    assert logged[events.UserUpdated.name].changes == {"first_name": ["Ann", "Anne"]}
    for entry in logged.values():
        assert_from_the_request(entry, lead)


def test_a_lead_cannot_edit_beyond_their_rights_and_nothing_is_logged(people):
    agent = people["agent"]
    post(
        browser_for(people["lead"]),
        f"/admin/accounts/user/{agent.pk}/change/",
        user_change_form(agent, role=Role.ADMIN),
    )
    assert not AuditEntry.objects.filter(object_id=agent.pk).exists()


def test_admin_adds_users_sets_passwords_and_deletes_users_audited_without_secrets(people):
    admin = people["admin"]
    browser = browser_for(admin)
    added = post(
        browser,
        "/admin/accounts/user/add/",
        {
            "email": "Added@Example.com",
            "first_name": "Ad",
            "last_name": "Ded",
            "role": Role.EMPLOYEE,
            "department": "",
            "password1": "Fresh-h0rse-battery",
            "password2": "Fresh-h0rse-battery",
            "usable_password": "true",
        },
        **REQUEST,
    )
    assert added.status_code == 302, added.content[:3000]
    user = User.objects.get(email="added@example.com")
    created = only(action=events.UserCreated.name, object_id=user.pk)
    assert_from_the_request(created, admin)
    hash_before = user.password
    changed = post(
        browser,
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "An0ther-long-secret", "password2": "An0ther-long-secret", "set_usable_password": "true"},
        **REQUEST,
    )
    assert changed.status_code == 302, changed.content[:3000]
    user.refresh_from_db()
    assert user.password != hash_before and user.check_password("An0ther-long-secret")
    password = only(action=events.UserUpdated.name, object_id=user.pk)
    assert password.changes == {"password": ["[redacted]", "[redacted]"]}
    assert_from_the_request(password, admin)
    deleted = post(browser, f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}, **REQUEST)
    assert deleted.status_code == 302 and not User.objects.filter(pk=user.pk).exists()
    gone = only(action=events.UserDeleted.name, object_id=user.pk)
    assert_from_the_request(gone, admin)
    assert gone.details["email"] == "added@example.com" and gone.changes == {"is_active": [True, False]}
    text = json.dumps([[e.changes, e.details] for e in AuditEntry.objects.filter(object_id=user.pk)])
    for secret in ("Fresh-h0rse-battery", "An0ther-long-secret", hash_before, user.password, PASSWORD):
        assert secret not in text


def test_departments_in_admin_go_through_the_services(people):
    admin = people["admin"]
    browser = browser_for(admin)
    assert (
        post(
            browser, "/admin/accounts/department/add/", {"name": "Facilities", "description": ""}, **REQUEST
        ).status_code
        == 302
    )
    made = Department.objects.get(name="Facilities")
    edited = post(
        browser,
        f"/admin/accounts/department/{made.pk}/change/",
        {"name": "Facility", "description": "Desks"},
        **REQUEST,
    )
    assert edited.status_code == 302
    assert post(browser, f"/admin/accounts/department/{made.pk}/delete/", {"post": "yes"}, **REQUEST).status_code == 302
    logged = list(AuditEntry.objects.filter(object_id=made.pk).order_by("at", "id"))
    assert [e.action for e in logged] == ["department.created", "department.updated", "department.deleted"]
    assert logged[1].changes == {"name": ["Facilities", "Facility"], "description": ["", "Desks"]}
    for entry in logged:
        assert_from_the_request(entry, admin)


def sla_form(policy: SlaPolicy, **overrides) -> dict:
    data = {
        "priority": policy.priority,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "warning_minutes": policy.warning_minutes,
        "pause_when_pending": "on" if policy.pause_when_pending else "",
    }
    data.update(overrides)
    return data


def test_sla_policies_in_admin_are_audited(people):
    admin = people["admin"]
    browser = browser_for(admin)
    policy = SlaPolicy.objects.get(priority="low")
    before = policy.resolution_minutes
    response = post(
        browser, f"/admin/tickets/slapolicy/{policy.pk}/change/", sla_form(policy, resolution_minutes=70), **REQUEST
    )
    assert response.status_code == 302
    assert post(browser, f"/admin/tickets/slapolicy/{policy.pk}/delete/", {"post": "yes"}, **REQUEST).status_code == 302
    assert not SlaPolicy.objects.filter(priority="low").exists()
    assert (
        post(browser, "/admin/tickets/slapolicy/add/", sla_form(policy, resolution_minutes=90), **REQUEST).status_code
        == 302
    )
    logged = list(AuditEntry.objects.filter(object_type="sla_policy").order_by("at", "id"))
    assert [e.action for e in logged] == ["sla_policy.updated", "sla_policy.deleted", "sla_policy.created"]
    assert logged[0].changes == {"resolution_minutes": [before, 70]} and logged[0].object_id == policy.pk
    assert logged[1].details["resolution_minutes"] == 70 and logged[2].details["resolution_minutes"] == 90
    for entry in logged:
        assert_from_the_request(entry, admin)
        assert entry.department_id == ""  # admins only
    assert (
        tickets.ticket_create(
            requester=people["employee"], title="Mouse", description="d", priority="low"
        ).resolution_due_at
        is not None
    )


def test_admin_deletes_nothing_that_is_history_or_a_persons_own(people, ticket):
    browser = browser_for(people["admin"])
    with delivered():
        tickets.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
    token = RevokedToken.objects.create(jti="j" * 32, user_id=people["employee"].pk, expires_at=ticket.created_at)
    suggestion = SuggestionFactory(ticket=ticket)
    for url in (
        f"/admin/accounts/revokedtoken/{token.pk}/delete/",
        f"/admin/ai_assist/suggestion/{suggestion.pk}/delete/",
        f"/admin/notifications/notification/{Notification.objects.get().pk}/delete/",
    ):
        assert browser.post(url, {"post": "yes"}).status_code == 403, url
    assert RevokedToken.objects.filter(pk=token.pk).exists() and Suggestion.objects.filter(pk=suggestion.pk).exists()


# --- Every service function is accounted for ------------------------------------------------------

SERVICE_MODULES = [
    "accounts.services",
    "tickets.services",
    "knowledge.services",
    "ai_assist.services",
    "notifications.services",
    "intake.services",
]

FILES = {
    "log": "tests/audit/test_log.py",
    "here": "tests/audit/test_coverage.py",
    "passwords": "tests/accounts/test_password_api.py",
    "tickets": "tests/tickets/test_api.py",
    "attachments": "tests/tickets/test_attachments_api.py",
    "sla": "tests/tickets/test_sla.py",
    "kb": "tests/knowledge/test_api.py",
    "personal_data": "tests/accounts/test_personal_data.py",
    "intake": "tests/intake/test_receive.py",
}
# "file::test" (FILES) that checks the audit entries of these service functions.
AUDIT_TESTS = {
    "log::test_signup_and_departments_are_logged": ["accounts.services.user_signup"],
    "log::test_company_sign_in_is_logged_the_account_made_its_role_from_the_groups_and_a_refusal": [
        "accounts.services.user_provision",
        "accounts.services.company_identity_link",
        "accounts.services.user_apply_directory",
        "accounts.services.company_sign_in_refused",
    ],
    "log::test_role_changes_deactivation_and_password_changes_are_logged": [
        "accounts.services.user_update",
        "accounts.services.user_deactivate",
    ],
    "log::test_sign_ins_sign_outs_and_failures_are_logged_without_secrets": [
        "accounts.services.login_succeeded",
        "accounts.services.login_failed",
        "accounts.services.logout",
    ],
    "passwords::test_the_audit_log_records_each_step_and_never_a_password_or_a_token": [
        "accounts.services.password_reset_request",
        "accounts.services.password_reset_confirm",
        "accounts.services.password_change",
    ],
    "here::test_a_leads_user_edit_in_admin_is_audited_fact_by_fact": ["accounts.services.user_admin_save"],
    "here::test_admin_adds_users_sets_passwords_and_deletes_users_audited_without_secrets": [
        "accounts.services.user_password_changed_in_admin",
        "accounts.services.user_delete",
    ],
    "personal_data::test_an_erasure_writes_exactly_one_audit_entry_naming_the_account_by_id_only": [
        "accounts.services.user_erase"
    ],
    "here::test_departments_in_admin_go_through_the_services": [
        "accounts.services.department_create",
        "accounts.services.department_update",
        "accounts.services.department_delete",
    ],
    "here::test_the_other_service_writes_are_audited": [
        "accounts.services.user_create",
        "accounts.services.profile_update",
        "tickets.services.ticket_transition",
        "tickets.services.ticket_assign_by_id",
        "tickets.services.ticket_restore",
        "tickets.services.ticket_route",
        "tickets.services.ticket_import",
        "knowledge.services.category_update",
        "knowledge.services.category_delete",
        "knowledge.services.article_revert",
    ],
    "log::test_each_ticket_write_leaves_an_entry": [
        "tickets.services.ticket_create",
        "tickets.services.ticket_assign",
        "tickets.services.ticket_escalate",
        "tickets.services.comment_add",
    ],
    "log::test_a_move_is_stamped_with_both_departments_and_triage_is_marked": ["tickets.services.ticket_update"],
    "tickets::test_deleted_ticket_is_gone_for_everyone_and_audited": ["tickets.services.ticket_delete"],
    "attachments::test_upload_emits_attachment_added": ["tickets.services.attachment_add"],
    "sla::test_job_escalates_inside_the_warning_window_once_with_the_reason": ["tickets.services.tickets_escalate_due"],
    "here::test_sla_policies_in_admin_are_audited": [
        "tickets.services.sla_policy_create",
        "tickets.services.sla_policy_update",
        "tickets.services.sla_policy_delete",
    ],
    "log::test_article_and_category_entries_carry_the_knowledge_base_marker": ["knowledge.services.category_create"],
    "kb::test_events_and_audit_entries": [
        "knowledge.services.article_create",
        "knowledge.services.article_update",
        "knowledge.services.article_publish",
        "knowledge.services.article_archive",
        "knowledge.services.article_delete",
    ],
    "here::test_a_summary_and_an_article_drafted_from_a_ticket_are_audited": ["ai_assist.services.suggestion_record"],
    "here::test_a_review_of_a_draft_and_its_revision_are_audited_without_the_text": [
        "ai_assist.services.feedback_record"
    ],
    "here::test_a_routing_correction_and_its_withdrawal_are_audited": ["ai_assist.services.routing_correction_record"],
    "intake::test_an_emailed_ticket_and_reply_are_audited_as_the_sender": [
        "accounts.services.user_create_from_email",
        "intake.services.receive",
    ],
    "here::test_reading_notifications_and_email_preferences_are_audited": [
        "notifications.services.notification_read",
        "notifications.services.notifications_read_all",
        "notifications.services.email_preferences_update",
    ],
}
# Service functions with no entry of their own, and why.
NOT_AUDITED = {
    "accounts.services.profile_counts": "a read (counts for /auth/me/)",
    "tickets.services.tickets_changed": "bumps a cache generation; no data changes",
    "knowledge.services.tags_text": "formats tags for a search column; no write",
    "knowledge.services.document_import": "its write is article_create's (article.created)",
    "knowledge.services.articles_rebuild_derived": "rebuilds rows derived from audited writes (versions, tags, index)",
    "ai_assist.services.clipped": "cuts a text; no write",
    "ai_assist.services.suggestion_text": "a read",
    "intake.services.message_key": "names a message; no write",
}


def public_service_functions() -> set[str]:
    found = set()
    for name in SERVICE_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == name and not attribute.startswith("_"):
                found.add(f"{name}.{attribute}")
    return found


def test_every_service_function_has_an_audit_test_or_a_reason():
    named = [function for functions in AUDIT_TESTS.values() for function in functions]
    assert len(named) == len(set(named)) and not set(named) & set(NOT_AUDITED)
    accounted = set(named) | set(NOT_AUDITED)
    assert sorted(public_service_functions() - accounted) == [], "name its audit test in AUDIT_TESTS (or why none)"
    assert sorted(accounted - public_service_functions()) == [], "a function named here is gone"
    for where in AUDIT_TESTS:
        alias, test = where.split("::")
        source = (ROOT / FILES[alias]).read_text()
        body = re.search(rf"^def {test}\(.*?(?=^def |\Z)", source, re.M | re.S)
        assert body is not None, f"{where} does not exist"
        assert re.search(r"AuditEntry|captured_events|entries\(|only\(", body.group()), f"{where} checks no entry"


def test_the_other_service_writes_are_audited(people, department, other_department):
    """The writes the other files do not log-check: each leaves its entry."""
    admin, lead, agent = people["admin"], people["lead"], people["agent"]
    with delivered():
        made = tickets.ticket_create(requester=people["employee"], title="Printer", description="jammed")
        routed = tickets.ticket_route(ticket=made, department=department, confidence=0.9)
        assigned = tickets.ticket_assign_by_id(actor=agent, ticket=routed, assignee_id=agent.pk)
        resolved = tickets.ticket_transition(actor=agent, ticket=assigned, status=Status.RESOLVED)
        deleted = tickets.ticket_delete(actor=admin, ticket=resolved)
        tickets.ticket_restore(actor=admin, ticket=deleted)
        imported, _ = tickets.ticket_import(
            external_id="X-1", requester=people["employee"], title="Old", description="d", department=other_department
        )
        category = knowledge.category_create(actor=lead, name="Network")
        category_id = category.pk
        knowledge.category_update(actor=lead, category=category, name="Networks")
        knowledge.category_delete(actor=lead, category=category)
        article = knowledge.article_create(actor=lead, title="VPN", body="Restart it.")
        article = knowledge.article_update(actor=lead, article=article, version=1, body="Reinstall it.")
        knowledge.article_revert(actor=lead, article=article, number=1)
        user = accounts.user_create(actor=admin, email="made@example.com", password="Made-h0rse-battery")
        accounts.profile_update(user=agent, is_available=False)

    def actions(target_id: str) -> list[str]:
        return list(
            AuditEntry.objects.filter(object_id=target_id).order_by("at", "id").values_list("action", flat=True)
        )

    assert actions(made.pk) == [
        "ticket.created",
        "ticket.routed",
        "ticket.assigned",
        "ticket.status_changed",
        "ticket.deleted",
        "ticket.restored",
    ]
    assert only(object_id=made.pk, action="ticket.routed").department_id == department.pk
    assert actions(imported.pk) == ["ticket.imported"]
    assert actions(category_id) == ["category.created", "category.updated", "category.deleted"]
    assert actions(article.pk) == ["article.created", "article.updated", "article.updated"]
    assert only(object_id=article.pk, details__reverted_to=1).actor == lead
    assert actions(user.pk) == ["user.created"]
    assert only(object_id=agent.pk, action="user.updated").changes == {"is_available": [True, False]}
    assert only(object_id=made.pk, action="ticket.created").department_id == TRIAGE
