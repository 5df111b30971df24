"""What must not break routing or similar tickets: a failing index, an unusable model file, a
department deleted since training, one department only, deleted tickets, hidden tickets."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from ai_assist import embeddings, retrieval, routing, store
from ai_assist.ml.pipeline import Models
from ai_assist.ml.router import DescriptionRouter
from ai_assist.ml.text import tokens
from ai_assist.models import Suggestion
from ai_assist.retrieval import similar
from tests.factories import UserFactory
from tickets import services

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events

VPN = {"title": "VPN drops every hour", "description": "The VPN to the office network disconnects every hour."}


def test_a_failing_index_does_not_stop_routing(people, committed, department, monkeypatch, embedder):
    def down(*args, **kwargs):
        raise ConnectionError("chroma unreachable")

    monkeypatch.setattr(similar, "similar_tickets", down)
    ticket = committed(services.ticket_create, requester=people["employee"], **VPN)
    ticket.refresh_from_db()
    assert ticket.department == department and ticket.assignee is not None
    logged = Suggestion.objects.get(ticket=ticket)
    assert "Similar tickets are unavailable" in logged.error and logged.output["similar_tickets"] == []


def test_an_unusable_model_file_falls_back_to_the_cold_start(client_for, department, caplog, embedder):
    store.models_path().parent.mkdir(parents=True, exist_ok=True)
    store.models_path().write_bytes(b"not a model")
    with caplog.at_level(logging.ERROR, logger="ai_assist.store"):
        response = client_for("agent").post("/api/v1/ai/route/", VPN, format="json")
        again = client_for("agent").post("/api/v1/ai/route/", VPN, format="json")
    assert response.status_code == again.status_code == 200
    assert response.json()["model"] == "descriptions-v1"
    assert response.json()["department"]["id"] == department.pk
    assert sum("run manage.py train_router" in r.getMessage() for r in caplog.records) == 1  # said once


def test_a_model_trained_with_another_embedding_model_is_not_used(department, monkeypatch, caplog, embedder):
    trained = Models(
        router=DescriptionRouter([department.pk, "x"], np.eye(2, 768, dtype=np.float32)),
        embedding_model="some-768-dimension-model",
    )
    trained.save(store.models_path())
    with caplog.at_level(logging.ERROR, logger="ai_assist.store"):
        models = store.current_models()
    assert models.name == "descriptions-v1" and models.embedding_model == embeddings.model_name()
    assert "AI_EMBEDDING_MODEL" in caplog.text


def _serve(monkeypatch, labels: list[str], descriptions: list[str]) -> None:
    router = DescriptionRouter(labels, embeddings.embedder().embed(descriptions))
    monkeypatch.setattr(store, "current_models", lambda: Models(router=router))


def test_a_department_deleted_since_training_gives_way_to_the_likeliest_one_left(department, monkeypatch, embedder):
    _serve(monkeypatch, ["gone-since", department.pk], ["VPN drops, office network", "Printers and paper"])
    decision = routing.route_text(**VPN, actor=None, with_similar=False)
    assert decision.department == department  # not null: the runner-up that still exists
    assert decision.confidence < 0.5 and decision.abstained and "below" in decision.agent_reason


def test_with_one_department_routing_waits_for_a_lead(department, monkeypatch, embedder):
    _serve(monkeypatch, [department.pk], ["VPN, Wi-Fi and the office network."])
    decision = routing.route_text(title="Printer jammed", description="paper stuck", actor=None, with_similar=False)
    assert decision.department == department and decision.abstained and decision.agent is None
    assert "Only one department" in decision.agent_reason


def test_a_ticket_deleted_before_routing_lands_stays_deleted_and_unrouted(people, department):
    ticket = services.ticket_create(requester=people["employee"], **VPN)
    services.ticket_delete(actor=people["admin"], ticket=ticket)
    services.ticket_route(ticket=ticket, department=department, confidence=0.99, assignee=people["agent"])
    ticket.refresh_from_db()
    assert ticket.deleted_at is not None and ticket.department is None and ticket.assignee is None


@pytest.mark.django_db(transaction=True)
def test_the_audit_log_records_the_creation_before_the_routing(people, department, embedder):
    from audit.models import AuditEntry

    ticket = services.ticket_create(requester=people["employee"], **VPN)
    actions = list(AuditEntry.objects.filter(object_id=ticket.pk).order_by("at", "id").values_list("action", flat=True))
    assert actions[0] == "ticket.created" and "ticket.routed" in actions


def test_when_routing_abstains_possible_duplicates_include_triage(people, committed, settings, embedder):
    settings.AI_ROUTER_ABSTAIN_BELOW = 1.0
    waiting = services.ticket_create(requester=people["employee"], title="VPN drops hourly", description="vpn")
    retrieval.ticket_corpus().upsert([waiting])
    ticket = committed(services.ticket_create, requester=people["employee"], **VPN)
    logged = Suggestion.objects.get(ticket=ticket)
    assert logged.abstained and [item["ticket"] for item in logged.output["similar_tickets"]] == [waiting.pk]


def test_a_similar_score_never_depends_on_tickets_the_caller_may_not_see(client_for, people, embedder):
    stranger = UserFactory(email="stranger@example.com")
    others = [
        services.ticket_create(requester=stranger, title=title, description=title)
        for title in ("Printer jammed", "Password expired", "Laptop is slow", "Outlook crashes", "Badge broken")
    ]
    mine = services.ticket_create(requester=people["employee"], title="VPN drops", description="vpn drops hourly")
    retrieval.ticket_corpus().upsert([mine, *others])
    query = {"title": "VPN drops", "description": "every hour"}
    before = client_for("employee").post("/api/v1/ai/similar/", query, format="json").json()
    theirs = services.ticket_create(requester=stranger, title="VPN drops VPN drops", description="vpn drops every hour")
    retrieval.ticket_corpus().upsert([theirs])
    after = client_for("employee").post("/api/v1/ai/similar/", query, format="json").json()
    assert [item["ticket"]["id"] for item in after] == [mine.pk]
    assert after[0]["score"] == pytest.approx(before[0]["score"], abs=1e-6)


def test_keyword_tokens_keep_letters_of_every_script():
    assert tokens("Drucker läuft nicht; Принтер не работает") == [
        "drucker",
        "läuft",
        "nicht",
        "принтер",
        "не",
        "работает",
    ]
