"""Email in from a mailbox (on-premises Exchange, Microsoft 365, Gmail, any IMAP server): the
periodic job `intake.poll_mailbox` reads the folder of IMAP_URL, hands each message to
intake.services.receive (the same function as the provider webhooks), and moves it to
IMAP_PROCESSED_FOLDER (created if missing) only once `receive` has committed what it made.

A crash between the commit and the move leaves the message in the folder; the next poll hands it to
`receive` again, which knows its Message-ID (InboundMessage) and makes nothing new, and then it is
moved. A message that fails (the database, the scanner) stays for the next poll.

TLS (imaps://): the server's certificate is verified against the system's CAs, or IMAP_CA_FILE (an
on-premises server signed by the company's own CA); an untrusted one is refused, with that advice.

Sign-in: the user name and password of IMAP_URL (`imaps://user:password@host:993/INBOX`), or
OAuth2 (XOAUTH2: Microsoft 365, Gmail) when IMAP_OAUTH2_TOKEN_URL is set: an access token is fetched
with the refresh token (IMAP_OAUTH2_CLIENT_ID, _CLIENT_SECRET, _REFRESH_TOKEN, _SCOPE) for each poll.
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from anymail.inbound import AnymailInboundMessage
from django.conf import settings
from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted

from intake.services import receive

logger = logging.getLogger(__name__)

SOURCE = "imap"
BATCH = 100  # messages per poll; the rest wait for the next one


@dataclass(frozen=True)
class Mailbox:
    """Where IMAP_URL points."""

    secure: bool
    host: str
    port: int
    user: str
    password: str
    folder: str


@dataclass
class PollReport:
    handled: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    moved: int = 0


def parse_url(url: str) -> Mailbox:
    """`imap://user:password@host:port/FOLDER` or `imaps://...`; the folder defaults to INBOX."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError("IMAP_URL must look like imaps://user:password@host:993/INBOX")
    secure = parts.scheme == "imaps"
    return Mailbox(
        secure=secure,
        host=parts.hostname,
        port=parts.port or (993 if secure else 143),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def oauth2_access_token() -> str:
    """A fresh access token from the OAuth2 token endpoint (the refresh-token grant)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": settings.IMAP_OAUTH2_CLIENT_ID,
        "refresh_token": settings.IMAP_OAUTH2_REFRESH_TOKEN,
    }
    if settings.IMAP_OAUTH2_CLIENT_SECRET:
        form["client_secret"] = settings.IMAP_OAUTH2_CLIENT_SECRET
    if settings.IMAP_OAUTH2_SCOPE:
        form["scope"] = settings.IMAP_OAUTH2_SCOPE
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked in settings (https, or http on loopback)
        settings.IMAP_OAUTH2_TOKEN_URL, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=settings.IMAP_TIMEOUT_SECONDS) as answer:  # noqa: S310 # nosec B310
        token = json.loads(answer.read())["access_token"]
    return str(token)


class UntrustedCertificate(ConnectionError):
    """The IMAP server's TLS certificate is not one this server trusts."""


def connect(mailbox: Mailbox) -> BaseMailBox:
    timeout = settings.IMAP_TIMEOUT_SECONDS
    if mailbox.secure:
        context = ssl.create_default_context(cafile=settings.IMAP_CA_FILE or None)
        try:
            client: BaseMailBox = MailBox(mailbox.host, mailbox.port, timeout=timeout, ssl_context=context)
        except ssl.SSLCertVerificationError as error:
            raise UntrustedCertificate(
                f"The IMAP server {mailbox.host}:{mailbox.port} shows a certificate this server does not trust "
                f"({error.verify_message}). If your own CA signed it, set IMAP_CA_FILE to that CA's PEM file."
            ) from error
    else:
        client = MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=timeout)
    if settings.IMAP_OAUTH2_TOKEN_URL:
        return client.xoauth2(mailbox.user, oauth2_access_token(), initial_folder=mailbox.folder)
    return client.login(mailbox.user, mailbox.password, initial_folder=mailbox.folder)


def poll(*, url: str | None = None, limit: int = BATCH) -> PollReport:
    """One pass over the mailbox folder (the job)."""
    mailbox = parse_url(url or settings.IMAP_URL)
    processed = settings.IMAP_PROCESSED_FOLDER
    report = PollReport()
    with connect(mailbox) as client:
        if not client.folder.exists(processed):
            client.folder.create(processed)
        # One message at a time (bulk=False): a poll holds one message in memory, not a batch of them.
        for fetched in client.fetch("ALL", mark_seen=False, limit=limit, bulk=False):
            try:
                message = AnymailInboundMessage.parse_raw_mime_bytes(fetched.obj.as_bytes())
                received = receive(message, source=SOURCE)
            except Exception:  # this message's problem: it stays for the next poll, the others go on
                logger.exception("Inbound email UID %s in %s failed; it stays there", fetched.uid, mailbox.folder)
                report.failed += 1
                continue
            report.handled[received.outcome] = report.handled.get(received.outcome, 0) + 1
            if received.outcome == "busy" or not fetched.uid:
                continue  # another poller has it right now
            client.move(fetched.uid, processed)
            report.moved += 1
    return report
