"""Receiving one email: the one function both paths call (provider webhooks through
intake.receivers, the IMAP mailbox through intake.imap).

`receive` decides, in this order:
1. A message already handled (its Message-ID, or a hash of it, in InboundMessage) is not handled
   again: a provider's retry or a second poll makes nothing new.
2. Auto-replies, bounces and loops (Auto-Submitted, Precedence bulk/junk/list, delivery reports, a
   Message-ID of ours, mail from our own addresses) and what the provider calls spam are refused.
3. The sender is an active user, or an address of EMAIL_INTAKE_DOMAINS, for which an employee
   account is made (no usable password); anyone else is refused.
4. A reply to a notification (its thread tag in the reply address, else in In-Reply-To/References,
   intake.threads) is a comment by the sender, only when the tag was issued to the sender and the
   tickets policy lets them comment; a tag that is not theirs is refused, never a new ticket.
   Anything else opens a ticket as the sender.
The text is stripped of quoted history and signatures (mail-parser-reply); the attachments go
through tickets.services.attachment_add (size, zip guard, sniffed type, malware scan; a refused
file is logged and left out; a scanner that does not answer fails the whole message, to be retried),
and the original message is kept beside them as an .eml. Every write is the tickets service's, so routing,
the live feed, notifications and audit hear of it as of an API write. Refusals are logged and
recorded, never raised.
"""

from __future__ import annotations

import hashlib
import html
import logging
from dataclasses import dataclass
from datetime import timedelta
from email import encoders
from email.utils import getaddresses

from anymail.inbound import AnymailInboundMessage
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import strip_tags
from mailparser_reply import EmailReplyParser

from accounts.models import User, normalize_email
from accounts.services import user_create_from_email
from helpdesk.errors import DomainError
from helpdesk.files import ScannerUnavailable
from intake import threads
from intake.models import InboundMessage, Outcome
from tickets import policies
from tickets.models import Ticket
from tickets.schemas import MAX_COMMENT_LENGTH
from tickets.services import attachment_add, comment_add, ticket_create

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300  # a handler that died mid-message (MongoDB: no transaction) is taken over after this
TITLE_LENGTH = 200
DESCRIPTION_LENGTH = 20_000
ORIGINAL_TYPES = ("message/rfc822", "text/plain")  # what libmagic calls an .eml
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
ROBOT_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")


@dataclass(frozen=True)
class Received:
    """What became of a message: `ticket`, `comment`, `refused`, `duplicate` (handled before), or
    `busy` (another process is handling it right now: try again later)."""

    outcome: str
    ticket_id: str = ""
    reason: str = ""


class _Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def receive(message: AnymailInboundMessage, *, source: str) -> Received:
    """Turn one inbound email into a ticket or a comment, or refuse it (see the module). The
    provider's spam verdict and envelope recipient are the message's attributes (anymail sets them;
    a message read from a mailbox has none, and its X-Spam-Flag header is read instead)."""
    key = message_key(message)
    sender = _sender(message)
    record = _claim(key, source=source, sender=sender, subject=str(message.subject or ""))
    if isinstance(record, Received):
        return record
    try:
        # On SQL the account, the ticket, its events and the outcome commit together or not at all; a
        # crash before the commit leaves only the claim, which the next delivery takes over.
        with transaction.atomic():
            _screen(message, sender)
            user = _author(message, sender)
            received = _handle(message, user)
            _finish(record, received)
    except _Refused as refusal:
        logger.warning("Refused inbound email %s from %r via %s: %s", key, sender, source, refusal.reason)
        received = Received(Outcome.REFUSED, reason=refusal.reason)
        _finish(record, received)
    except BaseException:
        InboundMessage.objects.filter(pk=record.pk, outcome=Outcome.PROCESSING).update(claimed_until=None)
        raise
    return received


def message_key(message: AnymailInboundMessage) -> str:
    """What identifies a message across retries: its Message-ID, else a hash of its bytes."""
    message_id = " ".join(str(message.get("Message-ID") or "").split())
    if message_id:
        return message_id[:255]
    return "sha256:" + hashlib.sha256(message.as_bytes()).hexdigest()


