"""django-anymail's inbound signal: each provider's webhook (/anymail/<provider>/inbound/), once
anymail has checked its signature or basic auth and parsed it, hands the message here."""

from __future__ import annotations

from anymail.signals import AnymailInboundEvent, inbound

from intake.services import receive

DISPATCH_UID = "intake.receivers.on_inbound"


class TryAgainLater(Exception):
    """Another process is handling this message right now: intake.views answers 503, so the provider
    retries."""


def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    received = receive(event.message, source=esp_name.lower())
    if received.outcome == "busy":
        raise TryAgainLater(f"inbound email {event.message.get('Message-ID')} is being handled")


def connect() -> None:
    inbound.connect(on_inbound, dispatch_uid=DISPATCH_UID)
