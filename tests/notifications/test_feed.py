"""The live feed (/ws/feed/) over real websocket connections (Channels' communicator): signing in by
URL or first message, 4401 for a bad token, exactly what the API shows each role, no internal note to
an employee, "removed" after a move, one message per event, replay and resync, closing on demotion or
deactivation, and the origin check."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as accounts
from accounts.models import Role
from helpdesk.models import OutboxEvent
from notifications import consumers, feed
from notifications.routing import websocket_application
from tests.factories import UserFactory
from tests.helpers import requires_redis
from tests.notifications.conftest import Socket, db, run, settle, token_of
from tickets import selectors, services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=-5))
    return str(token)


# --- Signing in ----------------------------------------------------------------------------------


def test_a_token_in_the_url_signs_in(people):
    async def scenario():
        socket = await Socket.open(hello=False, token=token_of(people["agent"]))
        hello = await socket.next()
        assert hello["type"] == "hello" and hello["id"] is None
        assert hello["data"]["user_id"] == people["agent"].pk and hello["data"]["role"] == "agent"
        assert hello["data"]["token_expires_at"].endswith("Z")
        await socket.close()

    run(scenario)


def test_the_first_message_may_carry_the_token(people):
    async def scenario():
        socket = await Socket.open()
        await socket.send({"type": "auth", "token": token_of(people["employee"])})
        hello = await socket.next()
        assert hello["type"] == "hello" and hello["data"]["user_id"] == people["employee"].pk
        await socket.send({"type": "ping"})
        assert (await socket.next())["type"] == "pong"
        await socket.close()

    run(scenario)


@pytest.mark.parametrize("case", ["garbage", "expired", "refresh token", "inactive account", "wrong signature"])
def test_a_bad_or_expired_token_closes_with_4401(people, case):
    user = people["agent"]
    if case == "inactive account":
        user.is_active = False
        user.save()
    raw = {
        "garbage": "not-a-jwt",
        "expired": expired_token(user),
        "refresh token": None,
        "inactive account": None,
        "wrong signature": token_of(user)[:-3] + "abc",
    }[case]
    if case == "refresh token":
        from accounts.tokens import issue_pair

        raw = issue_pair(user)["refresh"]
    elif case == "inactive account":
        raw = str(AccessToken.for_user(user))

    async def scenario():
        for how in ("url", "message"):
            socket = await Socket.open(token=raw if how == "url" else "", hello=False)
            if how == "message":
                await socket.send({"type": "auth", "token": raw})
            assert await socket.closed_with() == 4401, (case, how)

    run(scenario)


def test_anything_but_auth_first_or_no_auth_in_time_closes_with_4401(people, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_SECONDS", 0.2)

    async def scenario():
        socket = await Socket.open()
        await socket.send({"type": "resume", "last_event_id": "x"})
        assert await socket.closed_with() == 4401
        socket = await Socket.open()
        assert await socket.closed_with(timeout=2) == 4401  # said nothing

    run(scenario)


def test_the_socket_closes_with_4401_when_its_token_expires(people):
    token = AccessToken.for_user(people["agent"])
    token.set_exp(lifetime=timedelta(seconds=1))

    async def scenario():
        socket = await Socket.open(token=str(token))
        assert await socket.closed_with(timeout=4) == 4401

    run(scenario)


# --- Who hears what ------------------------------------------------------------------------------


async def sockets_for(people, *names) -> dict[str, Socket]:
    return {name: await Socket.open(people[name]) for name in names}


async def heard(sockets: dict[str, Socket], kind: str, *, ticket_id: str) -> set[str]:
    """Who of `sockets` got a message of `kind` about the ticket (each then has nothing more)."""
    await settle()
    got = set()
    for name, socket in sockets.items():
        while not await socket.quiet(0.1):
            message = await socket.next()
            if message["type"] == kind and message["data"].get("ticket_id") == ticket_id:
                got.add(name)
    return got


def test_each_role_hears_exactly_what_the_api_shows_them(people, department):
    lead_elsewhere = UserFactory(role=Role.LEAD, department=people["agent_other"].department)
    people = {**people, "lead_elsewhere": lead_elsewhere}
    names = ["employee", "agent", "agent_other", "lead", "lead_elsewhere", "admin"]

    async def scenario():
        sockets = await sockets_for(people, *names)
        ours = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        got = await heard(sockets, "ticket.created", ticket_id=ours.pk)
        assert got == {"employee", "agent", "lead", "admin"}
        triage = await db(services.ticket_create)(requester=people["employee"], title="Help", description="?")
        got_triage = await heard(sockets, "ticket.created", ticket_id=triage.pk)
        assert got_triage == {"employee", "lead", "lead_elsewhere", "admin"}
        for socket in sockets.values():
            await socket.close()
        return got, got_triage

    run(scenario)
    # The API agrees, person by person.
    for ticket_title, expected in (("VPN", {"employee", "agent", "lead", "admin"}),):
        ticket = Ticket.objects.get(title=ticket_title)
        for name in names:
            visible = selectors.tickets_for(user=people[name]).filter(pk=ticket.pk).exists()
            assert visible == (name in expected), name


def test_a_message_says_what_happened_and_never_where_the_request_came_from(people, department):
    async def scenario():
        agent = await Socket.open(people["agent"])
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        message = await agent.next()
        assert message["type"] == "ticket.created"
        row = await db(lambda: OutboxEvent.objects.get(target_id=ticket.pk))()
        assert message["id"] == row.pk and message["at"].endswith("Z")
        data = message["data"]
        assert data["ticket_id"] == ticket.pk and data["title"] == "VPN" and data["department_id"] == department.pk
        assert data["requester_id"] == people["employee"].pk and data["status"] == "new"
        assert not {"ip", "request_id", "id", "at", "name"} & set(data)
        await agent.close()

    run(scenario)


def test_internal_notes_never_reach_the_employee(people, department):
    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        sockets = await sockets_for(people, "employee", "agent", "lead", "admin")
        await db(services.comment_add)(
            actor=people["agent"], ticket=ticket, body="Firewall idle timeout", internal=True
        )
        assert await heard(sockets, "comment.added", ticket_id=ticket.pk) == {"agent", "lead", "admin"}
        await db(services.comment_add)(actor=people["agent"], ticket=ticket, body="Please reinstall the profile")
        employee = sockets["employee"]
        reply = await employee.next()
        assert reply["type"] == "comment.added" and reply["data"]["body"] == "Please reinstall the profile"
        assert reply["data"]["internal"] is False
        note = await employee.next()  # the in-app notification of the reply, pushed on the feed
        assert note["type"] == "notification.created" and note["data"]["kind"] == "reply"
        assert note["data"]["ticket"] == {"id": ticket.pk, "title": "VPN"}
        assert await employee.quiet()
        for socket in sockets.values():
            await socket.close()

    run(scenario)


def test_the_old_department_gets_removed_and_deletion_removes_for_everyone(people, department, other_department):
    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="Printer", description="Jams", department=department
        )
        sockets = await sockets_for(people, "employee", "agent", "agent_other", "lead", "admin")
        await db(services.ticket_update)(actor=people["lead"], ticket=ticket, department=other_department)
        assert await heard(sockets, "ticket.removed", ticket_id=ticket.pk) == {"agent", "lead"}
        moved = await db(Ticket.objects.get)(pk=ticket.pk)
        await db(services.ticket_delete)(actor=people["admin"], ticket=moved)
        assert await heard(sockets, "ticket.removed", ticket_id=ticket.pk) == {"employee", "agent_other", "admin"}
        for socket in sockets.values():
            await socket.close()

    run(scenario)


def test_one_message_per_event_even_through_several_groups(people, department):
    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        agent = await Socket.open(people["agent"])
        # Assigned and of the department: two groups of the audience, one message.
        await db(services.ticket_assign)(actor=people["agent"], ticket=ticket, assignee=people["agent"])
        message = await agent.next()
        assert message["type"] == "ticket.assigned" and message["data"]["assignee_id"] == people["agent"].pk
        assert await agent.quiet()
        # The dispatcher may deliver an event again (at least once): the socket sends it once.
        row = await db(lambda: OutboxEvent.objects.filter(target_id=ticket.pk).latest("created_at"))()
        from helpdesk import events

        await db(feed.push)(events.Event.from_data(row.data))
        assert await agent.quiet()
        await agent.close()

    run(scenario)


# --- Replay --------------------------------------------------------------------------------------


def test_reconnecting_with_the_last_id_replays_what_was_missed(people, department, monkeypatch):
    monkeypatch.setattr(consumers, "REPLAY_EVERY_SECONDS", 0)

    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        employee = await Socket.open(people["employee"])
        await db(services.ticket_assign)(actor=people["agent"], ticket=ticket, assignee=people["agent"])
        last = await employee.next()
        assert last["type"] == "ticket.assigned"
        await employee.close()
        # Missed while away: a note (never for the employee), a reply and a status change.
        await db(services.comment_add)(actor=people["agent"], ticket=ticket, body="Internal", internal=True)
        await db(services.comment_add)(actor=people["agent"], ticket=ticket, body="Try again now")
        await db(services.ticket_transition)(
            actor=people["agent"], ticket=await db(Ticket.objects.get)(pk=ticket.pk), status="pending"
        )
        # (Events up to a couple of seconds older than the last one seen come again, in case one
        # committed late; the creation is made older than that here. The next test shows the overlap.)
        await db(
            lambda: OutboxEvent.objects.filter(name="ticket.created").update(
                created_at=timezone.now() - timedelta(minutes=1)
            )
        )()
        back = await Socket.open(people["employee"], query=f"&last_event_id={last['id']}")
        replayed = await back.until("replayed")
        kinds = [(message["type"], message["data"].get("kind")) for message in replayed]
        assert kinds == [
            ("comment.added", None),
            ("notification.created", "reply"),
            ("ticket.status_changed", None),
            ("notification.created", "status"),
            ("replayed", None),
        ]
        assert replayed[-1]["data"] == {"count": 4}
        assert all(message["data"].get("body") != "Internal" for message in replayed)
        # Live again: the next change arrives as it happens.
        await db(services.comment_add)(actor=people["agent"], ticket=ticket, body="Any better?")
        live = await back.until("notification.created")
        assert [message["type"] for message in live] == ["comment.added", "notification.created"]
        # A resume message works the same, from a notification's id too; a socket never sends an id twice.
        await back.send({"type": "resume", "last_event_id": replayed[1]["id"]})
        again = await back.until("replayed")
        sent_before = {message["id"] for message in replayed[:-1] + live}
        assert again[-1]["data"] == {"count": len(again) - 1}
        assert not sent_before & {message["id"] for message in again[:-1]}
        await back.close()

    run(scenario)


def test_a_replay_repeats_what_came_just_before_the_last_id_in_case_it_committed_late(people, department):
    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        await db(services.comment_add)(actor=people["agent"], ticket=ticket, body="Reply")
        rows = await db(lambda: list(OutboxEvent.objects.filter(target_id=ticket.pk).order_by("created_at")))()
        created, replied = rows
        # The creation committed after the reply was delivered, yet it happened a second before it.
        await db(
            lambda: OutboxEvent.objects.filter(pk=created.pk).update(
                created_at=replied.created_at - timedelta(seconds=1)
            )
        )()
        socket = await Socket.open(people["employee"], query=f"&last_event_id={replied.pk}")
        replayed = await socket.until("replayed")
        assert [message["id"] for message in replayed[:-1]] == [created.pk]
        await socket.close()

    run(scenario)


def test_resumes_are_limited_to_one_a_second(people, department):
    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        last = await db(lambda: OutboxEvent.objects.get(target_id=ticket.pk).pk)()
        socket = await Socket.open(people["employee"])
        await socket.send({"type": "resume", "last_event_id": last})
        assert (await socket.next())["type"] == "replayed"
        await socket.send({"type": "resume", "last_event_id": last})
        refused = await socket.next()
        assert refused["type"] == "error" and refused["data"]["code"] == "slow_down"
        await socket.close()

    run(scenario)


@pytest.mark.parametrize("reason", ["unknown_event", "too_old", "too_many"])
def test_outside_the_window_the_client_is_told_to_resync(people, department, settings, reason):
    settings.FEED_REPLAY_MAX_EVENTS = 2

    async def scenario():
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        first = await db(lambda: OutboxEvent.objects.get(target_id=ticket.pk).pk)()
        if reason == "too_old":
            await db(
                lambda: OutboxEvent.objects.filter(pk=first).update(created_at=timezone.now() - timedelta(hours=2))
            )()
        if reason == "too_many":
            for n in range(3):
                await db(services.comment_add)(actor=people["agent"], ticket=ticket, body=f"Reply {n}")
        last = "0" * 24 if reason == "unknown_event" else first
        socket = await Socket.open(people["employee"], query=f"&last_event_id={last}")
        message = await socket.next()
        assert message["type"] == "resync" and message["data"] == {"reason": reason}
        await socket.close()

    run(scenario)


# --- Account changes -----------------------------------------------------------------------------


def test_demotion_and_deactivation_close_the_users_sockets(people):
    async def scenario():
        agent, lead = await Socket.open(people["agent"]), await Socket.open(people["lead"])
        second_agent_tab = await Socket.open(people["agent"])
        await db(accounts.user_update)(actor=people["admin"], user=people["agent"], role=Role.EMPLOYEE)
        assert await agent.closed_with() == 4403 and await second_agent_tab.closed_with() == 4403
        await db(accounts.user_deactivate)(actor=people["admin"], user=people["lead"])
        assert await lead.closed_with() == 4401
        # The deactivated lead cannot come back.
        again = await Socket.open(token=token_of(people["lead"]), hello=False)
        assert await again.closed_with() == 4401

    run(scenario)


def test_a_promotion_or_a_new_department_regroups_the_socket(people, department, other_department):
    async def scenario():
        agent = await Socket.open(people["agent"])
        await db(accounts.user_update)(actor=people["admin"], user=people["agent"], department=other_department)
        message = await agent.next()
        assert message["type"] == "resync" and message["data"] == {"reason": "access_changed"}
        ours = await db(services.ticket_create)(
            requester=people["employee"], title="Old dept", description="x", department=department
        )
        theirs = await db(services.ticket_create)(
            requester=people["employee"], title="New dept", description="x", department=other_department
        )
        heard_now = await agent.next()
        assert heard_now["data"]["ticket_id"] == theirs.pk and await agent.quiet()
        assert ours.pk != theirs.pk
        await db(accounts.user_update)(actor=people["admin"], user=people["agent"], role=Role.LEAD)
        assert (await agent.next())["type"] == "resync"
        triage = await db(services.ticket_create)(requester=people["employee"], title="Triage", description="x")
        assert (await agent.next())["data"]["ticket_id"] == triage.pk  # leads hear triage
        await agent.close()

    run(scenario)


# --- Origin --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin,accepted", [(None, True), (b"http://localhost:3000", True), (b"https://evil.example", False)]
)
def test_browsers_must_come_from_an_allowed_origin(people, origin, accepted):
    async def scenario():
        headers = [(b"origin", origin)] if origin else []
        communicator = WebsocketCommunicator(
            websocket_application(), f"/ws/feed/?token={token_of(people['agent'])}", headers=headers
        )
        connected, _ = await communicator.connect()
        assert connected == accepted
        await communicator.disconnect()

    run(scenario)


def test_the_feed_hears_an_event_before_slower_consumers():
    """People watch the feed: it must not wait for the AI's index to load its model (dispatch `first`)."""
    from helpdesk import dispatch, events

    sample = events.TicketCreated(
        target_id="t",
        title="T",
        status="new",
        priority="medium",
        requester_id="r",
        department_id=None,
        assignee_id=None,
        deleted=False,
        version=1,
        previous_department_id=None,
        previous_assignee_id=None,
        previous_deleted=False,
    )
    assert dispatch.consumers_of(sample)[0].name == "notifications.feed"