def _sender(message: AnymailInboundMessage) -> str:
    found = message.from_email
    if found is None or isinstance(found, list):
        return ""  # none, or several From: nobody to act as
    return normalize_email(found.addr_spec)


# --- The record of handled messages -----------------------------------------------------------------


def _claim(key: str, *, source: str, sender: str, subject: str) -> InboundMessage | Received:
    now = timezone.now()
    lease = now + timedelta(seconds=LEASE_SECONDS)
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(
                key=key, source=source[:40], sender=sender[:254], subject=subject[:255], claimed_until=lease
            )
    except IntegrityError:
        pass
    existing = InboundMessage.objects.filter(key=key).first()
    if existing is None:
        return Received("busy")
    if existing.outcome != Outcome.PROCESSING:
        logger.info("Inbound email %s was handled already (%s)", key, existing.outcome)
        return Received("duplicate", ticket_id=existing.ticket_id)
    # A handler that failed or died: take it over, one taker only (a conditional update).
    taken = (
        InboundMessage.objects.filter(pk=existing.pk, outcome=Outcome.PROCESSING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=lease, source=source[:40])
    )
    return existing if taken else Received("busy")


def _finish(record: InboundMessage, received: Received) -> None:
    InboundMessage.objects.filter(pk=record.pk).update(
        outcome=received.outcome, ticket_id=received.ticket_id, reason=received.reason[:255], claimed_until=None
    )


# --- Screening --------------------------------------------------------------------------------------


