"""The live feed's replay asks who may see each ticket now, not who could when the event happened
(issue 21): an agent who reconnects with an old `last_event_id` after a ticket left their
department (or was deleted) gets no event about it but the "removed", and the replay reads the
tickets of its page in one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk import events
from helpdesk.models import OutboxEvent
from notifications import feed
from tests.notifications.conftest import Socket, db, run
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def created_event(ticket: Ticket) -> str:
    return OutboxEvent.objects.get(target_id=ticket.pk, name=events.TicketCreated.name).pk


def async_result(scenario):
    """run() for a scenario that returns what it found."""
    box = []

    async def keep():
        box.append(await scenario())

    run(keep)
    return box[0]


def test_a_replay_skips_events_about_tickets_the_user_no_longer_sees(people, department, other_department):
    employee, agent, lead, admin = people["employee"], people["agent"], people["lead"], people["admin"]

    async def scenario():
        moved, deleted, kept = [
            await db(services.ticket_create)(requester=employee, title=title, description="Help", department=department)
            for title in ("Moved", "Deleted", "Kept")
        ]
        last = await db(created_event)(kept)
        # The other creations happened well before the last event the agent saw (outside the overlap).
        await db(
            lambda: OutboxEvent.objects.exclude(pk=last).update(created_at=timezone.now() - timedelta(minutes=1))
        )()
        # While the agent is away: replies on all three, then one leaves the department, one is deleted.
        for ticket in (moved, deleted, kept):
            await db(services.comment_add)(actor=lead, ticket=ticket, body=f"Reply on {ticket.title}", internal=True)
        await db(services.ticket_update)(
            actor=lead, ticket=await db(Ticket.objects.get)(pk=moved.pk), department=other_department
        )
        await db(services.ticket_delete)(actor=admin, ticket=await db(Ticket.objects.get)(pk=deleted.pk))

        back = await Socket.open(agent, query=f"&last_event_id={last}")
        replayed = await back.until("replayed")
        await back.close()
        return moved, deleted, kept, replayed

    moved, deleted, kept, replayed = async_result(scenario)
    said = [(message["type"], message["data"].get("ticket_id")) for message in replayed]
    assert said == [
        ("comment.added", kept.pk),  # still the agent's department's
        ("ticket.removed", moved.pk),  # the move: the agent's cue to drop it
        ("ticket.removed", deleted.pk),
        ("replayed", None),
    ]
    assert replayed[0]["data"]["body"] == "Reply on Kept"
    assert replayed[-1]["data"] == {"count": 3}
    assert all("Moved" not in str(m["data"]) and "Deleted" not in str(m["data"]) for m in replayed)


def test_a_replay_reads_in_a_constant_number_of_queries(people, department, other_department):
    employee, agent, lead = people["employee"], people["agent"], people["lead"]
    first = services.ticket_create(requester=employee, title="First", description="Help", department=department)
    since = created_event(first)

    def add(count: int) -> None:
        for n in range(count):
            ticket = services.ticket_create(requester=employee, title=f"T{n}", description="?", department=department)
            services.comment_add(actor=agent, ticket=ticket, body="A reply")  # notifies the employee
            if n % 2:
                services.ticket_update(actor=lead, ticket=Ticket.objects.get(pk=ticket.pk), department=other_department)

    def replay_queries(user) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            found = feed.replay(user=user, last_event_id=since)
        assert not found.resync
        return len(queries), len(found.texts)

    add(2)
    few = {who: replay_queries(people[who]) for who in ("employee", "agent")}
    add(10)
    many = {who: replay_queries(people[who]) for who in ("employee", "agent")}
    for who in few:
        assert many[who][1] > few[who][1]  # more was replayed ...
        assert many[who][0] == few[who][0], who  # ... with the same queries
