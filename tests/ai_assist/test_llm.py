"""The chat-model adapter (ai_assist.llm): LangChain's fake chat models run the real call path; a
tiny OpenAI-compatible server on loopback stands in for Ollama, vLLM or llama.cpp."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from ai_assist import llm

QUESTION = [("system", "Answer from the passages only."), ("human", "How do I reset my password?")]


def test_with_no_model_configured_there_is_none(settings):
    settings.AI_LLM_MODEL = ""
    assert llm.current() is None


def test_a_model_answers_through_the_adapter():
    model = llm.ChatLlm(FakeListChatModel(responses=["Open the portal [1]."]), name="fake", timeout=5)
    done = model.complete(QUESTION)
    assert (done.text, done.model) == ("Open the portal [1].", "fake")
    assert done.latency_ms >= 0
    assert "".join(model.stream(QUESTION)) == "Open the portal [1]."


def test_a_slow_model_gives_way_within_the_deadline():
    model = llm.ChatLlm(FakeListChatModel(responses=["too late"], sleep=3), name="slow", timeout=0.2)
    started = time.perf_counter()
    with pytest.raises(llm.LlmUnavailable, match=r"no answer within 0\.2 s"):
        model.complete(QUESTION)
    with pytest.raises(llm.LlmUnavailable, match="stalled"):
        list(model.stream(QUESTION))
    assert time.perf_counter() - started < 2


def test_a_failing_model_is_unavailable_not_an_error():
    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):
            raise ConnectionError("provider down")

    with pytest.raises(llm.LlmUnavailable, match="provider down"):
        llm.ChatLlm(Broken(responses=["x"]), name="broken", timeout=5).complete(QUESTION)
    breaks = llm.ChatLlm(FakeListChatModel(responses=["abcdef"], error_on_chunk_number=3), name="b", timeout=5)
    got = []
    with pytest.raises(llm.LlmUnavailable):
        for token in breaks.stream(QUESTION):
            got.append(token)
    assert "".join(got) == "abc"  # what came before the failure; the caller decides


def test_a_model_whose_provider_is_not_installed_is_unavailable_and_said_once(settings, caplog):
    settings.AI_LLM_MODEL = "anthropic:claude-not-installed"
    settings.AI_LLM_BASE_URL = ""
    with caplog.at_level(logging.ERROR, logger="ai_assist.llm"):
        for _ in range(2):
            with pytest.raises(llm.LlmUnavailable, match="cannot be used"):
                llm.current()
    assert sum("AI_LLM_MODEL=anthropic:claude-not-installed" in r.getMessage() for r in caplog.records) == 1


class _OpenAICompatible(BaseHTTPRequestHandler):
    """POST /v1/chat/completions, as Ollama, vLLM and llama.cpp's server answer it."""

    seen: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"path": self.path, "body": body, "authorization": self.headers.get("Authorization")})
        base = {"id": "c1", "created": 0, "model": body["model"]}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in ("Open the ", "portal [1]."):
                chunk = {**base, "object": "chat.completion.chunk"}
                chunk["choices"] = [
                    {"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}
                ]
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            last = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
            return
        reply = {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Open the portal [1]."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def openai_compatible_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAICompatible)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _OpenAICompatible.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_an_openai_compatible_server_answers_at_ai_llm_base_url(settings, openai_compatible_server):
    settings.AI_LLM_MODEL = "llama3.1:8b"  # a server's own id, colon and all
    settings.AI_LLM_BASE_URL = openai_compatible_server
    settings.AI_LLM_API_KEY = ""
    settings.AI_LLM_MAX_TOKENS = 300
    model = llm.current()
    assert model is not None and model is llm.current()  # built once
    assert model.complete(QUESTION).text == "Open the portal [1]."
    assert "".join(model.stream(QUESTION)) == "Open the portal [1]."
    first = _OpenAICompatible.seen[0]
    assert first["path"] == "/v1/chat/completions" and first["body"]["model"] == "llama3.1:8b"
    assert first["body"]["max_tokens"] == 300  # the cap, by the name every such server reads
    assert [m["role"] for m in first["body"]["messages"]] == ["system", "user"]
    assert first["authorization"] == "Bearer unused"  # a server without keys still gets one


# --- The chatbot's model path (ai_assist.chat): the real chain code with fake models ---------------

CHAT = "/api/v1/ai/chat/"
RESET = "How do I reset my password?"


@pytest.fixture
def kb_world(people, department, committed, embedder) -> dict:
    from tests.ai_assist import chat_world

    return chat_world.build(people, department, committed)


def with_chat_model(monkeypatch, chat_model, *, timeout: float = 5.0) -> llm.ChatLlm:
    model = llm.ChatLlm(chat_model, name="fake-chat", timeout=timeout)
    monkeypatch.setattr(llm, "current", lambda: model)
    return model


class Recording(FakeListChatModel):
    """A fake that keeps what it was shown."""

    shown: list = []

    def _call(self, messages, *args, **kwargs):
        Recording.shown.append(messages)
        return super()._call(messages, *args, **kwargs)


def _events(response) -> list[tuple[str, dict]]:
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.django_db
def test_a_model_answer_keeps_only_citations_of_retrieved_passages(client_for, kb_world, monkeypatch):
    Recording.shown = []
    with_chat_model(monkeypatch, Recording(responses=["Use the self-service portal [1], or call HR [7]."]))
    body = client_for("employee").post(CHAT, {"message": RESET}, format="json").json()
    assert body["path"] == "llm" and body["answered"]
    assert body["answer"] == "Use the self-service portal [1], or call HR."  # [7] named no passage: removed
    assert [(c["n"], c["id"]) for c in body["citations"]] == [(1, kb_world["reset"].pk)]
    prompt = Recording.shown[0]
    assert "Use only the numbered" in prompt[0].content and "[1] Reset a forgotten password" in prompt[1].content
    assert (
        "KESTREL" not in prompt[1].content and "OSPREY" not in prompt[1].content
    )  # never shown what the asker may not read


@pytest.mark.django_db
def test_a_model_answer_citing_nothing_gives_way_to_the_extractive_answer(client_for, kb_world, monkeypatch):
    with_chat_model(monkeypatch, FakeListChatModel(responses=["Just ask your manager."]))
    body = client_for("employee").post(CHAT, {"message": RESET}, format="json").json()
    assert body["path"] == "fallback" and "Just ask" not in body["answer"]
    assert "2. Enter your work email address. [1]" in body["answer"]


@pytest.mark.django_db
def test_a_slow_or_failing_model_falls_back_within_the_same_request(client_for, kb_world, monkeypatch):
    with_chat_model(monkeypatch, FakeListChatModel(responses=["too late [1]"], sleep=3), timeout=0.2)
    started = time.perf_counter()
    body = client_for("employee").post(CHAT, {"message": RESET}, format="json").json()
    assert time.perf_counter() - started < 2.5
    assert body["path"] == "fallback" and body["citations"][0]["id"] == kb_world["reset"].pk
    from ai_assist.models import Suggestion

    assert "no answer within 0.2 s" in Suggestion.objects.get(pk=body["suggestion_id"]).error

    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):
            raise ConnectionError("provider down")

    with_chat_model(monkeypatch, Broken(responses=["x"]))
    assert client_for("employee").post(CHAT, {"message": RESET}, format="json").json()["path"] == "fallback"


@pytest.mark.django_db
def test_no_model_is_asked_when_nothing_answers(client_for, kb_world, monkeypatch):
    Recording.shown = []
    with_chat_model(monkeypatch, Recording(responses=["Canberra [1]."]))
    body = client_for("employee").post(CHAT, {"message": "What is the capital city of Australia?"}, format="json")
    assert body.json()["answered"] is False and body.json()["citations"] == [] and Recording.shown == []


@pytest.mark.django_db
def test_the_answer_streams_token_by_token_and_ends_with_checked_citations(client_for, kb_world, monkeypatch):
    with_chat_model(monkeypatch, FakeListChatModel(responses=["Open the portal [1] [9]."]))
    response = client_for("employee").post(CHAT, {"message": RESET}, format="json", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    events = _events(response)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and names.count("token") > 3  # one per character
    done = events[-1][1]
    assert done["path"] == "llm" and done["answer"] == "Open the portal [1]."
    assert [c["n"] for c in done["citations"]] == [1]
    assert events[0][1]["conversation_id"] == done["conversation_id"]


@pytest.mark.django_db
def test_a_stream_that_breaks_is_replaced_by_the_extractive_answer(client_for, kb_world, monkeypatch):
    with_chat_model(monkeypatch, FakeListChatModel(responses=["Open the portal [1]."], error_on_chunk_number=4))
    response = client_for("employee").post(CHAT, {"message": RESET}, format="json", HTTP_ACCEPT="text/event-stream")
    events = _events(response)
    assert "replace" in [name for name, _ in events]
    done = events[-1][1]
    assert done["path"] == "fallback" and dict(events)["replace"]["text"] == done["answer"]


@pytest.mark.django_db
def test_a_stream_asking_for_someone_elses_conversation_is_a_404(client_for, kb_world):
    other = client_for("agent").post(CHAT, {"message": RESET}, format="json").json()["conversation_id"]
    response = client_for("employee").post(
        CHAT, {"message": RESET, "conversation_id": other}, format="json", HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_chatbot_answers_through_an_openai_compatible_server(
    client_for, kb_world, settings, openai_compatible_server
):
    settings.AI_LLM_MODEL = "llama3.1:8b"
    settings.AI_LLM_BASE_URL = openai_compatible_server
    settings.AI_LLM_API_KEY = ""
    body = client_for("employee").post(CHAT, {"message": RESET}, format="json").json()
    assert (body["path"], body["answer"]) == ("llm", "Open the portal [1].")
    assert body["citations"][0]["id"] == kb_world["reset"].pk
    sent = _OpenAICompatible.seen[-1]["body"]["messages"]
    assert sent[0]["role"] == "system" and "[1] Reset a forgotten password" in sent[1]["content"]
    streamed = client_for("employee").post(CHAT, {"message": RESET}, format="json", HTTP_ACCEPT="text/event-stream")
    events = _events(streamed)
    assert [e for e, _ in events] == ["start", "token", "token", "done"]
    assert events[-1][1]["answer"] == "Open the portal [1]." and events[-1][1]["path"] == "llm"


@pytest.mark.django_db
def test_under_asgi_the_events_are_sent_as_they_come(people, kb_world, monkeypatch):
    """Django reads a synchronous iterator to its end before an ASGI server sends anything; the
    view hands ASGI an asynchronous one, so the first token leaves before the model finishes."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from accounts.tokens import issue_pair

    with_chat_model(monkeypatch, FakeListChatModel(responses=["Open the portal [1]."], sleep=0.05))
    token = issue_pair(people["employee"])["access"]

    async def ask() -> tuple[list[float], str]:
        response = await AsyncClient().post(
            CHAT,
            {"message": RESET},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        )
        assert response.status_code == 200
        arrivals, text = [], ""
        async for chunk in response.streaming_content:
            arrivals.append(time.perf_counter())
            text += chunk.decode()
        return arrivals, text

    arrivals, text = async_to_sync(ask)()
    assert len(arrivals) > 10  # one event per token, not one buffered body
    assert arrivals[-1] - arrivals[1] > 0.3  # tokens arrived over the model's time, not all at the end
    assert text.rstrip().splitlines()[-1].startswith("data: ") and '"path": "llm"' in text


# --- A chat answer never says [n] with no citation n (issue 23, point 3) ----------------------------


def _with_second_passage(monkeypatch, article):
    """The ground stage finds `article` too, as the second passage a model is shown."""
    from dataclasses import replace

    from ai_assist.answering import ground
    from ai_assist.ml.answer import Source
    from ai_assist.ml.passages import Passage, ScoredUnit

    found_for_real = ground.find

    def find(**kwargs):
        found = found_for_real(**kwargs)
        passage = Passage(article.pk, "article", article.title, article.body, 0.5)
        source = Source(passage, (ScoredUnit(0, article.body, 0, 0.5, 0.5),))
        answer = replace(found.answer, passages=(*found.answer.passages[:1], passage))
        return ground.Found(answer, [*found.articles, source], found.tickets)

    monkeypatch.setattr(ground, "find", find)


def _hidden_while_writing(monkeypatch, article):
    """`article` becomes unreadable to employees while the model writes (in the request's thread:
    the model's own runs in a worker)."""
    from ai_assist.answering import write
    from knowledge.models import Visibility

    def hide():
        type(article).objects.filter(pk=article.pk).update(visibility=Visibility.LEADS)

    write_for_real, stream_for_real = write.write, write.write_stream

    def written(*args, **kwargs):
        done = write_for_real(*args, **kwargs)
        hide()
        return done

    def streamed(*args, **kwargs):
        done = yield from stream_for_real(*args, **kwargs)
        hide()
        return done

    monkeypatch.setattr(write, "write", written)
    monkeypatch.setattr(write, "write_stream", streamed)


@pytest.mark.django_db
@pytest.mark.parametrize("streamed", [False, True])
def test_a_chat_answer_loses_the_marker_of_a_source_that_became_unreadable(client_for, kb_world, monkeypatch, streamed):
    """As a draft reply does (test_audience.py: test_a_citation_that_fails_the_check_loses_its_marker): [1]
    stays with its citation; [2] named a passage whose article turned unreadable meanwhile."""
    from tests.factories import ArticleFactory

    other = ArticleFactory(title="Call the service desk", body="Call the service desk on extension 4000.")
    _with_second_passage(monkeypatch, other)
    _hidden_while_writing(monkeypatch, other)
    with_chat_model(
        monkeypatch, FakeListChatModel(responses=["Use the self-service portal [1]. Or call the desk [2]."])
    )
    client = client_for("employee")
    if streamed:
        response = client.post(CHAT, {"message": RESET}, format="json", HTTP_ACCEPT="text/event-stream")
        events = _events(response)
        body = events[-1][1]
        # What was streamed said [2]: the checked text replaces it before `done`.
        assert events[-2] == ("replace", {"text": body["answer"]})
    else:
        body = client.post(CHAT, {"message": RESET}, format="json").json()
    assert body["path"] == "llm" and body["answered"]
    assert body["answer"] == "Use the self-service portal [1]. Or call the desk."
    assert [(c["n"], c["id"]) for c in body["citations"]] == [(1, kb_world["reset"].pk)]
    shown = client.get(f"/api/v1/ai/conversations/{body['conversation_id']}/").json()["messages"][1]
    assert shown["text"] == body["answer"] and "[2]" not in shown["text"]


@pytest.mark.django_db
def test_a_conversation_shown_later_drops_the_marker_of_a_citation_hidden_since(client_for, kb_world, monkeypatch):
    from knowledge.models import Visibility

    with_chat_model(monkeypatch, FakeListChatModel(responses=["Use the self-service portal [1]."]))
    client = client_for("employee")
    body = client.post(CHAT, {"message": RESET}, format="json").json()
    assert body["answer"] == "Use the self-service portal [1]."
    type(kb_world["reset"]).objects.filter(pk=kb_world["reset"].pk).update(visibility=Visibility.AGENTS)
    shown = client.get(f"/api/v1/ai/conversations/{body['conversation_id']}/").json()["messages"][1]
    assert shown["citations"] == [] and shown["text"] == "Use the self-service portal."
