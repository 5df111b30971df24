"""django-anymail's inbound signal: each provider's webhook (/anymail/<provider>/inbound/), once
anymail has checked its signature or basic auth and parsed it, hands the message here."""

from __future__ import annotations

import logging

from anymail.signals import AnymailInboundEvent, inbound
from django.conf import settings

from intake.services import receive

DISPATCH_UID = "intake.receivers.on_inbound"
logger = logging.getLogger(__name__)


class WebhookNotSecured(Exception):
    """ANYMAIL_WEBHOOK_SECRET is not set: anymail then checks no basic auth (it only warns), and
    anyone could post mail 'from' anyone. Nothing is taken; the 500 makes the provider keep it."""


class TryAgainLater(Exception):
    """Another process is handling this message right now: a 500 makes the provider retry."""


def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        logger.error("Refused an inbound email from %s: set ANYMAIL_WEBHOOK_SECRET (docs/operations.md)", esp_name)
        raise WebhookNotSecured("ANYMAIL_WEBHOOK_SECRET is not set")
    received = receive(event.message, source=esp_name.lower())
    if received.outcome == "busy":
        raise TryAgainLater(f"inbound email {event.message.get('Message-ID')} is being handled")


def connect() -> None:
    inbound.connect(on_inbound, dispatch_uid=DISPATCH_UID)
