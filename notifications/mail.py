"""Email: queued by the dispatch consumer `notifications.email`, sent by a job, never lost.

- Queue (`queue`, an atomic consumer): one OutgoingEmail per person an event tells
  (notifications.recipients) who has not switched that kind off (EmailPreferences), rendered from
  `notifications/email/<kind>.txt` and `.html` then. The HTML is autoescaped: a comment's HTML shows
  as text, never as markup. The unique (event, user) pair makes a redelivery queue nothing new.
- Send (`send_due`, the job `notifications.send_emails`): every EMAIL_SEND_SECONDS, and right after
  the commit on a Celery worker when there is a broker. Each email is claimed (a lease), sent through
  the configured backend (a django-anymail provider: SendGrid, Mailgun, Postmark, Amazon SES, ...;
  or Django's console, file or SMTP backend, e.g. Elastic Email's SMTP relay) and marked sent. A
  failure leaves it queued with a backoff (10 s doubling to an hour); a provider that is down is
  retried until it answers. At least once: a crash between the
  provider's answer and the mark sends it again, with the same Message-ID.
No request waits for a provider: without a broker the job runs in the ASGI server's jobs thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk import dispatch, events
from intake import threads
from notifications.models import EmailPreferences, Kind, OutgoingEmail
from notifications.recipients import Recipient, recipients

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[Helpdesk AI]"
SEND_BATCH = 100
LEASE_SECONDS = 120
GIVE_UP_BATCH_AFTER = 3  # consecutive failures in one run: the provider is down, stop hammering it


def _one_line(text: str, length: int = 150) -> str:
    text = " ".join(str(text).split())  # no newline may reach a header
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _subject(event: events.TicketEvent, kind: str) -> str:
    title = _one_line(event.title, 120)
    subjects = {
        Kind.REPLY: f"New reply on your ticket: {title}",
        Kind.STATUS: f"Your ticket is now {event.status}: {title}",
        Kind.ASSIGNED: f"Assigned to you: {title}",
        Kind.ESCALATED: f"Escalated: {title}",
    }
    return f"{SUBJECT_PREFIX} {subjects[kind]}"


def render(event: events.TicketEvent, recipient: Recipient) -> tuple[str, str, str]:
    """(subject, text, html) of the email telling `recipient` about `event`."""
    site = settings.SITE_URL.rstrip("/")
    actor = recipient.actor
    context = {
        "kind": recipient.kind,
        "name": recipient.user.get_short_name(),
        "actor": (actor.get_full_name() or actor.email) if actor is not None else "",
        "ticket_id": event.target_id,
        "title": event.title,
        "status": event.status,
        "priority": event.priority,
        "previous_status": getattr(event, "previous_status", ""),
        "body": event.body if isinstance(event, events.CommentAdded) and not event.internal else "",
        "reason": getattr(event, "reason", ""),
        "routed": isinstance(event, events.TicketRouted),
        "ticket_url": f"{site}/api/v1/tickets/{event.target_id}/",
        "preferences_url": f"{site}/api/v1/notifications/email-preferences/",
        "replies_comment": bool(settings.EMAIL_INTAKE_ADDRESS),  # intake threads a reply to the ticket
    }
    template = f"notifications/email/{recipient.kind}"
    return (
        _subject(event, recipient.kind),
        render_to_string(f"{template}.txt", context),
        render_to_string(f"{template}.html", context),
    )


def queue(event: events.Event) -> None:
    """The dispatch consumer `notifications.email` (atomic): queue the event's emails."""
    assert isinstance(event, events.TicketEvent)
    told = [each for each in recipients(event) if each.user.email]
    if not told:
        return
    preferences = {p.user_id: p for p in EmailPreferences.objects.filter(user__in=[each.user for each in told])}
    queued = 0
    for each in told:
        chosen = preferences.get(each.user.pk)
        if chosen is not None and not chosen.wants(each.kind):
            continue
        subject, text, html = render(event, each)
        try:
            with transaction.atomic():  # a savepoint: a duplicate leaves the delivery's transaction usable
                OutgoingEmail.objects.create(
                    event_id=event.id,
                    user=each.user,
                    to=each.user.email,
                    kind=each.kind,
                    subject=subject,
                    text=text,
                    html=html,
                    thread=threads.thread_tag(ticket_id=event.target_id, user_id=each.user.pk),
                )
        except IntegrityError:
            continue  # queued by an earlier delivery of this event
        queued += 1
    if queued and not settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(_send_soon, robust=True)


