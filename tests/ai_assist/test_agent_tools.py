"""Agent tools: a reply drafted to the requester, a summary for an agent taking over, an article
drafted from a resolved ticket. Who may use them, what they may draw on, and the three paths
(a language model, the fallback when it fails, the extractive composer)."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from ai_assist import llm
from ai_assist.models import Suggestion
from knowledge.models import Article
from knowledge.models import Status as ArticleStatus
from knowledge.policies import visible_articles
from tests.ai_assist import world
from tests.factories import hardware_department, network_department, people_of
from tests.helpers import assert_problem, fresh_world, made_once_per_module, matrix
from tickets.models import Ticket
from tickets.policies import visible_tickets

pytestmark = pytest.mark.django_db


def make_everything() -> dict:
    department, other_department = network_department(), hardware_department()
    people = people_of(department, other_department)
    made = {"department": department, "other_department": other_department, "people": people}
    return {**made, "world": world.build(people, department, other_department)}


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker):
    """The people and the small helpdesk, made once for the module's tests (each in a savepoint)."""
    with made_once_per_module(django_db_blocker) as kept:
        yield make_everything() if kept else None


@pytest.fixture
def everything(made, db) -> dict:
    return fresh_world(made, make_everything)


@pytest.fixture
def department(everything):
    return everything["department"]


@pytest.fixture
def other_department(everything):
    return everything["other_department"]


@pytest.fixture
def people(everything):
    return everything["people"]


@pytest.fixture
def helpdesk(everything, embedder):
    """The small helpdesk of tests/ai_assist/world.py, in the vector index (emptied after each test)."""
    return world.indexed(everything["world"])


def draft_url(ticket) -> str:
    return f"/api/v1/ai/tickets/{ticket.pk}/draft-reply/"


def summary_url(ticket) -> str:
    return f"/api/v1/ai/tickets/{ticket.pk}/summary/"


FROM_TICKET = "/api/v1/kb/articles/from-ticket/"


def with_model(monkeypatch, chat_model, *, timeout: float = 5.0):
    """Answer with a LangChain chat model through the real adapter (ai_assist.llm.ChatLlm)."""
    model = llm.ChatLlm(chat_model, name="fake:model", timeout=timeout)
    monkeypatch.setattr(llm, "current", lambda: model)
    return model


class Echo(FakeListChatModel):
    """A model that repeats everything it was shown, then cites a passage that exists and one that does not."""

    def _call(self, messages, *args, **kwargs):
        shown = "\n".join(str(message.content) for message in messages)
        return f"{shown}\nSee [1] and [42]."


def readable_by(user, citation: dict) -> bool:
    if citation["kind"] == "article":
        return Article.objects.filter(visible_articles(user), pk=citation["id"], status="published").exists()
    return Ticket.objects.filter(visible_tickets(user), pk=citation["id"]).exists()


# --- Who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who,status", matrix([401, 403, 404, 200, 200, 200]))
def test_draft_reply_is_for_staff_who_see_the_ticket(client_for, helpdesk, who, status):
    response = client_for(who).post(draft_url(helpdesk.open_ticket))
    if status == 200:
        assert response.status_code == 200, response.content
        assert set(response.json()) == {"suggestion_id", "text", "citations", "path"}
    else:
        assert_problem(response, status)


@pytest.mark.parametrize("who,status", matrix([401, 403, 404, 200, 200, 200]))
def test_summary_is_for_staff_who_see_the_ticket(client_for, helpdesk, who, status):
    response = client_for(who).post(summary_url(helpdesk.open_ticket))
    if status == 200:
        assert response.status_code == 200, response.content
        assert set(response.json()) == {"suggestion_id", "text", "path"}
    else:
        assert_problem(response, status)


@pytest.mark.parametrize("who,status", matrix([401, 403, 403, 403, 201, 201]))
def test_article_from_ticket_is_for_leads_and_admins(client_for, helpdesk, who, status):
    response = client_for(who).post(FROM_TICKET, {"ticket": helpdesk.resolved.pk}, format="json")
    if status == 201:
        assert response.status_code == 201, response.content
    else:
        assert_problem(response, status)


def test_article_from_a_ticket_the_lead_may_not_see_is_404(client_for, helpdesk):
    assert_problem(client_for("lead").post(FROM_TICKET, {"ticket": helpdesk.elsewhere.pk}, format="json"), 404)


# --- What a draft may draw on ----------------------------------------------------------------


