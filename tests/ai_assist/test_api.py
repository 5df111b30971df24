"""POST /api/v1/ai/route/ and /api/v1/ai/similar/: roles, visibility before ranking, limits."""

from __future__ import annotations

import pytest

from ai_assist import retrieval
from ai_assist.models import Suggestion
from tests.factories import UserFactory
from tests.helpers import assert_problem, bearer_client, matrix
from tickets import services

pytestmark = pytest.mark.django_db

ROUTE = "/api/v1/ai/route/"
SIMILAR = "/api/v1/ai/similar/"
BODY = {"title": "VPN keeps disconnecting", "description": "The VPN drops every hour at home."}


@pytest.fixture
def indexed(people, department, other_department, embedder):
    """Tickets of two employees and two departments, in the index."""
    other_employee = UserFactory(email="other.employee@example.com")
    made = {
        "mine": services.ticket_create(
            requester=people["employee"], title="VPN drops", description="vpn disconnects", department=department
        ),
        "theirs": services.ticket_create(
            requester=other_employee, title="VPN keeps disconnecting", description="The VPN drops every hour at home."
        ),
        "hardware": services.ticket_create(
            requester=other_employee, title="VPN laptop", description="vpn on the laptop", department=other_department
        ),
    }
    retrieval.ticket_corpus().upsert(list(made.values()))
    return made


@pytest.mark.parametrize("who,status", matrix([401, 403, 200, 200, 200, 200]))
def test_route_is_for_agents_and_up(client_for, who, status, embedder):
    response = client_for(who).post(ROUTE, BODY, format="json")
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, status)


@pytest.mark.parametrize("who,status", matrix([401, 200, 200, 200, 200, 200]))
def test_similar_is_for_everyone_signed_in(client_for, who, status, embedder):
    response = client_for(who).post(SIMILAR, BODY, format="json")
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, status)


def test_route_answers_department_agent_confidence_and_similar(client_for, people, department, indexed):
    body = client_for("lead").post(ROUTE, BODY, format="json").json()
    assert body["department"] == {"id": department.pk, "name": department.name}
    assert body["abstained"] is False and body["confidence"] >= 0.85
    assert body["agent"]["id"] == people["agent"].pk  # no skills, no load: an agent before the lead
    assert body["agent_reason"]
    assert [a["department"]["name"] for a in body["alternatives"]] == ["Hardware"]
    # the lead sees their department's tickets and triage, not the other department's
    assert {s["ticket"]["id"] for s in body["similar_tickets"]} == {indexed["mine"].pk, indexed["theirs"].pk}
    logged = Suggestion.objects.get(pk=body["suggestion_id"])
    assert logged.kind == "route" and logged.inputs["title"] == BODY["title"] and logged.latency_ms > 0


def test_route_abstains_below_the_threshold(client_for, settings, embedder, department):
    settings.AI_ROUTER_ABSTAIN_BELOW = 1.0
    body = client_for("agent").post(ROUTE, BODY, format="json").json()
    assert body["abstained"] is True and body["agent"] is None
    assert body["department"]["id"] == department.pk


def test_an_employee_never_sees_another_employees_ticket(client_for, indexed):
    body = client_for("employee").post(SIMILAR, {**BODY, "limit": 50}, format="json").json()
    assert [item["ticket"]["id"] for item in body] == [indexed["mine"].pk]
    assert body[0]["score"] > 0


def test_agents_see_their_department_and_admins_everything(client_for, indexed):
    agent = {item["ticket"]["id"] for item in client_for("agent_other").post(SIMILAR, BODY, format="json").json()}
    assert agent == {indexed["hardware"].pk}
    admin = client_for("admin").post(SIMILAR, {**BODY, "limit": 2}, format="json").json()
    assert len(admin) == 2 and admin[0]["ticket"]["id"] == indexed["theirs"].pk  # the near-duplicate first


def test_a_ticket_moved_away_since_indexing_stays_hidden(client_for, indexed, other_department):
    from tickets.models import Ticket

    Ticket.objects.filter(pk=indexed["mine"].pk).update(department=other_department)  # index not told
    ids = {item["ticket"]["id"] for item in client_for("agent").post(SIMILAR, BODY, format="json").json()}
    assert indexed["mine"].pk not in ids


def test_validation_and_unknown_fields(client_for, embedder):
    assert_problem(client_for("agent").post(ROUTE, {"title": ""}, format="json"), 400, "validation_error")
    assert_problem(client_for("agent").post(SIMILAR, {**BODY, "limit": 500}, format="json"), 400)
    assert_problem(client_for("agent").post(SIMILAR, {**BODY, "department": "x"}, format="json"), 400)


def test_route_is_rate_limited(people, settings, embedder):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ai_route_user": "2/m"}
    client = bearer_client(people["agent"])
    assert client.post(ROUTE, BODY, format="json").status_code == 200
    assert client.post(ROUTE, BODY, format="json").status_code == 200
    assert_problem(client.post(ROUTE, BODY, format="json"), 429, "rate_limited")


def test_a_new_ticket_is_found_at_once(client_for, people, indexed):
    first = client_for("employee").post(SIMILAR, BODY, format="json").json()
    assert len(first) == 1
    fresh = services.ticket_create(requester=people["employee"], title="VPN again", description="vpn drops again")
    retrieval.ticket_corpus().upsert([fresh])
    again = {item["ticket"]["id"] for item in client_for("employee").post(SIMILAR, BODY, format="json").json()}
    assert again == {indexed["mine"].pk, fresh.pk}
