"""The notifications consumers of domain events (helpdesk.dispatch), registered in
NotificationsConfig.ready():

- `notifications.feed`: every ticket event to the live feed's channel-layer groups of its audience
  (and a "removed" to those who lose the ticket); account changes to the user's open sockets.
  Not atomic (a channel-layer send): a repeat is dropped by the sockets and the clients by id.
- `notifications.inbox` (atomic): the in-app notifications of an event, pushed on the feed.
- `notifications.email` (atomic): the event's emails, queued (sent by the job `notifications.send_emails`).
- `notifications.account_email` (atomic): the password-reset email and the notice of an email
  change (to the old address), queued the same way.

docs/events.md lists which event each one hears.
"""

from __future__ import annotations

from helpdesk import dispatch, events
from notifications import account_mail, feed, inbox, mail, recipients


def connect() -> None:
    # First: people watch the feed, while the AI's index may be loading its model.
    dispatch.register("notifications.feed", feed.push, events=[*feed.TICKET_EVENTS, *feed.ACCOUNT_EVENTS], first=True)
    dispatch.register("notifications.inbox", inbox.record, events=recipients.EVENTS, atomic=True)
    dispatch.register("notifications.email", mail.queue, events=recipients.EVENTS, atomic=True)
    dispatch.register(
        "notifications.account_email",
        account_mail.queue,
        events=[events.PasswordResetRequested, events.UserEmailChanged],
        atomic=True,
    )
