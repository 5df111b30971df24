"""Ticket rules through the services: visibility, state machine, assignment, comments, versions."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.models import Role
from helpdesk import events
from helpdesk.errors import Conflict, Invalid, NotAllowed
from tests.factories import UserFactory
from tests.helpers import captured_events
from tickets import selectors, services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(people, department):
    return services.ticket_create(
        requester=people["employee"], title="VPN drops", description="Every hour.", department=department
    )


def visible_ids(user):
    return set(selectors.tickets_for(user=user).values_list("id", flat=True))


def test_who_sees_a_ticket(people, ticket, other_department):
    stranger = UserFactory(role=Role.EMPLOYEE)
    assert ticket.pk in visible_ids(people["employee"])
    assert ticket.pk not in visible_ids(stranger)
    assert ticket.pk in visible_ids(people["agent"])
    assert ticket.pk in visible_ids(people["lead"])
    assert ticket.pk in visible_ids(people["admin"])
    assert ticket.pk not in visible_ids(people["agent_other"])
    Ticket.objects.filter(pk=ticket.pk).update(department=other_department, assignee=people["agent"])
    assert ticket.pk in visible_ids(people["agent"])  # assigned to them, though in another department


def test_soft_deleted_tickets_are_hidden_from_everyone(people, ticket):
    from django.utils import timezone

    Ticket.objects.filter(pk=ticket.pk).update(deleted_at=timezone.now())
    for who in ("employee", "agent", "admin"):
        assert ticket.pk not in visible_ids(people[who])


def test_creation_publishes_ticket_created(people):
    with captured_events(events.TicketCreated) as seen:
        created = services.ticket_create(requester=people["employee"], title="Printer", description="Jammed")
    assert [(event.target_id, event.actor_id) for event in seen] == [(created.pk, people["employee"].pk)]
    assert created.department is None and created.status == Status.NEW


def test_requester_may_resolve_close_and_reopen_but_not_pend(people, ticket):
    employee = people["employee"]
    with pytest.raises(Conflict) as error:
        services.ticket_transition(actor=employee, ticket=ticket, status=Status.PENDING)
    assert error.value.code == "invalid_transition"
    ticket = services.ticket_transition(actor=employee, ticket=ticket, status=Status.RESOLVED)
    assert ticket.resolved_at is not None
    ticket = services.ticket_transition(actor=employee, ticket=ticket, status=Status.CLOSED)
    ticket = services.ticket_transition(actor=employee, ticket=ticket, status=Status.OPEN)
    assert ticket.status == Status.OPEN and ticket.closed_at is None


def test_agents_move_tickets_of_their_department_only(people, ticket):
    ticket = services.ticket_transition(actor=people["agent"], ticket=ticket, status=Status.PENDING)
    assert ticket.status == Status.PENDING
    with pytest.raises(Conflict):
        services.ticket_transition(actor=people["agent_other"], ticket=ticket, status=Status.OPEN)
    with pytest.raises(Conflict):
        services.ticket_transition(actor=people["agent"], ticket=ticket, status=Status.NEW)


def test_an_agent_takes_a_ticket_and_it_opens(people, ticket):
    ticket = services.ticket_assign(actor=people["agent"], ticket=ticket, assignee=people["agent"])
    assert ticket.assignee_id == people["agent"].pk and ticket.status == Status.OPEN
    with pytest.raises(NotAllowed):
        services.ticket_assign(actor=people["agent_other"], ticket=ticket, assignee=people["agent_other"])


def test_leads_assign_within_the_department_to_agents_only(people, ticket, department):
    other_agent = UserFactory(role=Role.AGENT, department=department)
    ticket = services.ticket_assign(actor=people["lead"], ticket=ticket, assignee=other_agent)
    assert ticket.assignee_id == other_agent.pk
    with pytest.raises(Invalid):
        services.ticket_assign(actor=people["lead"], ticket=ticket, assignee=people["employee"])
    with pytest.raises(Invalid):
        services.ticket_assign(actor=people["lead"], ticket=ticket, assignee=people["agent_other"])
    with pytest.raises(NotAllowed):
        services.ticket_assign(actor=people["agent"], ticket=ticket, assignee=other_agent)


def test_a_stale_version_changes_nothing(people, ticket):
    services.ticket_update(actor=people["agent"], ticket=ticket, version=ticket.version, priority="high")
    stale = Ticket.objects.get(pk=ticket.pk)
    stale.version -= 1
    with pytest.raises(Conflict) as error:
        services.ticket_update(actor=people["agent"], ticket=stale, version=stale.version, priority="low")
    assert error.value.code == "stale_version"
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"


def test_employees_edit_wording_only(people, ticket):
    with pytest.raises(NotAllowed):
        services.ticket_update(actor=people["employee"], ticket=ticket, priority="urgent")
    ticket = services.ticket_update(actor=people["employee"], ticket=ticket, title="VPN drops hourly")
    assert "VPN drops hourly" in ticket.public_text


def test_internal_notes_are_for_agents_and_hidden_from_employees(people, ticket):
    with pytest.raises(NotAllowed) as error:
        services.comment_add(actor=people["employee"], ticket=ticket, body="psst", internal=True)
    assert error.value.status == 403
    services.comment_add(actor=people["agent"], ticket=ticket, body="Router firmware bug", internal=True)
    services.comment_add(actor=people["agent"], ticket=ticket, body="We are on it.")
    ticket.refresh_from_db()
    assert [c["body"] for c in selectors.comments_for(user=people["employee"], ticket=ticket)] == ["We are on it."]
    assert len(selectors.comments_for(user=people["agent"], ticket=ticket)) == 2
    assert (ticket.public_comment_count, ticket.internal_comment_count) == (1, 1)
    assert "firmware" not in ticket.public_text and "firmware" in ticket.internal_text


def test_the_first_public_staff_reply_stops_the_first_response_clock(people, ticket):
    services.comment_add(actor=people["employee"], ticket=ticket, body="Any news?")
    services.comment_add(actor=people["agent"], ticket=ticket, body="note", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    services.comment_add(actor=people["agent"], ticket=ticket, body="Looking now.")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_appends_leave_fifty_comments(people, department):
    ticket = services.ticket_create(requester=people["employee"], title="Busy", description="x", department=department)
    agent = people["agent"]

    def append(n):
        try:
            services.comment_add(actor=agent, ticket=Ticket.objects.get(pk=ticket.pk), body=f"comment {n}")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(50)))
    ticket.refresh_from_db()
    assert len(ticket.comments) == 50
    assert sorted(c["body"] for c in ticket.comments) == sorted(f"comment {n}" for n in range(50))
    assert ticket.public_comment_count == 50


def test_escalation_needs_staff_and_a_reason(people, ticket):
    with pytest.raises(NotAllowed):
        services.ticket_escalate(actor=people["employee"], ticket=ticket, reason="Please hurry")
    with pytest.raises(Invalid):
        services.ticket_escalate(actor=people["agent"], ticket=ticket, reason="  ")
    ticket = services.ticket_escalate(actor=people["agent"], ticket=ticket, reason="VIP laptop")
    assert ticket.escalated and ticket.escalation_reason == "VIP laptop" and ticket.escalated_at


STAFF_GRAPH = {
    "new": {"open", "pending", "resolved", "closed"},
    "open": {"pending", "resolved", "closed"},
    "pending": {"open", "resolved", "closed"},
    "resolved": {"open", "closed"},
    "closed": {"open"},
}
REQUESTER_GRAPH = {
    "new": {"resolved", "closed"},
    "open": {"resolved", "closed"},
    "pending": {"open", "resolved", "closed"},
    "resolved": {"open", "closed"},
    "closed": {"open"},
}


@pytest.mark.parametrize("who,graph", [("agent", STAFF_GRAPH), ("employee", REQUESTER_GRAPH)])
@pytest.mark.parametrize("start", list(STAFF_GRAPH))
@pytest.mark.parametrize("target", list(STAFF_GRAPH))
def test_state_machine(people, ticket, who, graph, start, target):
    Ticket.objects.filter(pk=ticket.pk).update(status=start)
    ticket.refresh_from_db()
    if target in graph[start]:
        moved = services.ticket_transition(actor=people[who], ticket=ticket, status=target)
        assert moved.status == target
        assert (moved.resolved_at is not None) == (target == "resolved")
        assert (moved.closed_at is not None) == (target == "closed")
    else:
        with pytest.raises(Conflict) as refused:
            services.ticket_transition(actor=people[who], ticket=ticket, status=target)
        assert refused.value.code == "invalid_transition"
        ticket.refresh_from_db()
        assert ticket.status == start


def test_router_places_a_triage_ticket_with_its_confidence(people, department):
    triage = services.ticket_create(requester=people["employee"], title="VPN", description="drops")
    routed = services.ticket_route(ticket=triage, department=department, confidence=0.93, assignee=people["agent"])
    assert (routed.department, routed.assignee, routed.status) == (department, people["agent"], Status.OPEN)
    assert routed.routing_confidence == 0.93


def test_router_never_overrides_a_person(people, department, other_department):
    triage = services.ticket_create(requester=people["employee"], title="VPN", description="drops")
    stale = Ticket.objects.get(pk=triage.pk)
    services.ticket_update(actor=people["admin"], ticket=triage, department=other_department)
    routed = services.ticket_route(ticket=stale, department=department, confidence=0.99)
    assert routed.department == other_department and routed.routing_confidence is None


def test_router_abstaining_leaves_triage(people):
    triage = services.ticket_create(requester=people["employee"], title="?", description="?")
    routed = services.ticket_route(ticket=triage, department=None, confidence=0.31)
    assert routed.department is None and routed.routing_confidence == 0.31


def test_import_is_idempotent_by_external_id(people, department):
    first, created = services.ticket_import(
        external_id="csv:17",
        requester=people["employee"],
        title="",
        description="laptop broken",
        department=department,
        category="4/12/3",
    )
    again, created_again = services.ticket_import(
        external_id="csv:17", requester=people["employee"], title="x", description="y", department=None
    )
    assert created and not created_again and again.pk == first.pk
    assert (first.status, first.category, first.title) == (Status.RESOLVED, "4/12/3", "laptop broken")
