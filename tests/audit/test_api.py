"""GET /api/v1/audit/: leads (their department, triage, the knowledge base) and admins; filters;
pages; no method that edits or deletes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from ai_assist import services as ai
from ai_assist.models import Suggestion
from knowledge import services as knowledge
from notifications import services as notifications
from tests.factories import AuditEntryFactory, SuggestionFactory, TicketFactory
from tests.helpers import assert_problem, delivered, matrix
from tickets import services
from tickets.models import SlaPolicy

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/"


@pytest.fixture
def trail(people, department, other_department):
    """Entries of every scope: our department's ticket (created in triage, then placed), the other
    department's, the knowledge base, and an account change."""
    lead = people["lead"]
    with delivered():
        ours = services.ticket_create(requester=people["employee"], title="Ours", description="VPN drops")
        services.ticket_update(actor=lead, ticket=ours, department=department)
        services.comment_add(actor=people["agent"], ticket=ours, body="Looking", internal=True)
        theirs = services.ticket_create(
            requester=people["employee"], title="Theirs", description="Printer", department=other_department
        )
        article = knowledge.article_create(actor=lead, title="VPN", body="Restart the client.")
        accounts.user_update(actor=people["admin"], user=people["agent_other"], first_name="Otto")
    return {"ours": ours, "theirs": theirs, "article": article}


def listed(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(entry["action"], entry["target"]["id"]) for entry in response.json()["results"]]


@pytest.mark.parametrize("who,status", matrix([401, 403, 403, 403, 200, 200]))
def test_who_reads_the_log(client_for, trail, who, status):
    response = client_for(who).get(URL)
    if status == 200:
        assert response.status_code == 200
    else:
        assert_problem(response, status)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("who", ["lead", "admin"])
def test_nothing_edits_or_deletes_an_entry(client_for, trail, who, method):
    entry = client_for(who).get(URL).json()["results"][0]
    for url in (URL, f"{URL}{entry['id']}/"):
        assert_problem(getattr(client_for(who), method)(url, {"action": "x"}, format="json"), 405)
    assert client_for(who).get(f"{URL}{entry['id']}/").json() == entry


def test_a_lead_sees_their_department_triage_and_the_knowledge_base(client_for, trail):
    seen = listed(client_for("lead").get(URL, {"page_size": 100}))
    ours, theirs, article = trail["ours"].pk, trail["theirs"].pk, trail["article"].pk
    assert set(seen) == {
        ("ticket.created", ours),  # in triage then: every lead's
        ("ticket.updated", ours),
        ("comment.added", ours),
        ("article.created", article),
    }
    assert all(target != theirs for _, target in seen)


def test_an_admin_sees_everything(client_for, trail, people):
    seen = listed(client_for("admin").get(URL, {"page_size": 100}))
    assert ("ticket.created", trail["theirs"].pk) in seen and ("user.updated", people["agent_other"].pk) in seen


def test_a_lead_reads_the_trail_of_a_ticket_newest_first(client_for, trail, people):
    body = client_for("lead").get(URL, {"target_type": "ticket", "target_id": trail["ours"].pk}).json()
    assert [entry["action"] for entry in body["results"]] == ["comment.added", "ticket.updated", "ticket.created"]
    note = body["results"][0]
    assert note["actor"] == {"id": people["agent"].pk, "name": people["agent"].get_full_name()}
    assert note["details"]["internal"] is True and note["department"] == trail["ours"].department_id
    assert body["results"][1]["changes"] == {"department": [None, trail["ours"].department_id]}


def test_filters_by_actor_action_and_time(client_for, trail, people):
    admin = client_for("admin")
    assert listed(admin.get(URL, {"actor": people["agent"].pk})) == [("comment.added", trail["ours"].pk)]
    assert {target for _, target in listed(admin.get(URL, {"action": "ticket.created"}))} == {
        trail["ours"].pk,
        trail["theirs"].pk,
    }
    now = timezone.now()
    old = AuditEntryFactory(at=now - timedelta(days=3), action="ticket.created")
    window = {"since": (now - timedelta(days=4)).isoformat(), "until": (now - timedelta(days=2)).isoformat()}
    assert listed(admin.get(URL, window)) == [("ticket.created", old.object_id)]
    assert_problem(admin.get(URL, {"since": "yesterday"}), 400)


def test_the_list_costs_the_same_few_queries_at_any_size(client_for, people, django_assert_max_num_queries):
    AuditEntryFactory.create_batch(30, department_id=people["lead"].department_id)
    client = client_for("lead")
    with django_assert_max_num_queries(3):  # the caller, the count, the page (actors joined)
        body = client.get(URL, {"page_size": 50}).json()
    assert body["count"] == 30 and len(body["results"]) == 30


@pytest.fixture
def more_trail(people, department, other_department):
    """Entries of the AI, SLA policies and notifications: a draft on our department's ticket, a summary
    on the other's, an article outlined for a knowledge gap, a review of a chat answer, an SLA edit and
    an employee's email preferences."""
    ours = TicketFactory(department=department, requester=people["employee"])
    theirs = TicketFactory(department=other_department, requester=people["employee"])
    answer = SuggestionFactory(kind=Suggestion.Kind.CHAT, actor=people["employee"], ticket=None)
    with delivered():
        draft = ai.suggestion_record(kind=Suggestion.Kind.DRAFT, actor=people["agent"], ticket=ours, inputs={})
        summary = ai.suggestion_record(
            kind=Suggestion.Kind.SUMMARY, actor=people["agent_other"], ticket=theirs, inputs={}
        )
        gap = ai.suggestion_record(
            kind=Suggestion.Kind.GAP, actor=people["lead"], inputs={}, output={"article": "a" * 24}
        )
        ai.feedback_record(actor=people["employee"], suggestion=answer, verdict="accepted")
        policy = services.sla_policy_update(
            actor=people["admin"], policy=SlaPolicy.objects.get(priority="low"), resolution_minutes=99
        )
        notifications.email_preferences_update(user=people["employee"], reply=False)
    return {
        "draft": draft.pk,
        "summary": summary.pk,
        "gap": gap.pk,
        "chat": answer.pk,
        "sla": policy.pk,
        "preferences": people["employee"].pk,
    }


@pytest.mark.parametrize(
    "who,seen",
    [
        ("lead", {"draft", "gap"}),  # their department's ticket and the knowledge base
        ("admin", {"draft", "summary", "gap", "chat", "sla", "preferences"}),
    ],
)
def test_who_reads_the_ai_sla_and_notification_entries(client_for, more_trail, who, seen):
    targets = {target for _, target in listed(client_for(who).get(URL, {"page_size": 100}))}
    assert {kind for kind, target in more_trail.items() if target in targets} == seen


@pytest.mark.parametrize("who", ["employee", "agent_other", "agent"])
def test_nobody_else_reads_them(client_for, more_trail, who):
    assert_problem(client_for(who).get(URL, {"target_type": "suggestion"}), 403)
