"""tickets.policies.audience: who hears an event is exactly who the API shows the ticket to
(visible_tickets), staff only for internal notes, and a move tells those who lose the ticket.

The property test generates users (every role, in a department or not) and tickets (any
requester, department or triage, assignee or none, deleted or not, any status) and events (a plain
change, an internal note, a move from any earlier placement), and compares with the database's
answer to visible_tickets for every user.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from helpdesk import events
from tests.factories import UserFactory
from tickets import policies, selectors, services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

DEPARTMENTS = ("A", "B", None)  # two departments (fixtures), or triage / no department

user_specs = st.lists(st.tuples(st.sampled_from(list(Role)), st.sampled_from(DEPARTMENTS)), min_size=1, max_size=5)
placement = st.fixed_dictionaries(
    {
        "department": st.sampled_from(DEPARTMENTS),
        "assignee": st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
        "deleted": st.booleans(),
    }
)
scenario = st.fixed_dictionaries(
    {
        "users": user_specs,
        "requester": st.integers(min_value=0, max_value=4),
        "status": st.sampled_from(list(Status)),
        "after": placement,
        "before": st.one_of(st.none(), placement),  # None: the event moved nothing
        "internal": st.booleans(),
    }
)


def _row(spec, *, users, requester, status, departments) -> Ticket:
    assignee = users[spec["assignee"] % len(users)] if spec["assignee"] is not None else None
    return Ticket.objects.create(
        title="T",
        description="D",
        requester=requester,
        status=status,
        department=departments[spec["department"]],
        assignee=assignee,
        deleted_at=timezone.now() if spec["deleted"] else None,
    )


def _event(ticket: Ticket, before: Ticket, *, internal: bool) -> events.TicketEvent:
    facts = dict(
        target_id=ticket.pk,
        title=ticket.title,
        status=ticket.status,
        priority=ticket.priority,
        requester_id=ticket.requester_id,
        department_id=ticket.department_id,
        assignee_id=ticket.assignee_id,
        deleted=ticket.deleted_at is not None,
        version=ticket.version,
        previous_department_id=before.department_id,
        previous_assignee_id=before.assignee_id,
        previous_deleted=before.deleted_at is not None,
    )
    if internal:
        return events.CommentAdded(
            **facts, comment_id="c" * 24, body="note", internal=True, created_at=timezone.now().isoformat()
        )
    return events.TicketUpdated(**facts, fields=("department",))


def _sees(user, ticket: Ticket) -> bool:
    return Ticket.objects.filter(policies.visible_tickets(user), pk=ticket.pk).exists()


@settings(
    max_examples=120,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario)
def test_audience_agrees_with_visible_tickets_for_every_role_and_ticket_state(department, other_department, case):
    departments = {"A": department, "B": other_department, None: None}
    with transaction.atomic():
        users = [
            UserFactory(email=f"u{n}@example.com", role=role, department=departments[where])
            for n, (role, where) in enumerate(case["users"])
        ]
        requester = users[case["requester"] % len(users)]
        common = {"users": users, "requester": requester, "status": case["status"], "departments": departments}
        ticket = _row(case["after"], **common)
        before = _row(case["before"], **common) if case["before"] else ticket  # where it was: a row of its own
        event = _event(ticket, before, internal=case["internal"])
        heard = policies.audience(ticket, event)
        for user in users:
            groups = policies.groups_of(user)
            sees_now, saw = _sees(user, ticket), _sees(user, before)
            expected = sees_now and (not case["internal"] or policies.sees_internal(user))
            assert heard.reaches(groups) == expected, (user.role, user.department_id, case)
            assert heard.loses(groups) == (saw and not sees_now), (user.role, user.department_id, case)
        # With no event: the ticket's own audience is its visibility.
        for user in users:
            assert policies.audience(ticket).reaches(policies.groups_of(user)) == _sees(user, ticket)
        transaction.set_rollback(True)


def test_an_internal_note_reaches_staff_only(people, department):
    ticket = services.ticket_create(requester=people["employee"], title="VPN", description="d", department=department)
    with_note = events.Event.from_data
    services.comment_add(actor=people["agent"], ticket=ticket, body="firmware bug", internal=True)
    ticket.refresh_from_db()
    note = with_note(ticket.last_event)
    heard = policies.audience(ticket, note)
    reached = {who for who, user in people.items() if heard.reaches(policies.groups_of(user))}
    assert reached == {"agent", "lead", "admin"}  # never the requester (an employee), nor the other department


def test_a_move_tells_the_old_department_it_lost_the_ticket(people, department, other_department):
    ticket = services.ticket_create(requester=people["employee"], title="VPN", description="d", department=department)
    ticket = services.ticket_update(actor=people["admin"], ticket=ticket, department=other_department)
    moved = events.Event.from_data(ticket.last_event)
    heard = policies.audience(ticket, moved)
    groups = {who: policies.groups_of(user) for who, user in people.items()}
    assert {who for who in people if heard.loses(groups[who])} == {"agent", "lead"}
    assert {who for who in people if heard.reaches(groups[who])} == {"employee", "agent_other", "admin"}


def test_a_deleted_ticket_is_removed_for_everyone_who_saw_it(people, department):
    ticket = services.ticket_create(requester=people["employee"], title="VPN", description="d", department=department)
    ticket = services.ticket_delete(actor=people["admin"], ticket=ticket)
    heard = policies.audience(ticket, events.Event.from_data(ticket.last_event))
    assert heard.groups == frozenset()
    assert {who for who, user in people.items() if heard.loses(policies.groups_of(user))} == {
        "employee",
        "agent",
        "lead",
        "admin",
    }


def test_list_counts_are_cached_under_the_policys_visibility_key(people, monkeypatch):
    user = people["agent"]
    key = selectors.list_count_key(user=user, params={})
    monkeypatch.setattr(policies, "visibility_key", lambda who: "someone else entirely")
    assert selectors.list_count_key(user=user, params={}) != key  # one function, not a copy
