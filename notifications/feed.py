"""The live feed's server side: what each ticket event says on the websocket, to whom, and the
replay of missed events. The sockets themselves are notifications.consumers.FeedConsumer.

Messages are JSON `{type, id, at, data}`. `type` is the event's name (`ticket.created`,
`comment.added`, ...), `ticket.removed` for someone who no longer sees a ticket after a move or a
deletion, `notification.created` for a new in-app notification, and control types (`hello`,
`replayed`, `resync`, `pong`, `error`). `id` is the event's id (a notification's id for
`notification.created`, null for control messages): a client keeps the last one it saw and sends
it back when it reconnects.

Who hears what is tickets.policies.audience: the dispatch consumer `notifications.feed` sends
each ticket event once to every channel-layer group of its audience (and of the groups that lose
the ticket), with the message already rendered; each socket is in the groups
tickets.policies.groups_of(its user) gives, and checks the audience against them before it sends
(a socket in two of the groups hears the message twice and sends it once).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from accounts.models import Role, User
from helpdesk import events
from helpdesk.models import OutboxEvent
from notifications.models import Notification
from tickets import policies
from tickets.models import Ticket

logger = logging.getLogger(__name__)

# Ticket events the feed carries (an import is history: nobody hears it live).
TICKET_EVENTS: tuple[type[events.TicketEvent], ...] = (
    events.TicketCreated,
    events.TicketUpdated,
    events.TicketStatusChanged,
    events.TicketAssigned,
    events.TicketRouted,
    events.TicketEscalated,
    events.TicketDeleted,
    events.TicketRestored,
    events.CommentAdded,
    events.AttachmentAdded,
)
TICKET_EVENT_NAMES = [kind.name for kind in TICKET_EVENTS]
# Account events that change what a user's open sockets may hear (an erasure: nothing any more).
ACCOUNT_EVENTS: tuple[type[events.UserEvent | events.UserErased], ...] = (
    events.UserRoleChanged,
    events.UserDeactivated,
    events.UserUpdated,
    events.UserErased,
)

REMOVED = "ticket.removed"
NOTIFICATION = "notification.created"
HELLO, REPLAYED, RESYNC, PONG, ERROR = "hello", "replayed", "resync", "pong", "error"

# Close codes (4000-4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401  # no, a bad or an expired token; a deactivated account
CLOSE_ACCESS_CHANGED = 4403  # the role was lowered: reconnect with a new token to hear what it may

# Channel-layer message types (the socket's handler is the type with "." as "_": feed_ticket, ...).
GROUP_TICKET, GROUP_NOTIFICATION, GROUP_ACCOUNT = "feed.ticket", "feed.notification", "feed.account"

# Envelope fields never sent: the event's own id/time/name are the message's, and where the request
# came from is the audit log's business.
PRIVATE_FIELDS = {"id", "at", "name", "request_id", "ip", "target_id"}
SEND_TIMEOUT_SECONDS = 5.0
# Events created up to this long before the last one a client saw are sent again on a resume: a
# write that committed late can carry an earlier time than one already delivered. Clients skip ids
# they have seen.
REPLAY_OVERLAP = timedelta(seconds=2)


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def message(kind: str, *, id: str | None = None, at: datetime | None = None, data: Any = None) -> str:
    """One feed message as the JSON text sent on the socket."""
    return json.dumps(
        {"type": kind, "id": id, "at": _time(at or timezone.now()), "data": data if data is not None else {}},
        separators=(",", ":"),
    )


def ticket_data(event: events.TicketEvent) -> dict[str, Any]:
    """What a ticket event says on the feed: the ticket's facts after it and what changed (all of
    which the API shows whoever may see the ticket; an internal note only ever goes to staff)."""
    data = {"ticket_id": event.target_id}
    data.update({key: value for key, value in event.to_data().items() if key not in PRIVATE_FIELDS})
    return data


@dataclass(frozen=True)
class Rendered:
    """A ticket event as the feed sends it: the texts, and its audience (tickets.policies)."""

    event_id: str
    text: str  # for those who hear the event
    removed_text: str  # for those who lose the ticket
    audience: policies.Audience

    def for_groups(self, mine: frozenset[str], *, sees_ticket_now: bool = True) -> str | None:
        """The text a socket whose user is in the groups `mine` sends (None: nothing). A replay
        passes `sees_ticket_now` (tickets.policies.visible_tickets): the audience of an old event
        says who could see the ticket then, and one moved out of the user's reach or deleted since
        is no longer theirs to hear about (a "removed" carries only the id they had)."""
        if self.audience.reaches(mine):
            return self.text if sees_ticket_now else None
        if self.audience.loses(mine):
            return self.removed_text
        return None


def render(event: events.TicketEvent) -> Rendered:
    return Rendered(
        event_id=event.id,
        text=message(event.name, id=event.id, at=event.at, data=ticket_data(event)),
        removed_text=message(
            REMOVED, id=event.id, at=event.at, data={"ticket_id": event.target_id, "because": event.name}
        ),
        audience=policies.audience(Ticket(requester_id=event.requester_id), event),
    )


# --- Sending to the channel layer ----------------------------------------------------------------

# The event loop of this process's ASGI server (set by each feed socket as it connects). The
# in-memory channel layer lives in that loop: a send from another thread (the jobs thread, a
# request's thread) is handed to it; with Redis any loop would do, and in a Celery worker there is none.
serving_loop: asyncio.AbstractEventLoop | None = None


def _run(make: Callable[[], list[Awaitable]]) -> None:
    """Await what `make()` returns in the serving loop when there is one, else in a loop of our own."""

    async def all_of() -> None:
        await asyncio.wait_for(asyncio.gather(*make()), SEND_TIMEOUT_SECONDS)

    loop = serving_loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            asyncio.run_coroutine_threadsafe(all_of(), loop).result(SEND_TIMEOUT_SECONDS + 1)
            return
    async_to_sync(all_of)()


def group_send(messages: Iterable[tuple[str, dict]]) -> None:
    """Send each (group, message) on the channel layer; raises if the layer does not take them."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("No channel layer is configured (CHANNEL_LAYERS).")
    sends = list(messages)
    _run(lambda: [layer.group_send(group, payload) for group, payload in sends])


