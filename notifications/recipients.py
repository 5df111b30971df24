"""Who is told about a ticket event in person (an in-app notification, and an email unless they
switched that kind off), and with what words. The live feed is wider: everyone who may see the
ticket hears every change there (notifications.feed).

- a public reply: the requester (never an internal note: it tells nobody in person);
- a status change: the requester;
- an assignment, by a person or by the router: the new assignee;
- an escalation: the leads of the ticket's department (of triage: every lead).

Nobody is told about what they did themselves, an inactive account is told nothing, and everyone
told must be in the ticket's audience for the event (tickets.policies.audience): the same rule as
the API's, so a notification never shows what its reader may not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Role, User
from helpdesk import events
from notifications.models import Kind
from tickets import policies
from tickets.models import Ticket

# The events that tell someone in person (the consumers register for these).
EVENTS = (
    events.CommentAdded,
    events.TicketStatusChanged,
    events.TicketAssigned,
    events.TicketRouted,
    events.TicketEscalated,
)
TEXT_LENGTH = 500


@dataclass(frozen=True)
class Recipient:
    user: User
    kind: str
    text: str  # one plain-text line for the in-app notification
    actor: User | None


def _name(user: User | None, default: str) -> str:
    return (user.get_full_name() or user.email) if user is not None else default


def _shorten(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _wanted(event: events.TicketEvent) -> list[tuple[str, str]]:
    """(user id, kind) pairs the event is for, before the actor and visibility checks; "leads"
    stands for the leads of the ticket's department."""
    if isinstance(event, events.CommentAdded):
        return [] if event.internal else [(event.requester_id, Kind.REPLY)]
    if isinstance(event, events.TicketStatusChanged):
        return [(event.requester_id, Kind.STATUS)]
    if isinstance(event, events.TicketAssigned | events.TicketRouted):
        if event.assignee_id and event.assignee_id != event.previous_assignee_id:
            return [(event.assignee_id, Kind.ASSIGNED)]
        return []
    if isinstance(event, events.TicketEscalated):
        return [("leads", Kind.ESCALATED)]
    return []


def _text(event: events.TicketEvent, kind: str, actor: User | None) -> str:
    if kind == Kind.REPLY:
        assert isinstance(event, events.CommentAdded)
        return _shorten(f"{_name(actor, 'The helpdesk')} replied: {event.body}", TEXT_LENGTH)
    if kind == Kind.STATUS:
        assert isinstance(event, events.TicketStatusChanged)
        return f"{_name(actor, 'The helpdesk')} moved it from {event.previous_status} to {event.status}."
    if kind == Kind.ASSIGNED:
        if isinstance(event, events.TicketRouted):
            return "Routing assigned it to you."
        return f"{_name(actor, 'The helpdesk')} assigned it to you."
    assert isinstance(event, events.TicketEscalated)
    by = f" by {_name(actor, '')}" if actor is not None else ""
    return _shorten(f"Escalated{by}: {event.reason}", TEXT_LENGTH)


def _leads(department_id: str | None) -> Iterable[User]:
    leads = User.objects.filter(role=Role.LEAD, is_active=True)
    return leads.filter(department_id=department_id) if department_id else leads


def recipients(event: events.Event) -> list[Recipient]:
    """Who is told about `event` in person, and what."""
    if not isinstance(event, EVENTS):
        return []
    assert isinstance(event, events.TicketEvent)
    wanted = _wanted(event)
    if not wanted:
        return []
    ids = {user_id for user_id, _ in wanted if user_id != "leads"}
    if event.actor_id:
        ids.add(event.actor_id)
    people = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    actor = people.get(event.actor_id) if event.actor_id else None
    audience = policies.audience(Ticket(requester_id=event.requester_id), event)
    found: list[Recipient] = []
    for user_id, kind in wanted:
        candidates = list(_leads(event.department_id)) if user_id == "leads" else [people.get(user_id)]
        for user in candidates:
            if user is None or not user.is_active or user.pk == event.actor_id:
                continue
            if not audience.reaches(policies.groups_of(user)):
                continue  # the API would not show it to them: nor does a notification
            found.append(Recipient(user=user, kind=kind, text=_text(event, kind, actor), actor=actor))
    return found
