"""Fixtures for email intake: the intake settings, and emails built as a mail client would send them."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from anymail.inbound import AnymailInboundMessage
from django.core import mail

from notifications import mail as notifications_mail

INTAKE = "support@example.com"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def intake_settings(settings):
    settings.EMAIL_INTAKE_ADDRESS = INTAKE
    settings.EMAIL_INTAKE_DOMAINS = ["example.com"]
    settings.DEFAULT_FROM_EMAIL = "Helpdesk AI <helpdesk@example.com>"
    settings.EMAIL_MESSAGE_ID_DOMAIN = "helpdesk-ai.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def email(
    *,
    sender: str = "Erin Employee <employee@example.com>",
    to: str = INTAKE,
    subject: str = "Printer on floor 3 is jammed",
    text: str = "The printer shows error E-42 since this morning.",
    headers: dict[str, str] | None = None,
    files: tuple[tuple[str, bytes, str], ...] = (),
    message_id: str | None = None,
) -> bytes:
    """An email as a client sends it: text part, optional files, a fresh Message-ID unless given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(idstring=f"t{next(_numbers)}", domain="client.example.org")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    for name, data, content_type in files:
        major, _, minor = content_type.partition("/")
        message.add_attachment(data, maintype=major, subtype=minor, filename=name)
    return message.as_bytes()


def parsed(raw: bytes) -> AnymailInboundMessage:
    return AnymailInboundMessage.parse_raw_mime_bytes(raw)


def notification_to(address: str):
    """Send what is queued; the one email that went to `address` (Django's locmem outbox)."""
    mail.outbox.clear()
    notifications_mail.send_due()
    [sent] = [m for m in mail.outbox if m.to == [address]]
    return sent


def reply_to(notification, *, sender: str, text: str, to: str | None = None, references: bool = True) -> bytes:
    """A reply as a mail client writes it: to the Reply-To, quoting the notification, with the
    notification's Message-ID in In-Reply-To and References."""
    quoted = "\n".join(f"> {line}" for line in notification.body.splitlines())
    header = "On Mon, Dec 7, 2026 at 10:00 AM Helpdesk AI <helpdesk@example.com> wrote:"
    body = f"{text}\n\nBest regards,\nErin\n\n{header}\n{quoted}\n"
    headers = {}
    if references:
        our_id = notification.extra_headers["Message-ID"]
        headers = {"In-Reply-To": our_id, "References": our_id}
    return email(
        sender=sender,
        to=to or notification.reply_to[0],
        subject=f"Re: {notification.subject}",
        text=body,
        headers=headers,
    )