def too_old(event: events.Event, *, now: datetime | None = None) -> bool:
    """Older than the replay window: a socket that missed it is told to resync anyway, so a late
    retry does not push stale news."""
    return event.at < (now or timezone.now()) - timedelta(seconds=settings.FEED_REPLAY_MAX_SECONDS)


def push_ticket_event(event: events.TicketEvent) -> None:
    rendered = render(event)
    audience = rendered.audience
    payload = {
        "type": GROUP_TICKET,
        "id": rendered.event_id,
        "text": rendered.text,
        "removed_text": rendered.removed_text,
        "groups": sorted(audience.groups),
        "visible": sorted(audience.visible),
        "removed": sorted(audience.removed),
    }
    group_send((group, payload) for group in sorted(audience.groups | audience.removed))


def push_account_event(event: events.UserEvent | events.UserErased) -> None:
    """Deactivation or erasure closes the user's sockets; a lowered role too; a raised role or a new
    department makes them rejoin their groups and resync."""
    if isinstance(event, events.UserDeactivated | events.UserErased):
        action, code = "close", CLOSE_UNAUTHENTICATED
    elif isinstance(event, events.UserRoleChanged):
        lowered = Role.from_api_name(event.role) < Role.from_api_name(event.previous_role)
        action, code = ("close", CLOSE_ACCESS_CHANGED) if lowered else ("refresh", 0)
    elif isinstance(event, events.UserUpdated) and "department" in event.changes:
        action, code = "refresh", 0
    else:
        return
    payload = {"type": GROUP_ACCOUNT, "user": event.target_id, "action": action, "code": code}
    group_send([(policies.user_group(event.target_id), payload)])