def _screen(message: AnymailInboundMessage, sender: str) -> None:
    """Refuse what must never become a ticket or a comment."""
    if not sender:
        raise _Refused("no single From address")
    auto = str(message.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        raise _Refused(f"auto-submitted ({auto})")
    precedence = str(message.get("Precedence") or "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        raise _Refused(f"precedence {precedence}")
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        raise _Refused("auto-reply")
    if message.get_content_type() == "multipart/report" or sender.startswith(ROBOT_SENDERS):
        raise _Refused("delivery report or robot sender")
    if threads.is_ours(str(message.get("Message-ID") or "")):
        raise _Refused("our own message came back (loop)")
    if sender in _our_addresses():
        raise _Refused("sent from our own address (loop)")
    spam_detected, spam_score = message.spam_detected, message.spam_score
    if spam_detected is None and str(message.get("X-Spam-Flag") or "").strip().lower() == "yes":
        spam_detected = True  # a mailbox's own filter (SpamAssassin's header)
    if spam_detected:
        raise _Refused("spam (the provider's verdict)")
    if spam_score is not None and spam_score >= settings.EMAIL_INTAKE_SPAM_SCORE:
        raise _Refused(f"spam (score {spam_score})")


def _our_addresses() -> set[str]:
    ours = [settings.EMAIL_INTAKE_ADDRESS, settings.DEFAULT_FROM_EMAIL]
    return {normalize_email(addr) for _name, addr in getaddresses(ours) if addr}


def _author(message: AnymailInboundMessage, sender: str) -> User:
    """The person the message is from: a user, or a new employee of an allowed domain."""
    user = User.objects.filter(email=sender).first()
    if user is not None:
        if not user.is_active:
            raise _Refused("the sender's account is deactivated")
        return user
    domain = sender.rpartition("@")[2]
    if domain not in settings.EMAIL_INTAKE_DOMAINS:
        raise _Refused("unknown sender outside EMAIL_INTAKE_DOMAINS")
    name = message.from_email.display_name if message.from_email else ""
    first, _, last = " ".join(str(name or "").split()).partition(" ")
    user = user_create_from_email(email=sender, first_name=first, last_name=last)
    logger.info("Made an employee account for %s, who wrote to the helpdesk", sender)
    return user


# --- Tickets and comments ------------------------------------------------------------------------


def _handle(message: AnymailInboundMessage, user: User) -> Received:
    thread = _thread(message, user)
    text = _text(message)
    if thread is not None:
        ticket = Ticket.objects.filter(pk=thread.ticket_id, deleted_at__isnull=True).first()
        if ticket is None or not policies.can_comment(user, ticket):
            raise _Refused("a reply to a ticket the sender may not comment on")
        comment_add(actor=user, ticket=ticket, body=(text or "(no text)")[:MAX_COMMENT_LENGTH])
        _attach(message, user, ticket)
        return Received(Outcome.COMMENT, ticket_id=ticket.pk)
    title = " ".join(str(message.subject or "").split())[:TITLE_LENGTH] or "(no subject)"
    ticket = ticket_create(requester=user, title=title, description=text[:DESCRIPTION_LENGTH] or title)
    _attach(message, user, ticket)
    return Received(Outcome.TICKET, ticket_id=ticket.pk)


def _thread(message: AnymailInboundMessage, user: User) -> threads.Thread | None:
    """The ticket this message replies to, checked against the sender; None for a new ticket."""
    recipients = [str(v) for h in ("To", "Cc", "Delivered-To", "X-Original-To") for v in message.get_all(h) or []]
    by_address = threads.from_addresses([str(message.envelope_recipient or ""), *recipients])
    if by_address is not None:
        if not by_address.issued_to(user.pk):
            raise _Refused("the reply address was issued to someone else, or forged")
        return by_address
    referenced = threads.from_references(
        [str(v) for h in ("In-Reply-To", "References") for v in message.get_all(h) or []]
    )
    for each in referenced:
        if each.issued_to(user.pk):
            return each
    if referenced:
        raise _Refused("a reply to a notification sent to someone else")
    return None


def _text(message: AnymailInboundMessage) -> str:
    """The new part of the message: the text part (or the HTML's text), without quoted history
    and signature; the whole text when stripping would leave nothing."""
    text = message.text or html.unescape(strip_tags(message.html or ""))
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    replies = EmailReplyParser(languages=settings.EMAIL_INTAKE_LANGUAGES).read(text).replies
    stripped = (replies[0].body or "").strip() if replies else ""  # the newest part, its signature cut
    return (stripped or text)[:DESCRIPTION_LENGTH]


def _attach(message: AnymailInboundMessage, user: User, ticket: Ticket) -> None:
    """The message's files, then the original message, each through the upload checks; a refused
    file is logged and left out (the ticket or comment stands)."""
    for part in message.attachments:
        uploaded = part.as_uploaded_file()
        if uploaded is not None:
            _attach_one(user, ticket, uploaded)
    original = SimpleUploadedFile("original-message.eml", _as_eml(message), "message/rfc822")
    _attach_one(user, ticket, original, allowed_types=[*settings.ATTACHMENT_ALLOWED_TYPES, *ORIGINAL_TYPES])


def _as_eml(message: AnymailInboundMessage) -> bytes:
    """The message as a file. A message a provider sent as parsed fields (Postmark's JSON) was put
    together by anymail with its files' bytes raw in the MIME: those parts are base64-encoded, so
    that the .eml is the text any mail program opens (and sniffs as message/rfc822)."""
    for part in message.walk():
        if not part.is_multipart() and part.is_attachment() and "Content-Transfer-Encoding" not in part:
            part.set_payload(part.get_content_bytes())
            encoders.encode_base64(part)
    return message.as_bytes()


def _attach_one(user: User, ticket: Ticket, uploaded, *, allowed_types: list[str] | None = None) -> None:
    try:
        attachment_add(actor=user, ticket=ticket, uploaded=uploaded, allowed_types=allowed_types)
    except ScannerUnavailable:
        raise  # as an upload would be: nothing is kept, the message is handled again later
    except DomainError as refusal:
        logger.warning(
            "Left out the attachment %r of an email on ticket %s: %s (%s)",
            uploaded.name,
            ticket.pk,
            refusal.code,
            refusal,
        )
