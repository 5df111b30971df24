"""Review of the AI: feedback on a suggestion (with the edit distance of an edited draft), the
suggestion log and its statistics for leads and admins, and the log in Django admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ai_assist import services
from ai_assist.ml.textdiff import word_edit_distance
from ai_assist.models import Conversation, Suggestion, SuggestionFeedback
from tests.factories import TicketFactory, UserFactory
from tests.helpers import assert_problem, browser_for, matrix

pytestmark = pytest.mark.django_db

SUGGESTIONS = "/api/v1/ai/suggestions/"
STATS = "/api/v1/ai/stats/"
DRAFT = "Hello Ada,\n\nInstall VPN client 5.2 [1].\n\nBest regards,\nGrace"


def feedback_url(suggestion) -> str:
    return f"/api/v1/ai/suggestions/{suggestion.pk}/feedback/"


@pytest.fixture
def tickets(people, department, other_department) -> dict:
    return {
        "ours": TicketFactory(title="Ours: VPN drops", requester=people["employee"], department=department),
        "theirs": TicketFactory(title="Theirs: printer jams", department=other_department),
    }


def draft(ticket, actor, *, text: str = DRAFT, sources=(), latency: float = 40.0, path: str = "extractive"):
    return services.suggestion_record(
        kind=Suggestion.Kind.DRAFT,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk},
        output={"text": text, "citations": [s | {"n": n} for n, s in enumerate(sources, 1)]},
        sources=list(sources),
        path=path,
        model="extractive-hybrid-v1",
        latency_ms=latency,
    )


# --- Feedback --------------------------------------------------------------------------------


@pytest.mark.parametrize("who,status", matrix([401, 404, 404, 201, 201, 201]))
def test_feedback_is_for_the_asker_and_staff_who_see_the_ticket(client_for, people, tickets, who, status):
    suggestion = draft(tickets["ours"], people["agent"])
    response = client_for(who).post(feedback_url(suggestion), {"verdict": "accepted"}, format="json")
    if status == 201:
        assert response.status_code == 201, response.content
        assert response.json()["verdict"] == "accepted"
    else:
        assert_problem(response, status)


def test_an_employee_rates_their_own_chat_answer(client_for, people):
    answer = services.suggestion_record(
        kind=Suggestion.Kind.CHAT, actor=people["employee"], inputs={"message": "vpn?"}, output={"answer": "Do X [1]."}
    )
    response = client_for("employee").post(feedback_url(answer), {"verdict": "rejected"}, format="json")
    assert response.status_code == 201, response.content
    assert_problem(client_for("agent").post(feedback_url(answer), {"verdict": "accepted"}, format="json"), 404)


def test_an_edited_draft_records_its_edit_distance_in_words(client_for, people, tickets):
    suggestion = draft(tickets["ours"], people["agent"])
    final = "Hello Ada,\n\nPlease install VPN client 5.3 [1].\n\nKind regards,\nGrace"
    response = client_for("agent").post(
        feedback_url(suggestion), {"verdict": "edited", "final_text": final, "comment": "version"}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    # "Please" inserted, "Install" -> "install" (case counts), "5.2" -> "5.3", "Best" -> "Kind": four words.
    assert body["edit_distance"] == 4 == word_edit_distance(DRAFT, final)
    review = SuggestionFeedback.objects.get(pk=body["id"])
    assert (review.verdict, review.final_text, review.comment, review.user) == (
        "edited",
        final,
        "version",
        people["agent"],
    )


def test_a_second_review_by_the_same_person_replaces_the_first(client_for, people, tickets):
    suggestion = draft(tickets["ours"], people["agent"])
    client = client_for("agent")
    assert client.post(feedback_url(suggestion), {"verdict": "accepted"}, format="json").status_code == 201
    response = client.post(feedback_url(suggestion), {"verdict": "edited", "final_text": "Hi"}, format="json")
    assert response.status_code == 200, response.content
    assert SuggestionFeedback.objects.filter(suggestion=suggestion).count() == 1
    assert SuggestionFeedback.objects.get(suggestion=suggestion).verdict == "edited"
    # Another person's review is their own.
    assert client_for("lead").post(feedback_url(suggestion), {"verdict": "rejected"}, format="json").status_code == 201
    assert SuggestionFeedback.objects.filter(suggestion=suggestion).count() == 2


@pytest.mark.parametrize(
    "body,field",
    [
        ({"verdict": "edited"}, "final_text"),
        ({"verdict": "accepted", "final_text": "x"}, "final_text"),
        ({"verdict": "corrected"}, "verdict"),
        ({"verdict": "accepted", "stars": 5}, "stars"),
    ],
)
def test_a_review_that_does_not_fit_is_refused(client_for, people, tickets, body, field):
    suggestion = draft(tickets["ours"], people["agent"])
    problem = assert_problem(client_for("agent").post(feedback_url(suggestion), body, format="json"), 400)
    assert field in problem["errors"]


def test_a_routing_cannot_be_edited_only_accepted_or_rejected(client_for, people, tickets, department):
    routing = services.suggestion_record(
        kind=Suggestion.Kind.ROUTE, actor=None, ticket=tickets["ours"], inputs={}, department=department
    )
    client = client_for("lead")
    problem = assert_problem(
        client.post(feedback_url(routing), {"verdict": "edited", "final_text": "x"}, format="json"), 400
    )
    assert "verdict" in problem["errors"]
    assert client.post(feedback_url(routing), {"verdict": "accepted"}, format="json").status_code == 201


# --- The log ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who,status", matrix([401, 403, 403, 403, 200, 200]))
def test_the_log_is_for_leads_and_admins(client_for, people, tickets, who, status):
    draft(tickets["ours"], people["agent"])
    response = client_for(who).get(SUGGESTIONS)
    if status == 200:
        assert response.status_code == 200, response.content
        assert response.json()["count"] == 1
    else:
        assert_problem(response, status)


def test_a_lead_sees_their_departments_suggestions_admins_all(client_for, people, tickets):
    ours = draft(tickets["ours"], people["agent"])
    theirs = draft(tickets["theirs"], people["agent_other"])
    chat = services.suggestion_record(kind=Suggestion.Kind.CHAT, actor=people["employee"], inputs={"message": "hi"})
    assert [s["id"] for s in client_for("lead").get(SUGGESTIONS).json()["results"]] == [ours.pk]
    assert {s["id"] for s in client_for("admin").get(SUGGESTIONS).json()["results"]} == {ours.pk, theirs.pk, chat.pk}


def test_the_log_filters_by_kind_path_and_time(client_for, people, tickets):
    old = draft(tickets["ours"], people["agent"], path="llm")
    Suggestion.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    new = draft(tickets["ours"], people["agent"])
    summary = services.suggestion_record(
        kind=Suggestion.Kind.SUMMARY, actor=people["agent"], ticket=tickets["ours"], inputs={}, path="extractive"
    )
    client = client_for("lead")

    def ids(query: str) -> list[str]:
        response = client.get(SUGGESTIONS + query)
        assert response.status_code == 200, response.content
        return [s["id"] for s in response.json()["results"]]

    assert ids("?kind=draft") == [new.pk, old.pk]
    assert ids("?kind=draft&path=llm") == [old.pk]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"?since={since}") == [summary.pk, new.pk]
    assert_problem(client.get(SUGGESTIONS + "?kind=poem"), 400)


def test_a_suggestion_drawing_on_something_hidden_shows_no_text(client_for, people, tickets):
    hidden = {"kind": "ticket", "id": tickets["theirs"].pk, "title": "Theirs: printer jams", "score": 0.9}
    visible = {"kind": "ticket", "id": tickets["ours"].pk, "title": "Ours: VPN drops", "score": 0.8}
    withheld = draft(tickets["ours"], people["admin"], sources=[hidden], text="Theirs: printer jams fix [1]")
    shown = draft(tickets["ours"], people["admin"], sources=[visible])
    results = {s["id"]: s for s in client_for("lead").get(SUGGESTIONS).json()["results"]}
    assert results[withheld.pk]["withheld"] is True
    assert results[withheld.pk]["text"] is None and results[withheld.pk]["citations"] == []
    assert "printer" not in str(results[withheld.pk])
    assert results[shown.pk]["withheld"] is False and results[shown.pk]["text"] == DRAFT
    assert client_for("admin").get(SUGGESTIONS).json()["results"][1]["withheld"] is False


def test_the_log_costs_a_fixed_number_of_queries(client_for, people, tickets, django_assert_max_num_queries):
    for n in range(30):
        suggestion = draft(
            tickets["ours"],
            people["agent"],
            sources=[{"kind": "ticket", "id": tickets["ours"].pk, "title": "t", "score": 0.5}],
        )
        services.feedback_record(actor=people["agent"], suggestion=suggestion, verdict="edited", final_text=f"x {n}")
        services.feedback_record(actor=people["lead"], suggestion=suggestion, verdict="accepted")
    client = client_for("lead")
    # caller, count, page (ticket, actor, department joined), reviews (+ people), readable articles/tickets
    with django_assert_max_num_queries(7):
        response = client.get(SUGGESTIONS + "?page_size=30")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 30
    assert all(len(s["reviews"]) == 2 for s in response.json()["results"])


def test_confidences_are_rounded_in_the_log(client_for, tickets, department):
    services.suggestion_record(
        kind=Suggestion.Kind.ROUTE,
        actor=None,
        ticket=tickets["ours"],
        inputs={},
        department=department,
        confidence=0.876543,
    )
    assert client_for("lead").get(SUGGESTIONS).json()["results"][0]["confidence"] == 0.88


# --- Statistics ------------------------------------------------------------------------------


@pytest.mark.parametrize("who,status", matrix([401, 403, 403, 403, 200, 200]))
def test_statistics_are_for_leads_and_admins(client_for, who, status, people):
    response = client_for(who).get(STATS)
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, status)


def test_statistics_give_rates_latency_routing_accuracy_and_deflection(
    client_for, people, tickets, department, other_department
):
    agent, lead = people["agent"], people["lead"]
    drafts = [draft(tickets["ours"], agent, latency=ms) for ms in (10.0, 20.0, 30.0, 40.0)]
    services.feedback_record(actor=agent, suggestion=drafts[0], verdict="accepted")
    services.feedback_record(actor=agent, suggestion=drafts[1], verdict="edited", final_text="Hello Ada, bye")
    services.feedback_record(actor=agent, suggestion=drafts[2], verdict="rejected")
    draft(tickets["theirs"], people["agent_other"], latency=999.0)  # another department's: not the lead's
    # Routing: two tickets the AI placed in Network, one corrected by the lead; one abstention.
    for n in range(2):
        ticket = TicketFactory(title=f"routed {n}", department=department)
        routed = services.suggestion_record(
            kind=Suggestion.Kind.ROUTE, actor=None, ticket=ticket, inputs={}, department=department, confidence=0.9
        )
    services.routing_correction_record(
        actor_id=lead.pk,
        ticket_id=routed.ticket_id,
        from_department_id=department.pk,
        to_department_id=other_department.pk,
    )
    services.suggestion_record(
        kind=Suggestion.Kind.ROUTE, actor=None, ticket=TicketFactory(department=None), inputs={}, abstained=True
    )
    # The chatbot: people of the lead's department had three conversations, one ended with a ticket.
    colleague = UserFactory(department=department)
    for n in range(3):
        Conversation.objects.create(user=colleague, title=f"q{n}", ticket=tickets["ours"] if n == 0 else None)
    Conversation.objects.create(user=people["agent_other"], title="elsewhere")

    body = client_for("lead").get(STATS).json()
    assert body["scope"] == "department"
    rows = {(row["kind"], row["path"]): row for row in body["by_kind"]}
    drafts_row = rows[("draft", "extractive")]
    assert (drafts_row["count"], drafts_row["reviews"], drafts_row["accepted"], drafts_row["edited"]) == (4, 3, 1, 1)
    assert drafts_row["acceptance_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert drafts_row["edit_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert drafts_row["mean_edit_distance"] == word_edit_distance(DRAFT, "Hello Ada, bye")
    assert (drafts_row["latency_p50_ms"], drafts_row["latency_p95_ms"]) == (25.0, 38.5)
    assert body["routing"] == {"routed": 2, "abstained": 1, "corrected": 1, "accuracy": 0.5}
    assert body["chatbot"] == {"conversations": 3, "with_ticket": 1, "deflected": 2, "deflection_rate": 0.6667}

    everything = client_for("admin").get(STATS).json()
    assert everything["scope"] == "all" and everything["chatbot"]["conversations"] == 4
    assert {(row["kind"], row["path"]): row["count"] for row in everything["by_kind"]}[("draft", "extractive")] == 5


def test_statistics_refuse_a_window_that_makes_no_sense(client_for):
    assert_problem(client_for("lead").get(STATS + "?since=2026-11-20T00:00:00Z&until=2026-11-10T00:00:00Z"), 400)
    assert_problem(client_for("lead").get(STATS + "?since=2020-01-01T00:00:00Z&until=2026-11-10T00:00:00Z"), 400)


# --- Django admin ----------------------------------------------------------------------------


def test_admin_lists_reviews_inline_and_withholds_what_the_lead_may_not_read(people, tickets):
    hidden = {"kind": "ticket", "id": tickets["theirs"].pk, "title": "Theirs: printer jams", "score": 0.9}
    suggestion = draft(tickets["ours"], people["admin"], sources=[hidden], text="Theirs: printer jams fix [1]")
    services.feedback_record(actor=people["agent"], suggestion=suggestion, verdict="edited", final_text="Short reply")
    page = browser_for(people["lead"]).get(f"/admin/ai_assist/suggestion/{suggestion.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Short reply" in content and "Edited" in content  # the review, inline
    assert "printer" not in content and "withheld" in content
    listing = browser_for(people["lead"]).get("/admin/ai_assist/suggestion/?path__exact=extractive")
    assert listing.status_code == 200 and suggestion.pk in listing.content.decode()
