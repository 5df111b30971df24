"""What a user sees of routing on a real ticket: the create response (routing runs in-process
without a broker) and GET /api/v1/ai/tickets/{id}/routing/ with its possible duplicates."""

from __future__ import annotations

import pytest

from ai_assist import retrieval
from tests.factories import UserFactory
from tests.helpers import assert_problem, matrix
from tickets import services
from tickets.models import Status

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events

TICKETS = "/api/v1/tickets/"
VPN = {"title": "VPN drops every hour", "description": "My VPN disconnects every hour at home."}


def routing_url(ticket_id: str) -> str:
    return f"/api/v1/ai/tickets/{ticket_id}/routing/"


@pytest.mark.django_db(transaction=True)
def test_the_create_response_already_shows_where_routing_placed_the_ticket(client_for, people, department, embedder):
    # No test transaction here: the ticket commits as in production and routing runs right after.
    response = client_for("employee").post(TICKETS, VPN, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["department"]["id"] == department.pk
    assert body["assignee"]["id"] == people["agent"].pk  # no skills, no load: an agent before the lead
    assert body["status"] == Status.OPEN
    assert 0.85 <= body["routing_confidence"] <= 1.0


@pytest.fixture
def routed(people, department, other_department, committed, embedder):
    """Past tickets in the index (one the employee's, one another employee's in the agents'
    department, one of the other department), then a new ticket routed on creation."""
    stranger = UserFactory(email="stranger@example.com")
    past = {
        "own": services.ticket_create(
            requester=people["employee"], title="VPN drops hourly", description="vpn disconnects", department=department
        ),
        "colleague": services.ticket_create(
            requester=stranger, title="VPN disconnects every hour", description="vpn drops", department=department
        ),
        "elsewhere": services.ticket_create(
            requester=stranger, title="VPN on my laptop", description="vpn drops", department=other_department
        ),
    }
    retrieval.ticket_corpus().upsert(list(past.values()))
    ticket = committed(services.ticket_create, requester=people["employee"], **VPN)
    return ticket, past


@pytest.mark.parametrize("who,status", matrix([401, 403, 404, 200, 200, 200]))
def test_routing_of_a_ticket_is_for_staff_who_see_it(client_for, routed, who, status):
    ticket, _ = routed
    response = client_for(who).get(routing_url(ticket.pk))
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, status)  # agent_other: the ticket went to Network, hidden from Hardware


def test_routing_of_a_ticket_shows_the_decision_and_possible_duplicates(client_for, routed, department, people):
    ticket, past = routed
    body = client_for("agent").get(routing_url(ticket.pk)).json()
    assert body["department"] == {"id": department.pk, "name": department.name}
    assert body["abstained"] is False and body["confidence"] >= 0.85
    assert body["agent"]["id"] == people["agent"].pk and body["agent_reason"]
    assert body["error"] == "" and body["model"]
    duplicates = [item["ticket"]["id"] for item in body["similar_tickets"]]
    # Found among the tickets of the department it went to, never the other department's.
    assert set(duplicates) == {past["own"].pk, past["colleague"].pk}
    assert all(0 < item["score"] <= 1 for item in body["similar_tickets"])


def test_possible_duplicates_the_caller_may_no_longer_see_are_left_out(client_for, routed, other_department, people):
    ticket, past = routed
    lead = people["lead"]
    services.ticket_update(actor=lead, ticket=past["colleague"], department=other_department)
    body = client_for("agent").get(routing_url(ticket.pk)).json()
    assert [item["ticket"]["id"] for item in body["similar_tickets"]] == [past["own"].pk]


def test_a_ticket_the_ai_did_not_route_is_404_with_the_reason(client_for, people, department, committed):
    ticket = committed(services.ticket_create, requester=people["employee"], department=department, **VPN)
    response = client_for("agent").get(routing_url(ticket.pk))
    assert_problem(response, 404)
    assert "has not routed" in response.json()["detail"]


def test_a_person_rerouting_clears_the_routing_confidence(routed, people, other_department):
    ticket, _ = routed
    ticket.refresh_from_db()
    assert ticket.routing_confidence is not None
    moved = services.ticket_update(actor=people["lead"], ticket=ticket, department=other_department)
    assert moved.routing_confidence is None


def test_routing_of_a_ticket_costs_a_fixed_number_of_queries(client_for, routed, django_assert_max_num_queries):
    ticket, _ = routed
    client = client_for("lead")
    # caller, ticket, suggestion, departments, agent, duplicates
    with django_assert_max_num_queries(6):
        response = client.get(routing_url(ticket.pk))
    assert response.status_code == 200
