"""Fixes found by a new user (issue 12, point 9): similar tickets in score order with an exact copy
first, before and after the router is trained; a ticket waiting in triage shows the confidence it
was left there with; whether leads receive routed tickets is a setting."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import Role
from ai_assist import routing
from ai_assist.models import Suggestion
from tests.ai_assist.conftest import DATA
from tests.factories import UserFactory
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SIMILAR = "/api/v1/ai/similar/"


def _similar(client, ticket, limit=10) -> list[dict]:
    response = client.post(
        SIMILAR, {"title": ticket.title, "description": ticket.description, "limit": limit}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _assert_exact_copy_first_in_score_order(client, tickets):
    for ticket in tickets:
        found = _similar(client, ticket)
        assert found[0]["ticket"]["id"] == ticket.pk, (ticket.title, [f["ticket"]["title"] for f in found[:3]])
        scores = [f["score"] for f in found]
        assert scores == sorted(scores, reverse=True)


def test_similar_tickets_come_in_score_order_with_the_exact_copy_first(client_for, embedder, settings):
    settings.AI_AUTO_ROUTE = False
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO(), "verbosity": 0}
    call_command("import_tickets", str(DATA / "it_tickets_sample.csv"), **quiet)
    sample = list(Ticket.objects.exclude(description="").order_by("id")[:12])
    client = client_for("admin")
    _assert_exact_copy_first_in_score_order(client, sample)  # no router trained yet: text similarity
    call_command("train_router", **quiet)
    _assert_exact_copy_first_in_score_order(client, sample)  # the label model plans the rest of the list


def test_a_ticket_waiting_in_triage_shows_the_confidence_that_left_it_there(client_for, people, committed, settings):
    settings.AI_ROUTER_ABSTAIN_BELOW = 1.0
    ticket = committed(
        services.ticket_create,
        requester=people["employee"],
        title="VPN drops every hour",
        description="The VPN to the office network disconnects every hour.",
    )
    ticket.refresh_from_db()
    decision = Suggestion.objects.get(ticket=ticket, kind=Suggestion.Kind.ROUTE)
    assert ticket.department is None and ticket.assignee is None  # waits in triage
    assert decision.abstained and ticket.routing_confidence == pytest.approx(decision.confidence)
    shown = client_for("employee").get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert shown["department"] is None and shown["routing_confidence"] == pytest.approx(decision.confidence)


def test_leads_receive_routed_tickets_only_when_the_setting_says_so(department, settings):
    lead = UserFactory(email="vpn.lead@example.com", role=Role.LEAD, department=department, skills=["vpn"])
    agent = UserFactory(email="agent@example.com", role=Role.AGENT, department=department, skills=["printers"])
    settings.AI_ROUTE_TO_LEADS = False
    assert routing.choose_agent(department=department, text="the vpn drops").agent == agent
    settings.AI_ROUTE_TO_LEADS = True
    assert routing.choose_agent(department=department, text="the vpn drops").agent == lead  # best skills match
    settings.AI_ROUTE_TO_LEADS = False
    agent.delete()
    choice = routing.choose_agent(department=department, text="the vpn drops")
    assert choice.agent is None and "no active agents" in choice.reason