@requires_redis
def test_an_idle_socket_outlives_the_redis_read_timeout(people, department):
    """channels-redis waits for a socket's messages with a blocking BZPOPMIN of 5 s; with redis-py's
    default read time-out (also 5 s) every socket idle that long failed and dropped."""

    async def scenario():
        agent = await Socket.open(people["agent"])
        await asyncio.sleep(6.5)
        ticket = await db(services.ticket_create)(
            requester=people["employee"], title="VPN", description="Drops", department=department
        )
        message = await agent.next()
        assert message["type"] == "ticket.created" and message["data"]["ticket_id"] == ticket.pk
        await agent.close()

    run(scenario)


def test_a_channel_layer_that_fails_makes_the_dispatcher_retry_the_feed(people, department, monkeypatch):
    """Redis down: the feed consumer raises, the event stays undelivered for it alone, and the retry
    job sends it once the layer answers again."""
    from helpdesk import dispatch

    class Down:
        async def group_send(self, group, message):
            raise ConnectionError("redis: connection refused")

    sent = []

    class Back:
        async def group_send(self, group, message):
            sent.append((group, message["id"]))

    monkeypatch.setattr(feed, "get_channel_layer", lambda: Down())
    ticket = services.ticket_create(requester=people["employee"], title="VPN", description="x", department=department)
    row = OutboxEvent.objects.get(target_id=ticket.pk)
    assert row.delivered_at is None and row.last_error.startswith("notifications.feed: ConnectionError")
    monkeypatch.setattr(feed, "get_channel_layer", lambda: Back())
    OutboxEvent.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert dispatch.deliver_due().delivered == 1
    assert {group for group, _ in sent} == {"admins", f"department.{department.pk}", f"user.{people['employee'].pk}"}
