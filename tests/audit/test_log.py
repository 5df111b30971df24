"""The activity log: every service write leaves one immutable entry (sign-ins too), with actor,
action, target, changes before/after (never a secret), request id, IP and time."""

import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from accounts import services as accounts
from accounts import sso
from accounts.models import Role
from accounts.oidc import SignInRefused
from audit.models import KNOWLEDGE_BASE, TRIAGE, AppendOnly, AuditEntry
from helpdesk import dispatch
from helpdesk.models import OutboxDelivery, OutboxEvent
from knowledge import services as knowledge
from tests.factories import PASSWORD, AuditEntryFactory, UserFactory
from tests.helpers import browser_for, delivered
from tickets import services

pytestmark = pytest.mark.django_db


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("at", "id"))


def test_each_ticket_write_leaves_an_entry(people, department):
    agent = people["agent"]
    with delivered():
        ticket = services.ticket_create(
            requester=people["employee"], title="VPN", description="d", department=department
        )
        ticket = services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
        services.comment_add(actor=agent, ticket=ticket, body="note", internal=True)
        services.ticket_escalate(actor=None, ticket=ticket, reason="SLA breached")
    logged = entries(object_id=ticket.pk)
    assert [e.action for e in logged] == ["ticket.created", "ticket.assigned", "comment.added", "ticket.escalated"]
    assert logged[0].actor == people["employee"] and logged[-1].actor is None
    assert logged[1].changes == {"assignee": [None, agent.pk], "status": ["new", "open"]}
    assert logged[2].details["internal"] is True and "body" not in logged[2].details  # the text stays on the ticket
    assert logged[-1].details["reason"] == "SLA breached" and logged[-1].changes == {"escalated": [False, True]}
    assert {e.department_id for e in logged} == {department.pk}


def test_a_move_is_stamped_with_both_departments_and_triage_is_marked(people, department, other_department):
    with delivered():
        ticket = services.ticket_create(requester=people["employee"], title="Printer", description="jammed")
        services.ticket_update(actor=people["admin"], ticket=ticket, department=department)
        services.ticket_update(actor=people["admin"], ticket=ticket, department=other_department)
    created, routed, moved = entries(object_id=ticket.pk)
    assert (created.department_id, created.previous_department_id) == (TRIAGE, "")
    assert (routed.department_id, routed.previous_department_id) == (department.pk, TRIAGE)
    assert (moved.department_id, moved.previous_department_id) == (other_department.pk, department.pk)
    assert moved.changes == {"department": [department.pk, other_department.pk]}


def test_article_and_category_entries_carry_the_knowledge_base_marker(people):
    lead = people["lead"]
    with delivered():
        category = knowledge.category_create(actor=lead, name="Network")
        article = knowledge.article_create(actor=lead, title="VPN", body="Restart it.", category=category)
        knowledge.article_update(actor=lead, article=article, version=1, body="Reinstall it.")
        knowledge.article_delete(actor=lead, article=article)
    logged = entries(department_id=KNOWLEDGE_BASE)
    assert [e.action for e in logged] == ["category.created", "article.created", "article.updated", "article.deleted"]
    assert logged[2].changes == {"body": ["version 1", "version 2"]}
    assert logged[3].details["title"] == "VPN" and logged[3].details["category_id"] == category.pk


def test_an_api_write_records_the_request_id_and_the_client_address(client_for, people, department):
    with delivered():
        response = client_for("employee").post(
            "/api/v1/tickets/",
            {"title": "VPN", "description": "drops", "department": department.pk},
            format="json",
            HTTP_X_REQUEST_ID="req-0123456789",
            REMOTE_ADDR="10.1.2.3",
        )
    assert response.status_code == 201, response.content
    [entry] = entries(object_id=response.json()["id"], action="ticket.created")
    assert (entry.request_id, entry.ip, entry.actor) == ("req-0123456789", "10.1.2.3", people["employee"])


def test_sign_ins_sign_outs_and_failures_are_logged_without_secrets(api, people):
    employee = people["employee"]
    with delivered():
        pair = api.post("/api/v1/auth/login/", {"email": employee.email, "password": PASSWORD}, format="json").json()
        api.post("/api/v1/auth/login/", {"email": employee.email, "password": "wrong-guess-1"}, format="json")
        api.post("/api/v1/auth/login/", {"email": "nobody@example.com", "password": "wrong-guess-2"}, format="json")
        api.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    logged = entries(object_type="user")
    assert [(e.action, e.object_id, e.actor_id) for e in logged] == [
        ("user.logged_in", employee.pk, employee.pk),
        ("user.login_failed", employee.pk, None),
        ("user.login_failed", "", None),
        ("user.logged_out", employee.pk, employee.pk),
    ]
    assert logged[2].details["email"] == "nobody@example.com"
    text = json.dumps([[e.changes, e.details] for e in logged])
    for secret in (PASSWORD, "wrong-guess-1", "wrong-guess-2", pair["refresh"], pair["access"]):
        assert secret not in text


