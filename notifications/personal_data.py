"""The notifications part of a person's export and erasure (helpdesk.personal_data; decision 0027).
An erased person's open sockets close like a deactivated user's (notifications.feed hears
user.erased).

Export: their in-app notifications, their email preferences, and the emails queued or sent to them
(the body of an account email is withheld: a reset link in it may still work).
Erasure: those are deleted (an inbox and a mailbox of an account nobody uses any more: a queued
email is never sent), and the notifications and emails of other people that name them (the actor
of a reply, a status change, an assignment: "Ada Lovelace replied: ...") say "[erased]" there.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from helpdesk import personal_data
from helpdesk.personal_data import Subject
from notifications.models import ACCOUNT_EMAIL, EmailPreferences, Notification, OutgoingEmail

# An account email may carry a password-reset link that still works: its body stays out of the file.
WITHHELD = "[withheld: an account email may carry a sign-in link]"
# The kinds of email a person may switch off: the boolean columns of EmailPreferences.
PREFERENCES = [f.name for f in EmailPreferences._meta.get_fields() if isinstance(f, models.BooleanField)]


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def export_notifications(subject: Subject) -> dict[str, Any]:
    me = subject.user_id
    inbox = Notification.objects.filter(user_id=me).order_by("created_at", "id")
    emails = OutgoingEmail.objects.filter(user_id=me).order_by("created_at", "id")
    preferences = EmailPreferences.objects.filter(user_id=me).first()
    return {
        "notifications": [
            {
                "id": n.pk,
                "kind": n.kind,
                "ticket_id": n.ticket_id,
                "ticket_title": n.ticket_title,
                "text": n.text,
                "actor_id": n.actor_id,
                "read": n.read,
                "read_at": _when(n.read_at),
                "created_at": _when(n.created_at),
            }
            for n in inbox
        ],
        # No row: every kind is on (the default).
        "email_preferences": {
            **{kind: preferences.wants(kind) if preferences else True for kind in PREFERENCES},
            "stored": preferences is not None,
        },
        "emails": [
            {
                "id": e.pk,
                "to": e.to,
                "kind": e.kind,
                "subject": e.subject,
                "text": WITHHELD if e.kind == ACCOUNT_EMAIL else e.text,
                "created_at": _when(e.created_at),
                "sent_at": _when(e.sent_at),
            }
            for e in emails
        ],
    }


def erase_notifications(subject: Subject) -> dict[str, int]:
    me = subject.user_id
    counts = {
        "notifications_notification": Notification.objects.filter(user_id=me).delete()[0],
        "notifications_outgoingemail": OutgoingEmail.objects.filter(user_id=me).delete()[0],
        "notifications_emailpreferences": EmailPreferences.objects.filter(user_id=me).delete()[0],
    }
    if subject.pattern() is None:
        return counts
    # What others were told about what the person did.
    told = list(Notification.objects.filter(actor_id=me).values_list("pk", "event_id", "text"))
    for pk, _, text in told:
        scrubbed = subject.scrub(text)
        if scrubbed is not text:
            counts["notifications_notification"] += Notification.objects.filter(pk=pk).update(text=scrubbed)
    mailed = OutgoingEmail.objects.filter(event_id__in={event_id for _, event_id, _ in told})
    for pk, *texts in mailed.values_list("pk", "subject", "text", "html"):
        scrubbed = [subject.scrub(text) for text in texts]
        if scrubbed != texts:
            OutgoingEmail.objects.filter(pk=pk).update(**dict(zip(("subject", "text", "html"), scrubbed, strict=True)))
            counts["notifications_outgoingemail"] += 1
    return counts


def register() -> None:
    personal_data.register("notifications", export=export_notifications, erase=erase_notifications)
