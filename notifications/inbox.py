"""In-app notifications: the dispatch consumer `notifications.inbox` writes one Notification per
person an event tells (notifications.recipients), and pushes the new ones on their owners' feeds
once they are committed."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from helpdesk import events
from notifications import feed
from notifications.models import Notification
from notifications.recipients import recipients


def record(event: events.Event) -> None:
    """Atomic consumer: the rows and the delivery record commit together; the unique (event, user)
    pair makes a repeat write nothing on every database."""
    assert isinstance(event, events.TicketEvent)
    made = []
    for each in recipients(event):
        try:
            with transaction.atomic():  # a savepoint: a duplicate leaves the delivery's transaction usable
                made.append(
                    Notification.objects.create(
                        user=each.user,
                        event_id=event.id,
                        kind=each.kind,
                        ticket_id=event.target_id,
                        ticket_title=event.title[:200],
                        text=each.text,
                        actor=each.actor,
                        created_at=event.at,
                    )
                )
        except IntegrityError:
            continue  # written by an earlier delivery of this event
    if made:
        transaction.on_commit(lambda: feed.push_notifications(made), robust=True)