def push(event: events.Event) -> None:
    """The dispatch consumer `notifications.feed`. Sends are idempotent for the client (sockets
    drop ids they have sent; clients skip ids they have seen), so a redelivery is harmless; a
    channel layer that fails raises, and the dispatcher retries."""
    if isinstance(event, ACCOUNT_EVENTS):
        push_account_event(event)
    elif isinstance(event, TICKET_EVENTS) and not too_old(event):
        push_ticket_event(event)


def notification_text(notification: Notification) -> str:
    from notifications.api.serializers import NotificationOut

    return message(
        NOTIFICATION, id=notification.pk, at=notification.created_at, data=NotificationOut(notification).data
    )


def push_notifications(notifications: Iterable[Notification]) -> None:
    """New in-app notifications, on their owners' sockets. Best effort: the notification is stored,
    so a client that missed the push finds it in the API (or in a replay)."""
    sends = [
        (
            policies.user_group(each.user_id),
            {"type": GROUP_NOTIFICATION, "user": each.user_id, "id": each.pk, "text": notification_text(each)},
        )
        for each in notifications
    ]
    if not sends:
        return
    try:
        group_send(sends)
    except Exception as error:  # the channel layer is down: the notifications wait in the API
        logger.warning(
            "Could not push %d notification(s) on the feed (%s: %s)", len(sends), type(error).__name__, error
        )


# --- Replay ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    texts: list[str]
    resync: str = ""  # why the client must reload instead ("" when the replay is complete)


def _position(user: User, last_event_id: str) -> datetime | None:
    """When the event the client saw last happened: an event id, or the id of one of the user's
    notifications (standing for its event)."""
    created = OutboxEvent.objects.filter(pk=last_event_id).values_list("created_at", flat=True).first()
    if created is not None:
        return created
    event_id = Notification.objects.filter(pk=last_event_id, user=user).values_list("event_id", flat=True).first()
    if event_id is None:
        return None
    return OutboxEvent.objects.filter(pk=event_id).values_list("created_at", flat=True).first()


def replay(*, user: User, last_event_id: str, now: datetime | None = None) -> Replay:
    """What `user` missed after `last_event_id`, as the live feed would have sent it, about the
    tickets they may see now (a "removed" for those they lost), within the window
    (FEED_REPLAY_MAX_EVENTS ticket events, FEED_REPLAY_MAX_SECONDS old); outside it, or for an id
    the outbox no longer has, a resync. A constant number of queries, whatever the page holds."""
    now = now or timezone.now()
    since = _position(user, last_event_id) if last_event_id else None
    if since is None:
        return Replay([], resync="unknown_event")
    if since < now - timedelta(seconds=settings.FEED_REPLAY_MAX_SECONDS):
        return Replay([], resync="too_old")
    limit = settings.FEED_REPLAY_MAX_EVENTS
    rows = list(
        OutboxEvent.objects.filter(name__in=TICKET_EVENT_NAMES, created_at__gte=since - REPLAY_OVERLAP)
        .exclude(pk=last_event_id)
        .order_by("created_at", "id")
        .values_list("id", "data")[: limit + 1]
    )
    if len(rows) > limit:
        return Replay([], resync="too_many")
    mine = policies.groups_of(user)
    missed = [events.Event.from_data(data) for _, data in rows]
    ticket_ids = {event.target_id for event in missed}
    # Who may see each ticket now, not when the event happened: one query for the whole page.
    seen_now = set(
        Ticket.objects.filter(policies.visible_tickets(user), pk__in=ticket_ids).values_list("pk", flat=True)
    )
    notes: dict[str, list[Notification]] = {}
    for note in Notification.objects.filter(user=user, event_id__in=[pk for pk, _ in rows]).select_related("actor"):
        notes.setdefault(note.event_id, []).append(note)
    texts = []
    for event in missed:
        assert isinstance(event, events.TicketEvent)
        text = render(event).for_groups(mine, sees_ticket_now=event.target_id in seen_now)
        if text is not None:
            texts.append(text)
        texts.extend(notification_text(note) for note in notes.get(event.id, []))
    return Replay(texts)
