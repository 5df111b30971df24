"""SLA: due times from the policy, pauses while pending, state, and the escalation job (frozen clock)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from helpdesk import events
from tests.helpers import captured_events
from tickets import services, sla
from tickets.models import SlaPolicy, Status, Ticket

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning


@pytest.fixture
def open_ticket(people, department):
    """A high-priority ticket opened at T0 (default policy: respond in 1 h, resolve in 8 h, warn 30 min)."""
    with time_machine.travel(T0, tick=False):
        ticket = services.ticket_create(
            requester=people["employee"],
            title="VPN down",
            description="All of sales",
            department=department,
            priority="high",
        )
        return services.ticket_assign(actor=people["agent"], ticket=ticket, assignee=people["agent"])


def at(minutes: int):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


def test_default_policies_exist_for_every_priority():
    assert set(SlaPolicy.objects.values_list("priority", flat=True)) == {"low", "medium", "high", "urgent"}


def test_due_times_are_set_at_creation(open_ticket):
    assert open_ticket.first_response_due_at == T0 + timedelta(hours=1)
    assert open_ticket.resolution_due_at == T0 + timedelta(hours=8)


def test_changing_the_priority_recomputes_due_times(people, open_ticket):
    with at(10):
        ticket = services.ticket_update(actor=people["agent"], ticket=open_ticket, priority="urgent")
    assert ticket.first_response_due_at == T0 + timedelta(minutes=30)
    assert ticket.resolution_due_at == T0 + timedelta(hours=4)


def test_admins_policy_change_applies_to_new_tickets(people, department):
    SlaPolicy.objects.filter(priority="low").update(first_response_minutes=5, resolution_minutes=10)
    sla.forget_policies()
    with at(0):
        ticket = services.ticket_create(
            requester=people["employee"], title="Mouse", description="Squeaks", department=department, priority="low"
        )
    assert ticket.resolution_due_at == T0 + timedelta(minutes=10)


def test_pending_pauses_the_clocks_and_resuming_shifts_them(people, open_ticket):
    agent = people["agent"]
    with at(20):
        ticket = services.ticket_transition(actor=agent, ticket=open_ticket, status=Status.PENDING)
    assert ticket.sla_paused_at == T0 + timedelta(minutes=20)
    assert sla.state(ticket, now=T0 + timedelta(hours=20)) == "paused"
    with at(200):  # 3 h later the requester answers
        ticket = services.ticket_transition(actor=agent, ticket=ticket, status=Status.OPEN)
    assert ticket.sla_paused_at is None and ticket.sla_paused_seconds == 180 * 60
    assert ticket.first_response_due_at == T0 + timedelta(hours=4)
    assert ticket.resolution_due_at == T0 + timedelta(hours=11)


def test_no_pause_when_the_policy_says_so(people, open_ticket):
    SlaPolicy.objects.filter(priority="high").update(pause_when_pending=False)
    sla.forget_policies()
    with at(20):
        ticket = services.ticket_transition(actor=people["agent"], ticket=open_ticket, status=Status.PENDING)
    assert ticket.sla_paused_at is None
    assert ticket.resolution_due_at == T0 + timedelta(hours=8)


def test_the_first_public_staff_reply_stops_the_first_response_clock(people, open_ticket):
    with at(5):
        services.comment_add(actor=people["employee"], ticket=open_ticket, body="Any news?")
        services.comment_add(actor=people["agent"], ticket=open_ticket, body="Looking", internal=True)
    open_ticket.refresh_from_db()
    assert open_ticket.first_responded_at is None
    with at(15):
        services.comment_add(actor=people["agent"], ticket=open_ticket, body="Restarting the gateway now.")
    with at(25):
        services.comment_add(actor=people["lead"], ticket=open_ticket, body="Done?")
    open_ticket.refresh_from_db()
    assert open_ticket.first_responded_at == T0 + timedelta(minutes=15)


@pytest.mark.parametrize(
    "minutes,expected",
    [(0, "ok"), (31, "warning"), (61, "breached"), (8 * 60 - 10, "breached")],
)
def test_state_of_a_ticket_nobody_answered(open_ticket, minutes, expected):
    assert sla.state(open_ticket, now=T0 + timedelta(minutes=minutes)) == expected


def test_state_once_answered_and_resolved(people, open_ticket):
    with at(10):
        services.comment_add(actor=people["agent"], ticket=open_ticket, body="On it")
    open_ticket.refresh_from_db()
    assert sla.state(open_ticket, now=T0 + timedelta(minutes=90)) == "ok"  # first response met
    assert sla.state(open_ticket, now=T0 + timedelta(minutes=8 * 60 - 20)) == "warning"
    with at(120):
        resolved = services.ticket_transition(actor=people["agent"], ticket=open_ticket, status=Status.RESOLVED)
    assert sla.state(resolved, now=T0 + timedelta(days=3)) == "met"


def _escalate(minutes: int) -> list[Ticket]:
    with at(minutes):
        return services.tickets_escalate_due()


def test_job_leaves_tickets_on_time_alone(open_ticket):
    assert _escalate(10) == []


def test_job_escalates_inside_the_warning_window_once_with_the_reason(open_ticket):
    with captured_events(events.TicketEscalated) as seen:
        [escalated] = _escalate(40)
        assert _escalate(45) == []  # flagged once
    assert escalated.escalated and escalated.escalated_at == T0 + timedelta(minutes=40)
    assert escalated.escalation_reason.startswith("SLA warning: first response due 2026-11-23 10:00 UTC")
    assert [event.target_id for event in seen] == [open_ticket.pk] and seen[0].actor_id is None


def test_job_escalates_a_breach(people, open_ticket):
    with at(5):
        services.comment_add(actor=people["agent"], ticket=open_ticket, body="On it")
    assert _escalate(60 * 7) == []  # responded; resolution not yet near
    [escalated] = _escalate(60 * 9)
    assert escalated.escalation_reason == "SLA breached: resolution was due 2026-11-23 17:00 UTC."


def test_job_skips_paused_resolved_and_deleted_tickets(people, department, open_ticket):
    with at(1):
        paused = services.ticket_create(
            requester=people["employee"], title="P", description="P", department=department, priority="high"
        )
        services.ticket_transition(actor=people["agent"], ticket=paused, status=Status.PENDING)
        resolved = services.ticket_create(
            requester=people["employee"], title="R", description="R", department=department, priority="high"
        )
        services.ticket_transition(actor=people["agent"], ticket=resolved, status=Status.RESOLVED)
        services.ticket_delete(actor=people["admin"], ticket=open_ticket)
    assert _escalate(60 * 24) == []


def test_escalate_due_command(open_ticket, capsys):
    with at(90):
        call_command("escalate_due", "--quiet")
    out = capsys.readouterr().out
    assert "Escalated 1 ticket(s)." in out and open_ticket.pk in out
    open_ticket.refresh_from_db()
    assert open_ticket.escalated


def test_celery_task_runs_the_same_job(open_ticket, settings):
    from tickets.tasks import escalate_due

    entry = settings.CELERY_BEAT_SCHEDULE["escalate-due-tickets"]
    assert (entry["task"], entry["args"]) == ("helpdesk.run_job", (escalate_due.name,))  # under the job lock
    with at(90):
        assert escalate_due.delay().get() == 1


def test_next_due_in_python_and_in_the_database_agree_for_every_clock_state():
    """The admin list sorts by sla.next_due_expression; sla.state reads sla.next_due: one rule, two forms."""
    import itertools

    from tests.factories import TicketFactory

    early, late = T0 + timedelta(hours=1), T0 + timedelta(hours=8)
    made = []
    for status, paused, answered, first_due, resolution_due in itertools.product(
        [Status.NEW, Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED],
        [False, True],
        [False, True],
        [None, early, late + timedelta(hours=1)],
        [None, late],
    ):
        made.append(
            TicketFactory(
                status=status,
                sla_paused_at=T0 if paused else None,
                first_responded_at=T0 if answered else None,
                first_response_due_at=first_due,
                resolution_due_at=resolution_due,
            )
        )
    in_database = dict(Ticket.objects.annotate(due=sla.next_due_expression()).values_list("pk", "due"))
    for ticket in made:
        assert in_database[ticket.pk] == sla.next_due(ticket), (ticket.status, ticket.__dict__)
    assert {sla.next_due(ticket) for ticket in made} == {None, early, late, late + timedelta(hours=1)}
