"""Threading of email replies: the reply address and Message-ID our notification emails carry.

A notification to person P about ticket T says `Reply-To: <local>+T.<token>@<domain>` (the address
of EMAIL_INTAKE_ADDRESS, plus-addressed) and has `Message-ID: <email-id.T.<token>@<message-id
domain>>`. The token is Django's salted HMAC (SECRET_KEY) over T and P's id: it binds the ticket AND
the recipient, so a reply is a comment only when it comes from the person it was sent to, and a
token copied into another person's mail, or a forged `From` without it, proves nothing. The
Message-ID carries the same token because a reply that lost the Reply-To still quotes it in
`In-Reply-To`/`References`: the second clue, checked the same way. See docs/security.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "helpdesk.intake.reply-address"
TOKEN_LENGTH = 24  # hex characters: 96 bits of the HMAC-SHA256
_THREAD = re.compile(rf"([0-9a-f]{{24}})\.([0-9a-f]{{{TOKEN_LENGTH}}})")


@dataclass(frozen=True)
class Thread:
    """What an address or Message-ID says: this ticket, for the person the token names."""

    ticket_id: str
    token: str

    def issued_to(self, user_id: str) -> bool:
        return constant_time_compare(self.token, token(ticket_id=self.ticket_id, user_id=user_id))


def token(*, ticket_id: str, user_id: str) -> str:
    return salted_hmac(SALT, f"{ticket_id}:{user_id}", algorithm="sha256").hexdigest()[:TOKEN_LENGTH]


def thread_tag(*, ticket_id: str, user_id: str) -> str:
    """`T.<token>`: what the reply address and the Message-ID carry for one ticket and person."""
    return f"{ticket_id}.{token(ticket_id=ticket_id, user_id=user_id)}"


def reply_address(tag: str) -> str:
    """The Reply-To of a notification email with thread tag `tag`; "" when intake has no address."""
    address = settings.EMAIL_INTAKE_ADDRESS
    if not address or not tag:
        return ""
    local, _, domain = address.rpartition("@")
    return f"{local}+{tag}@{domain}"


def message_id(*, email_id: str, tag: str) -> str:
    """The Message-ID of one outgoing email: stable across retries, recognisably ours."""
    middle = f"{email_id}.{tag}" if tag else email_id
    return f"<{middle}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def is_ours(message_id_header: str) -> bool:
    """Whether a Message-ID was made by us (mail we sent, coming back: a loop)."""
    return message_id_header.strip().strip("<>").lower().endswith("@" + settings.EMAIL_MESSAGE_ID_DOMAIN.lower())


def from_addresses(headers: list[str]) -> Thread | None:
    """The thread named by a plus-address of EMAIL_INTAKE_ADDRESS among recipient headers."""
    address = settings.EMAIL_INTAKE_ADDRESS.lower()
    if not address:
        return None
    local, _, domain = address.rpartition("@")
    for _name, each in getaddresses(headers):
        each_local, _, each_domain = each.lower().rpartition("@")
        base, plus, tag = each_local.partition("+")
        if each_domain == domain and base == local and plus:
            found = _THREAD.fullmatch(tag)
            if found:
                return Thread(found[1], found[2])
    return None


def from_references(headers: list[str]) -> list[Thread]:
    """The threads named by our Message-IDs in In-Reply-To / References, most recent first."""
    domain = re.escape(settings.EMAIL_MESSAGE_ID_DOMAIN.lower())
    pattern = re.compile(rf"<[0-9a-f]{{24}}\.([0-9a-f]{{24}})\.([0-9a-f]{{{TOKEN_LENGTH}}})@{domain}>")
    found = [Thread(m[1], m[2]) for header in headers for m in pattern.finditer(header.lower())]
    return list(reversed(found))