def test_role_changes_deactivation_and_password_changes_are_logged(people):
    admin, agent = people["admin"], people["agent"]
    with delivered():
        accounts.user_update(actor=admin, user=agent, role=Role.LEAD, first_name="Grace", password="N3w-secret-pass!")
        accounts.user_deactivate(actor=admin, user=agent)
    logged = entries(object_id=agent.pk)
    assert [e.action for e in logged] == ["user.role_changed", "user.updated", "user.deactivated"]
    assert logged[0].changes == {"role": ["agent", "lead"]} and logged[0].details["previous_role"] == "agent"
    assert logged[1].changes["password"] == ["[redacted]", "[redacted]"]
    assert logged[1].changes["first_name"][1] == "Grace"
    assert logged[2].changes == {"is_active": [True, False]}
    assert all(e.actor == admin and e.department_id == "" for e in logged)  # admins only
    assert "N3w-secret-pass!" not in json.dumps([e.changes for e in logged])


def test_signup_and_departments_are_logged(api, people):
    with delivered():
        api.post("/api/v1/auth/signup/", {"email": "new@example.com", "password": "Correct-h0rse!"}, format="json")
        made = accounts.department_create(actor=people["admin"], name="Facilities")
        accounts.department_update(actor=people["admin"], department=made, name="Facility")
        accounts.department_delete(actor=people["admin"], department=made)
    assert [e.action for e in entries()] == [
        "user.signed_up",
        "department.created",
        "department.updated",
        "department.deleted",
    ]
    assert entries(action="department.updated")[0].changes == {"name": ["Facilities", "Facility"]}


@override_settings(OIDC_GROUP_ROLES={"hd-net-agents": "agent"}, OIDC_GROUP_DEPARTMENTS={"hd-net-agents": "Network"})
def test_company_sign_in_is_logged_the_account_made_its_role_from_the_groups_and_a_refusal(department):
    claims = {"iss": "https://idp.corp.example", "sub": "0001", "email": "ada@corp.example", "email_verified": True}
    claims |= {"given_name": "Ada", "groups": ["hd-net-agents"]}
    with delivered():
        ada = sso.sign_in(claims=claims)
        sso.sign_in(claims={**claims, "groups": []})  # left the group at the provider
        UserFactory(email="gone@corp.example", is_active=False)
        with pytest.raises(SignInRefused):
            sso.sign_in(claims={**claims, "sub": "0002", "email": "gone@corp.example"})
    assert entries(action="user.provisioned")[0].object_id == ada.pk
    [linked] = entries(action="user.company_identity_linked")  # bound once, at the first sign-in
    assert (linked.object_id, linked.details.get("issuer")) == (
        ada.pk,
        "https://idp.corp.example",
    )
    role_changes = entries(action="user.role_changed", object_id=ada.pk)
    assert [entry.changes["role"] for entry in role_changes] == [["agent", "employee"]]
    assert [entry.actor_id for entry in role_changes] == [None]  # the provider's directory, not a person
    assert len(entries(action="user.company_sign_in_refused")) == 1


def test_a_redelivered_event_never_writes_a_second_entry(people, department):
    with delivered():
        ticket = services.ticket_create(requester=people["employee"], title="T", description="d", department=department)
    OutboxDelivery.objects.filter(consumer="audit").delete()  # as if the delivery was never noted
    OutboxEvent.objects.update(delivered_at=None)
    dispatch.deliver(list(OutboxEvent.objects.values_list("pk", flat=True)))
    assert len(entries(object_id=ticket.pk)) == 1


# --- Append-only ------------------------------------------------------------------------------------


def test_entries_cannot_be_changed_or_deleted_through_the_model():
    entry = AuditEntryFactory()
    entry.action = "ticket.deleted"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "ticket.created"


@pytest.mark.skipif(connection.vendor not in ("sqlite", "postgresql"), reason="triggers on SQL databases only")
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditentry SET action = 'x'", "DELETE FROM audit_auditentry"],
    ids=["update", "delete"],
)
def test_the_database_refuses_updates_and_deletes_too(statement):
    entry = AuditEntryFactory()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).action == "ticket.created"


def test_deleting_a_user_keeps_their_entries_as_they_were():
    user = UserFactory()
    entry = AuditEntryFactory(actor=user)
    user.delete()
    assert AuditEntry.objects.get(pk=entry.pk).actor_id == entry.actor_id


def test_leads_read_their_departments_entries_in_admin_which_is_read_only(people, department, other_department):
    with delivered():
        ours = services.ticket_create(
            requester=people["employee"], title="Ours", description="d", department=department
        )
        theirs = services.ticket_create(
            requester=people["employee"], title="Theirs", description="d", department=other_department
        )
    browser = browser_for(people["lead"])
    page = browser.get("/admin/audit/auditentry/").content.decode()
    assert ours.pk in page and theirs.pk not in page
    assert browser.get("/admin/audit/auditentry/add/").status_code == 403
    entry = entries(object_id=ours.pk)[0]
    admin = browser_for(people["admin"])
    assert admin.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    admin.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "x"})
    listing = admin.post("/admin/audit/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk]})
    assert listing.status_code in (200, 302, 403)
    assert AuditEntry.objects.get(pk=entry.pk).action == "ticket.created"
