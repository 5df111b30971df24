"""Automatic routing of new tickets, abstention, the agent choice, and failures (triage)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from ai_assist import routing, store
from ai_assist.models import Suggestion
from tests.factories import TicketFactory, UserFactory
from tickets import services
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events


def _open(committed, people, **fields):
    return committed(
        services.ticket_create,
        requester=people["employee"],
        title=fields.pop("title", "VPN drops every hour"),
        description=fields.pop("description", "The VPN to the office network disconnects every hour."),
        **fields,
    )


def test_a_new_ticket_is_routed_to_a_department_and_an_agent(people, committed, department, embedder):
    ticket = _open(committed, people)
    ticket.refresh_from_db()
    assert ticket.department == department  # cold start: "VPN, Wi-Fi and the office network."
    assert ticket.assignee == people["agent"]  # no skills, no load: an agent before the lead
    assert ticket.status == Status.OPEN
    assert 0.85 <= ticket.routing_confidence <= 1.0
    logged = Suggestion.objects.get(ticket=ticket, kind=Suggestion.Kind.ROUTE)
    assert logged.department == department and not logged.abstained
    assert logged.model == "descriptions-v1" and logged.latency_ms > 0
    assert logged.output["agent"] == ticket.assignee_id


def test_below_the_threshold_the_ticket_waits_in_triage(people, committed, settings, embedder):
    settings.AI_ROUTER_ABSTAIN_BELOW = 1.0
    ticket = _open(committed, people)
    ticket.refresh_from_db()
    assert ticket.department is None and ticket.assignee is None and ticket.status == Status.NEW
    logged = Suggestion.objects.get(ticket=ticket)
    assert logged.abstained and logged.department is not None  # the suggestion still says where
    assert "triage" in logged.output["agent_reason"]


def test_a_routing_failure_leaves_the_ticket_in_triage(people, committed, monkeypatch):
    def broken():
        raise RuntimeError("model file is corrupt")

    monkeypatch.setattr(store, "current_models", broken)
    ticket = _open(committed, people)
    ticket.refresh_from_db()
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert ticket.department is None and ticket.assignee is None and ticket.status == Status.NEW
    assert "model file is corrupt" in Suggestion.objects.get(ticket=ticket).error


def test_routing_never_overrides_a_person(people, committed, other_department, embedder):
    ticket = _open(committed, people, department=other_department)
    ticket.refresh_from_db()
    assert ticket.department == other_department and ticket.assignee is None
    assert not Suggestion.objects.filter(ticket=ticket).exists()


def test_auto_routing_can_be_switched_off(people, committed, settings):
    settings.AI_AUTO_ROUTE = False
    ticket = _open(committed, people)
    ticket.refresh_from_db()
    assert ticket.department is None


def test_the_agent_is_chosen_by_skills_then_load_then_availability(department, db):
    vpn = UserFactory(email="vpn@example.com", role=Role.AGENT, department=department, skills=["vpn"])
    idle = UserFactory(email="idle@example.com", role=Role.AGENT, department=department, skills=["printers"])
    UserFactory(  # away: matches the most skills, but is unavailable
        email="away@example.com", role=Role.AGENT, department=department, skills=["vpn", "wi-fi"], is_available=False
    )
    choice = routing.choose_agent(department=department, text="vpn drops on the wi-fi")
    assert choice.agent == vpn  # away matches more skills but is unavailable
    assert "skills match: vpn" in choice.reason and "0 open tickets" in choice.reason
    TicketFactory.create_batch(2, department=department, assignee=vpn, status=Status.OPEN)
    assert routing.choose_agent(department=department, text="printer on fire").agent == idle
    assert routing.choose_agent(department=department, text="something else").agent == idle  # lighter load
    assert routing.choose_agent(department=department, text="vpn wi-fi").agent == vpn  # skills before load
    Ticket.objects.update(status=Status.RESOLVED)  # resolved work is no load
    assert routing.choose_agent(department=department, text="vpn").agent == vpn


def test_no_available_agent_means_no_assignee(department, db):
    UserFactory(email="away@example.com", role=Role.AGENT, department=department, is_available=False)
    choice = routing.choose_agent(department=department, text="vpn")
    assert choice.agent is None and "available" in choice.reason


def test_a_ticket_opened_through_the_api_is_routed_with_its_possible_duplicates(
    client_for, people, committed, department, embedder
):
    from ai_assist import retrieval

    past = services.ticket_create(
        requester=people["employee"], title="VPN drops hourly", description="vpn disconnects", department=department
    )
    retrieval.ticket_corpus().upsert([past])
    response = committed(
        client_for("employee").post,
        "/api/v1/tickets/",
        {"title": "VPN drops every hour", "description": "My VPN disconnects every hour."},
        format="json",
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.department == department and ticket.assignee is not None
    logged = Suggestion.objects.get(ticket=ticket)
    assert [item["ticket"] for item in logged.output["similar_tickets"]] == [past.pk]
    assert ticket.pk in retrieval.ticket_corpus().ids()  # and it is searchable itself now


def test_with_a_broker_down_the_ticket_is_still_created_and_waits_in_triage(people, committed, monkeypatch, caplog):
    from ai_assist import tasks

    queued = []

    def broker_down(ticket_id):
        queued.append(ticket_id)
        raise ConnectionError("redis: connection refused")

    monkeypatch.setattr(tasks.route_new_ticket, "delay", broker_down)
    ticket = _open(committed, people)
    ticket.refresh_from_db()
    assert queued == [ticket.pk]  # handed to the job queue once, after the commit
    assert ticket.department is None and ticket.status == Status.NEW
    assert "Could not queue routing" in caplog.text