def test_the_draft_is_grounded_in_what_the_agent_may_read(client_for, helpdesk, people):
    body = client_for("agent").post(draft_url(helpdesk.open_ticket)).json()
    assert body["path"] == "extractive"
    assert body["text"].startswith("Hello")
    assert body["citations"], body
    cited = {(c["kind"], c["id"]) for c in body["citations"]}
    assert cited <= {("article", helpdesk.article.pk), ("ticket", helpdesk.resolved.pk)}
    for citation in body["citations"]:
        assert f"[{citation['n']}]" in body["text"]
        assert citation["url"].endswith(f"/{citation['id']}/")
    suggestion = Suggestion.objects.get(pk=body["suggestion_id"])
    assert (suggestion.kind, suggestion.path, suggestion.actor, suggestion.ticket_id) == (
        Suggestion.Kind.DRAFT,
        "extractive",
        people["agent"],
        helpdesk.open_ticket.pk,
    )
    assert suggestion.sources and suggestion.latency_ms > 0 and suggestion.output["text"] == body["text"]


@pytest.mark.parametrize("who", ["agent_other", "agent", "lead", "admin"])
def test_no_draft_or_summary_shows_what_its_reader_may_not_read(client_for, helpdesk, people, who):
    ticket = helpdesk.hardware_open if who == "agent_other" else helpdesk.open_ticket
    client = client_for(who)
    for url in (draft_url(ticket), summary_url(ticket)):
        body = client.post(url).json()
        text = body["text"]
        for marker, hidden_from in world.HIDDEN_FROM.items():
            if who in hidden_from:
                assert marker not in text, (url, marker, text)
        for citation in body.get("citations", []):
            assert readable_by(people[who], citation), citation
        # A reply is for the requester (an employee here): nothing they could not read.
        if "draft-reply" in url:
            for marker, hidden_from in world.HIDDEN_FROM.items():
                if "requester" in hidden_from:
                    assert marker not in text, (marker, text)
            assert helpdesk.agents_article.pk not in {c["id"] for c in body["citations"]}
        for suggestion in Suggestion.objects.filter(pk=body["suggestion_id"]):
            for source in suggestion.sources:
                assert readable_by(people[who], source), source


def test_the_draft_never_cites_another_departments_ticket_or_a_draft_article(client_for, helpdesk):
    body = client_for("agent").post(draft_url(helpdesk.open_ticket)).json()
    ids = {c["id"] for c in body["citations"]}
    assert helpdesk.elsewhere.pk not in ids and helpdesk.draft_article.pk not in ids
    assert helpdesk.leads_article.pk not in ids
    sources = {s["id"] for s in Suggestion.objects.get(pk=body["suggestion_id"]).sources}
    assert not sources & {helpdesk.elsewhere.pk, helpdesk.draft_article.pk, helpdesk.leads_article.pk}
    assert helpdesk.open_ticket.pk not in sources  # the ticket itself is the question, not a source


def test_a_model_is_never_shown_an_internal_note_for_a_reply(client_for, helpdesk, monkeypatch):
    with_model(monkeypatch, Echo(responses=["unused"]))
    body = client_for("agent").post(draft_url(helpdesk.open_ticket)).json()
    assert body["path"] == "llm"
    # The echo repeats the whole prompt: the public thread is there, its internal note is not.
    assert "What else can I try?" in body["text"]
    assert "ZEBRA" not in body["text"] and "OTTER" not in body["text"]
    # [1] names a retrieved passage and stays, checked; [42] names none and is removed.
    assert "[42]" not in body["text"] and "[1]" in body["text"]
    numbers = [c["n"] for c in body["citations"]]
    assert 1 in numbers and 42 not in numbers  # (the echoed prompt lists the passages [1], [2], ... too)
    suggestion = Suggestion.objects.get(pk=body["suggestion_id"])
    assert (suggestion.path, suggestion.model) == ("llm", "fake:model")


def test_a_failing_model_falls_back_to_the_extractive_draft(client_for, helpdesk, monkeypatch):
    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):
            raise ConnectionError("provider down")

    with_model(monkeypatch, Broken(responses=["x"]))
    body = client_for("agent").post(draft_url(helpdesk.open_ticket)).json()
    assert body["path"] == "fallback"
    assert body["citations"] and body["text"].startswith("Hello")
    assert "provider down" in Suggestion.objects.get(pk=body["suggestion_id"]).error


