"""Emails about one's account: the password-reset link, and the notice that the sign-in email
changed. The dispatch consumer `notifications.account_email` (atomic) of
`user.password_reset_requested` and `user.email_changed`.

The event holds no token: the link is made here, when the email is queued, from the account as it is
then (accounts.tokens), and only for an active account; for an unknown or inactive address nothing
is queued, while the request was answered the same either way (accounts.services). The email is an
OutgoingEmail like every other and is sent by the same job (notifications.mail): no request waits for
the provider, and a failure is retried. No preference switches it off. The queued row holds the link
until it is purged; the link itself dies at first use, at the next sign-in, and after
PASSWORD_RESET_TIMEOUT (an hour by default).

The notice of an email change goes to the address the account used before (the event's
`previous_email`), whatever the account's state: if someone took the account over by changing its
address, its owner learns of it there. It says who changed it, from what to what, and when; it
holds no link to act on, no token and no password (docs/decisions/0026).
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from accounts.models import User
from accounts.tokens import password_reset_token
from helpdesk import events
from notifications import mail
from notifications.models import ACCOUNT_EMAIL, OutgoingEmail

SUBJECT = f"{mail.SUBJECT_PREFIX} Reset your password"
EMAIL_CHANGED_SUBJECT = f"{mail.SUBJECT_PREFIX} The sign-in email of your account changed"
CONFIRM_PATH = "/api/v1/auth/password/reset/confirm/"


def render(user: User) -> tuple[str, str]:
    """(text, html) of the reset email for `user`, with a fresh link."""
    uid, token = password_reset_token(user)
    context = {
        "name": user.get_short_name(),
        "uid": uid,
        "token": token,
        "link": settings.PASSWORD_RESET_URL.format(uid=uid, token=token) if settings.PASSWORD_RESET_URL else "",
        "confirm_url": settings.SITE_URL.rstrip("/") + CONFIRM_PATH,
        "minutes": max(settings.PASSWORD_RESET_TIMEOUT // 60, 1),
    }
    return (
        render_to_string("notifications/email/password_reset.txt", context),
        render_to_string("notifications/email/password_reset.html", context),
    )


def render_email_changed(event: events.UserEmailChanged, user: User) -> tuple[str, str]:
    """(text, html) of the notice to the old address that `user`'s sign-in email changed."""
    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    context = {
        "name": user.first_name or event.previous_email,
        "previous_email": event.previous_email,
        "email": event.email,
        "actor": actor.get_full_name() if actor is not None else "an administrator",
        "at": event.at,
    }
    return (
        render_to_string("notifications/email/email_changed.txt", context),
        render_to_string("notifications/email/email_changed.html", context),
    )


def queue(event: events.Event) -> None:
    """The dispatch consumer `notifications.account_email`."""
    if isinstance(event, events.PasswordResetRequested):
        user = User.objects.filter(pk=event.target_id, is_active=True).first() if event.target_id else None
        if user is None or not user.email:
            return
        _store(event, user=user, to=user.email, subject=SUBJECT, rendered=render(user))
    elif isinstance(event, events.UserEmailChanged):
        user = User.objects.filter(pk=event.target_id).first()
        if user is None or not event.previous_email:
            return  # deleted since: nobody's account to warn about
        _store(
            event,
            user=user,
            to=event.previous_email,
            subject=EMAIL_CHANGED_SUBJECT,
            rendered=render_email_changed(event, user),
        )


def _store(event: events.Event, *, user: User, to: str, subject: str, rendered: tuple[str, str]) -> None:
    text, html = rendered
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the delivery's transaction usable
            OutgoingEmail.objects.create(
                event_id=event.id, user=user, to=to, kind=ACCOUNT_EMAIL, subject=subject, text=text, html=html
            )
    except IntegrityError:
        return  # queued by an earlier delivery of this event
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(mail._send_soon, robust=True)
