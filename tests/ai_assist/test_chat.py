"""The chatbot (ai_assist.chat, POST /api/v1/ai/chat/, the conversations): grounded answers over
what the asker may read, the honest no-answer with a ticket offer, conversations that are each
person's own, follow-ups, the rate limit. The LLM paths are in test_llm.py; the knowledge base
and its marker words in chat_world.py."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from ai_assist.models import ChatMessage, Conversation, Suggestion
from knowledge.models import Visibility
from tests.ai_assist import chat_world
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events

CHAT = "/api/v1/ai/chat/"
CONVERSATIONS = "/api/v1/ai/conversations/"


@pytest.fixture
def kb_world(people, department, committed, embedder) -> dict:
    return chat_world.build(people, department, committed)


def ask(client, message, conversation_id=None):
    body = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    return client.post(CHAT, body, format="json")


def test_an_employee_gets_the_steps_of_the_article_cited(client_for, kb_world):
    response = ask(client_for("employee"), "How do I reset my password?")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answered"] is True and body["path"] == "extractive" and body["offer"] is None
    assert body["citations"] == [
        {
            "n": 1,
            "kind": "article",
            "id": kb_world["reset"].pk,
            "title": "Reset a forgotten password",
            "url": reverse("kb-article-detail", kwargs={"pk": kb_world["reset"].pk}),
        }
    ]
    assert "2. Enter your work email address. [1]" in body["answer"]
    suggestion = Suggestion.objects.get(pk=body["suggestion_id"])
    assert suggestion.kind == Suggestion.Kind.CHAT and suggestion.path == "extractive"
    assert suggestion.conversation_id == body["conversation_id"]
    assert suggestion.sources[0] == {
        "kind": "article",
        "id": kb_world["reset"].pk,
        "title": "Reset a forgotten password",
        "score": pytest.approx(suggestion.sources[0]["score"]),
    }
    turns = list(ChatMessage.objects.filter(conversation_id=body["conversation_id"]).values_list("role", "path"))
    assert turns == [("user", ""), ("assistant", "extractive")]


@pytest.mark.parametrize(
    ("who", "reads_unlock", "reads_failover", "sees_ticket"),
    [
        ("employee", False, False, False),
        ("agent_other", True, False, False),
        ("agent", True, False, True),
        ("lead", True, True, True),
        ("admin", True, True, True),
    ],
)
def test_role_matrix_nothing_unreadable_reaches_the_asker(
    client_for, kb_world, who, reads_unlock, reads_failover, sees_ticket
):
    client = client_for(who)
    questions = {
        "unlock": "How do I unlock a locked directory account from the directory console?",
        "failover": "How do I switch the directory to the standby region from the cloud console?",
        "ticket": "The Lisbon shared mailbox is missing in Outlook, what did you do about it?",
    }
    hidden = {
        "unlock": ("KESTREL", kb_world["unlock"].pk, "Unlock a directory account"),
        "failover": ("OSPREY", kb_world["failover"].pk, "Directory failover runbook"),
        "ticket": ("HERON", kb_world["ticket"].pk, "Shared mailbox for the Lisbon team"),
    }
    may = {"unlock": reads_unlock, "failover": reads_failover, "ticket": sees_ticket}
    for topic, question in questions.items():
        response = ask(client, question)
        assert response.status_code == 200
        raw = json.dumps(response.json())
        suggestion = Suggestion.objects.get(pk=response.json()["suggestion_id"])
        logged = json.dumps({"sources": suggestion.sources, "output": suggestion.output})
        cited = {c["id"] for c in response.json()["citations"]}
        for secret in hidden[topic]:
            if not may[topic]:
                assert secret not in raw, (who, topic, secret)
                assert secret not in logged, (who, topic, secret)  # not even among the ranked sources
        if may[topic]:
            assert hidden[topic][1] in cited, (who, topic, suggestion.output, suggestion.sources)


def test_a_question_nothing_answers_gets_the_honest_no_answer_and_a_ticket_offer(client_for, kb_world, people):
    client = client_for("employee")
    response = ask(client, "What is the capital city of Australia?")
    body = response.json()
    assert body["answered"] is False and body["citations"] == [] and "[1]" not in body["answer"]
    assert body["answer"].startswith("I could not find an answer")
    assert body["offer"]["title"] == "What is the capital city of Australia?"
    assert "no answer in the knowledge base" in body["offer"]["description"]

    opened = client.post(f"{CONVERSATIONS}{body['conversation_id']}/ticket/", {}, format="json")
    assert opened.status_code == 201, opened.content
    ticket = Ticket.objects.get(pk=opened.json()["id"])
    assert ticket.requester == people["employee"] and ticket.title == body["offer"]["title"]
    assert Conversation.objects.get(pk=body["conversation_id"]).ticket_id == ticket.pk
    again = client.post(f"{CONVERSATIONS}{body['conversation_id']}/ticket/", {}, format="json")
    assert again.status_code == 409
    listed = client.get(CONVERSATIONS).json()["results"]
    assert listed[0]["ticket_id"] == ticket.pk
    # Someone else cannot open a ticket from it.
    assert (
        client_for("agent").post(f"{CONVERSATIONS}{body['conversation_id']}/ticket/", {}, format="json").status_code
        == 404
    )


def test_conversations_are_each_persons_own(client_for, kb_world):
    mine = ask(client_for("employee"), "How do I reset my password?").json()["conversation_id"]
    ask(client_for("agent"), "How do I reset my password?")
    for other in ("agent", "admin"):
        client = client_for(other)
        assert client.get(f"{CONVERSATIONS}{mine}/").status_code == 404
        assert ask(client, "and then?", conversation_id=mine).status_code == 404
        assert mine not in [c["id"] for c in client.get(CONVERSATIONS).json()["results"]]
    own = client_for("employee").get(f"{CONVERSATIONS}{mine}/")
    assert own.status_code == 200
    assert [m["role"] for m in own.json()["messages"]] == ["user", "assistant"]
    assert own.json()["messages"][1]["citations"][0]["id"] == kb_world["reset"].pk
    assert client_for("anonymous").get(CONVERSATIONS).status_code == 401


def test_a_citation_hidden_since_is_dropped_when_the_conversation_is_shown(client_for, kb_world):
    conversation = ask(client_for("employee"), "How do I reset my password?").json()["conversation_id"]
    type(kb_world["reset"]).objects.filter(pk=kb_world["reset"].pk).update(visibility=Visibility.AGENTS)
    shown = client_for("employee").get(f"{CONVERSATIONS}{conversation}/").json()
    assert shown["messages"][1]["citations"] == []


def test_a_follow_up_is_read_with_the_previous_question(client_for, kb_world):
    client = client_for("employee")
    first = ask(client, "How do I reset my password?").json()
    follow = ask(client, "and how long is it locked?", conversation_id=first["conversation_id"]).json()
    assert follow["conversation_id"] == first["conversation_id"]
    question = Suggestion.objects.get(pk=follow["suggestion_id"]).inputs["question"]
    assert question == "How do I reset my password? and how long is it locked?"
    assert follow["answered"] and follow["citations"][0]["id"] == kb_world["reset"].pk
    standalone = ask(client, "How do I switch the directory failover region?", first["conversation_id"]).json()
    assert Suggestion.objects.get(pk=standalone["suggestion_id"]).inputs["question"].startswith("How do I switch")


def test_the_conversation_list_costs_the_same_queries_for_many(
    client_for, kb_world, people, django_assert_max_num_queries
):
    for n in range(12):
        Conversation.objects.create(user=people["employee"], title=f"Question {n}")
    client = client_for("employee")
    with django_assert_max_num_queries(6):
        response = client.get(CONVERSATIONS)
    assert response.json()["count"] == 12


def test_chat_is_rate_limited_per_user(client_for, kb_world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ai_chat_user": "2/m"}
    client = client_for("employee")
    assert [ask(client, "How do I reset my password?").status_code for _ in range(3)] == [200, 200, 429]
    assert ask(client_for("agent"), "How do I reset my password?").status_code == 200  # per user


def test_a_bad_request_is_a_400(client_for, kb_world):
    client = client_for("employee")
    assert client.post(CHAT, {"message": ""}, format="json").status_code == 400
    assert client.post(CHAT, {"message": "hi", "extra": 1}, format="json").status_code == 400
    assert client_for("anonymous").post(CHAT, {"message": "hi"}, format="json").status_code == 401


def test_without_a_model_the_event_stream_gives_the_extractive_answer(client_for, kb_world):
    response = client_for("employee").post(
        CHAT, {"message": "How do I reset my password?"}, format="json", HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    events = parse_events(b"".join(response.streaming_content).decode())
    assert [name for name, _ in events] == ["start", "token", "done"]
    done = events[-1][1]
    assert done["path"] == "extractive" and done["citations"][0]["id"] == kb_world["reset"].pk
    assert events[1][1]["text"] == done["answer"]


def parse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_on_the_demo_knowledge_base_the_readme_questions_behave(client_for, people, committed, embedder):
    from knowledge import demo

    committed(demo.seed_articles, author=people["admin"])
    client = client_for("employee")
    reset = ask(client, "how do I reset my password").json()
    assert reset["answered"] and [c["title"] for c in reset["citations"]] == ["Reset a forgotten password"]
    assert "self-service portal" in reset["answer"]
    parking = ask(client, "How do I book a parking space at the Lisbon office?").json()
    assert not parking["answered"] and parking["citations"] == [] and parking["offer"]