def test_a_slow_model_falls_back_within_its_deadline(client_for, helpdesk, monkeypatch):
    with_model(monkeypatch, FakeListChatModel(responses=["too late"], sleep=3), timeout=0.2)
    body = client_for("agent").post(summary_url(helpdesk.open_ticket)).json()
    assert body["path"] == "fallback"
    assert "Open question:" in body["text"]


def test_with_nothing_relevant_the_draft_is_an_honest_holding_reply(client_for, people, department):
    from tests.factories import TicketFactory

    ticket = TicketFactory(
        title="Canteen menu",
        description="Where is the canteen menu?",
        requester=people["employee"],
        department=department,
    )
    body = client_for("agent").post(draft_url(ticket)).json()
    assert body["citations"] == []
    assert "looking into it" in body["text"]


# --- Summaries -------------------------------------------------------------------------------


def test_the_summary_gives_the_open_question_and_what_was_tried(client_for, helpdesk):
    body = client_for("agent").post(summary_url(helpdesk.open_ticket)).json()
    text = body["text"]
    assert body["path"] == "extractive"
    assert "Open question: I restarted it" not in text
    assert "Open question: What else can I try?" in text
    assert "reinstalled the client" in text  # what was tried
    assert "ZEBRA" in text and "internal note" in text  # staff read internal notes, marked
    suggestion = Suggestion.objects.get(pk=body["suggestion_id"])
    assert (suggestion.kind, suggestion.output["text"]) == (Suggestion.Kind.SUMMARY, text)


def test_a_model_summary_is_shown_the_notes_its_reader_may_read(client_for, helpdesk, monkeypatch):
    with_model(monkeypatch, Echo(responses=["unused"]))
    text = client_for("agent").post(summary_url(helpdesk.open_ticket)).json()["text"]
    assert "ZEBRA" in text and "[internal note, staff only]" in text


# --- Articles from tickets -------------------------------------------------------------------


def test_an_article_is_drafted_from_the_public_thread(client_for, helpdesk, people):
    response = client_for("lead").post(FROM_TICKET, {"ticket": helpdesk.resolved.pk}, format="json")
    body = response.json()
    assert response.status_code == 201, body
    assert (body["status"], body["visibility"], body["path"]) == ("draft", "agents", "extractive")
    assert "Install VPN client 5.2" in body["body"]
    assert "OTTER" not in body["body"]  # never an internal note
    article = Article.objects.get(pk=body["id"])
    assert article.status == ArticleStatus.DRAFT and article.author == people["lead"]
    suggestion = Suggestion.objects.get(pk=body["suggestion_id"])
    assert (suggestion.kind, suggestion.ticket_id, suggestion.output["article"]) == (
        Suggestion.Kind.ARTICLE,
        helpdesk.resolved.pk,
        article.pk,
    )


def test_a_model_article_is_shown_the_public_thread_only(client_for, helpdesk, monkeypatch):
    with_model(
        monkeypatch,
        FakeListChatModel(responses=["# VPN drops hourly\n\n## Problem\nDrops.\n\n## Solution\nInstall 5.2."]),
    )
    body = (
        client_for("admin")
        .post(FROM_TICKET, {"ticket": helpdesk.resolved.pk, "visibility": "everyone"}, format="json")
        .json()
    )
    assert (body["title"], body["path"], body["visibility"]) == ("VPN drops hourly", "llm", "everyone")
    assert body["body"].startswith("## Problem")


def test_only_a_resolved_ticket_becomes_an_article(client_for, helpdesk):
    response = client_for("lead").post(FROM_TICKET, {"ticket": helpdesk.open_ticket.pk}, format="json")
    assert_problem(response, 400, "ticket_not_resolved")
    assert_problem(client_for("lead").post(FROM_TICKET, {"ticket": helpdesk.resolved.pk, "x": 1}, format="json"), 400)


def test_drafts_and_summaries_are_rate_limited_per_user(client_for, helpdesk, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ai_agent_tools_user": "2/m"}
    agent = client_for("agent")
    assert agent.post(draft_url(helpdesk.open_ticket)).status_code == 200
    assert agent.post(summary_url(helpdesk.open_ticket)).status_code == 200
    assert_problem(agent.post(draft_url(helpdesk.open_ticket)), 429, "rate_limited")
    assert client_for("lead").post(summary_url(helpdesk.open_ticket)).status_code == 200  # per user