def _send_soon() -> None:
    """With a broker: send on a worker now rather than at the job's next tick."""
    from notifications import tasks

    try:
        tasks.send_emails.delay()
    except Exception as error:  # the broker is down: the job sends them when it runs
        logger.warning("Could not queue sending email (%s: %s); the job will send it", type(error).__name__, error)


# --- Sending -----------------------------------------------------------------------------------


@dataclass
class Report:
    sent: int = 0
    failed: int = 0


def _claim(pk: str, now: datetime) -> OutgoingEmail | None:
    claimed = (
        OutgoingEmail.objects.filter(pk=pk, sent_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return OutgoingEmail.objects.filter(pk=pk).first() if claimed else None


def _message(row: OutgoingEmail, connection) -> AnymailMessage:
    reply_to = threads.reply_address(row.thread)
    message = AnymailMessage(
        subject=row.subject,
        body=row.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to],
        connection=connection,
        reply_to=[reply_to] if reply_to else None,
        # The same id on every attempt: a message sent twice after a crash reads as one. Its domain
        # is EMAIL_MESSAGE_ID_DOMAIN, so intake knows our own mail when it comes back (a loop), and
        # it carries the thread tag, so a reply's In-Reply-To names its ticket (intake.threads).
        headers={
            "Message-ID": threads.message_id(email_id=row.pk, tag=row.thread),
            "Auto-Submitted": "auto-generated",
        },
        tags=[row.kind],
        metadata={"email_id": row.pk, "event_id": row.event_id},
    )
    message.attach_alternative(row.html, "text/html")
    return message


def send_due(*, limit: int = SEND_BATCH, now: datetime | None = None) -> Report:
    """Send the queued emails that are due (the job). Failures are retried later, with backoff."""
    now = now or timezone.now()
    report = Report()
    due = list(
        OutgoingEmail.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return report
    connection = get_connection(fail_silently=False)
    failures_in_a_row = 0
    try:
        for pk in due:
            row = _claim(pk, now)
            if row is None:
                continue  # another sender has it, or sent it
            try:
                _message(row, connection).send()
            except Exception as error:  # the provider's problem: retried later, the others go on
                report.failed += 1
                failures_in_a_row += 1
                _failed(row, error)
                if failures_in_a_row >= GIVE_UP_BATCH_AFTER:
                    break
                continue
            failures_in_a_row = 0
            OutgoingEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now(), claimed_until=None, last_error="")
            report.sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection: nothing more to lose
            logger.debug("Closing the mail connection failed", exc_info=True)
    return report


def _failed(row: OutgoingEmail, error: Exception) -> None:
    attempts = row.attempts + 1
    level = logging.ERROR if attempts >= settings.OUTBOX_ALERT_ATTEMPTS else logging.WARNING
    logger.log(
        level,
        "Sending email %s (%s) failed on attempt %d (%s: %s); it stays queued",
        row.pk,
        row.kind,
        attempts,
        type(error).__name__,
        error,
    )
    OutgoingEmail.objects.filter(pk=row.pk).update(
        attempts=attempts,
        next_attempt_at=timezone.now() + dispatch.backoff(attempts),
        last_error=f"{type(error).__name__}: {error}"[:4000],
        claimed_until=None,
    )


def purge_sent(*, now: datetime | None = None) -> int:
    """Forget emails sent longer ago than the outbox keeps events (OUTBOX_RETENTION_DAYS)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    deleted, _ = OutgoingEmail.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
