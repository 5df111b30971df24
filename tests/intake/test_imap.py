"""Email in from a mailbox, against a real IMAP server (dovecot, started for this module): messages
appended to the inbox become tickets and comments and move to the processed folder; a crash between
the commit and the move makes no duplicate; a message that failed stays for the next poll; XOAUTH2
sign-in with a token fetched from an OAuth2 token endpoint.

Without dovecot installed this module skips locally; CI (.ci/run) installs it and sets
HELPDESK_REQUIRE_DOVECOT=1, under which a missing dovecot fails instead.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from imap_tools import BaseMailBox, MailBoxUnencrypted

from intake import imap
from intake.models import InboundMessage
from tests.helpers import delivered
from tests.intake import dovecot
from tests.intake.conftest import email, notification_to, reply_to
from tickets import services
from tickets.models import Ticket

if dovecot.DOVECOT is None:
    if os.environ.get("HELPDESK_REQUIRE_DOVECOT"):
        pytest.fail("dovecot is not installed but HELPDESK_REQUIRE_DOVECOT is set (CI): apt-get install dovecot-imapd")
    pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)", allow_module_level=True)

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "access-token-from-the-token-endpoint"
REFRESH_TOKEN = "refresh-token-issued-at-consent"


class OAuth2(BaseHTTPRequestHandler):
    """The OAuth2 token endpoint (refresh-token grant) and the introspection URL dovecot asks."""

    grants: list[dict] = []

    def do_POST(self):
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        if self.path == "/token":
            OAuth2.grants.append(form)
            good = form.get("grant_type") == "refresh_token" and form.get("refresh_token") == REFRESH_TOKEN
            answer = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600} if good else {}
            self._json(200 if good else 400, answer)
        else:  # /introspect
            good = form.get("token") == ACCESS_TOKEN
            self._json(200, {"active": True, "username": dovecot.USER} if good else {"active": False})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def oauth2_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OAuth2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server(oauth2_server):
    running = dovecot.start(introspection_url=f"{oauth2_server}/introspect")
    yield running
    dovecot.stop(running)


@pytest.fixture
def mailbox(server, settings):
    """The test's IMAP_URL, with an empty inbox and no processed folder."""
    settings.IMAP_URL = server.url()
    settings.IMAP_PROCESSED_FOLDER = "Helpdesk/Processed"
    with MailBoxUnencrypted("127.0.0.1", server.port).login(dovecot.USER, dovecot.PASSWORD) as client:
        client.delete([m.uid for m in client.fetch(headers_only=True, mark_seen=False)])
        for name in ("Helpdesk/Processed", "Helpdesk"):
            if client.folder.exists(name):
                client.folder.delete(name)
    return server


def append(server, *messages: bytes) -> None:
    with MailBoxUnencrypted("127.0.0.1", server.port).login(dovecot.USER, dovecot.PASSWORD) as client:
        for raw in messages:
            client.append(raw, "INBOX")


def subjects(server, folder: str) -> list[str]:
    with MailBoxUnencrypted("127.0.0.1", server.port).login(dovecot.USER, dovecot.PASSWORD) as client:
        if not client.folder.exists(folder):
            return []
        client.folder.set(folder)
        return sorted(m.subject for m in client.fetch(headers_only=True, mark_seen=False))


def poll():
    with delivered():
        return imap.poll()


def test_messages_in_the_inbox_become_a_ticket_and_a_comment_and_move_to_the_processed_folder(people, mailbox):
    with delivered():
        ticket = services.ticket_create(requester=people["employee"], title="VPN drops", description="Hourly")
        services.comment_add(actor=people["lead"], ticket=ticket, body="Which client version?")
    notification = notification_to("employee@example.com")
    append(
        mailbox,
        email(subject="Keyboard missing keys", text="The F and J keys fell off."),
        reply_to(notification, sender="employee@example.com", text="Client 5.2."),
    )

    report = poll()

    assert report.handled == {"ticket": 1, "comment": 1} and report.moved == 2
    new = Ticket.objects.get(title="Keyboard missing keys")
    assert new.requester == people["employee"] and new.description == "The F and J keys fell off."
    ticket.refresh_from_db()
    assert [c["body"] for c in ticket.comments] == ["Which client version?", "Client 5.2."]
    assert subjects(mailbox, "INBOX") == []
    assert len(subjects(mailbox, "Helpdesk/Processed")) == 2  # the folder was made for them


def test_a_crash_between_the_commit_and_the_move_makes_no_duplicate(people, mailbox, monkeypatch):
    append(mailbox, email(subject="Monitor is dead"))
    real_move, calls = BaseMailBox.move, []

    def move_failing_once(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionResetError("the connection dropped after the commit")
        return real_move(self, *args, **kwargs)

    monkeypatch.setattr(BaseMailBox, "move", move_failing_once)
    with pytest.raises(ConnectionResetError):
        poll()
    assert Ticket.objects.filter(title="Monitor is dead").count() == 1
    assert subjects(mailbox, "INBOX") == ["Monitor is dead"]  # not moved: the crash

    report = poll()

    assert report.handled == {"duplicate": 1} and report.moved == 1
    assert Ticket.objects.filter(title="Monitor is dead").count() == 1
    assert subjects(mailbox, "INBOX") == [] and subjects(mailbox, "Helpdesk/Processed") == ["Monitor is dead"]


def test_a_message_that_failed_stays_in_the_inbox_and_is_handled_by_a_later_poll(people, mailbox, settings):
    from tests.helpers import PNG

    settings.CLAMAV_URL = "tcp://127.0.0.1:9"  # nobody listens: the scanner is unavailable, uploads fail closed
    append(mailbox, email(subject="Scanner down", files=(("shot.png", PNG, "image/png"),)))
    report = poll()
    assert report.failed == 1 and report.moved == 0
    assert subjects(mailbox, "INBOX") == ["Scanner down"]

    settings.CLAMAV_URL = ""
    report = poll()
    assert report.handled == {"ticket": 1} and subjects(mailbox, "INBOX") == []
    [ticket] = Ticket.objects.filter(title="Scanner down")
    assert "shot.png" in [a["name"] for a in ticket.attachments]


def test_the_periodic_job_polls_the_mailbox(people, mailbox):
    """The beat table's entry (helpdesk.run_job -> intake.poll_mailbox) reaches the poller."""
    from helpdesk import jobs

    append(mailbox, email(subject="Polled by the job"))
    with delivered():
        assert jobs.run_exclusive("intake.poll_mailbox")
    assert Ticket.objects.filter(title="Polled by the job").exists() and subjects(mailbox, "INBOX") == []


def test_refused_mail_is_moved_out_of_the_way_and_makes_nothing(people, mailbox):
    append(mailbox, email(sender="stranger@elsewhere.example.net", subject="Buy now"))
    assert poll().handled == {"refused": 1}
    assert Ticket.objects.count() == 0 and subjects(mailbox, "INBOX") == []
    assert InboundMessage.objects.get().source == "imap"


def test_xoauth2_sign_in_with_a_token_from_the_token_endpoint(people, mailbox, settings, oauth2_server):
    settings.IMAP_URL = mailbox.url(password=False)
    settings.IMAP_OAUTH2_TOKEN_URL = f"{oauth2_server}/token"
    settings.IMAP_OAUTH2_CLIENT_ID = "helpdesk-client"
    settings.IMAP_OAUTH2_CLIENT_SECRET = "client-secret"
    settings.IMAP_OAUTH2_REFRESH_TOKEN = REFRESH_TOKEN
    settings.IMAP_OAUTH2_SCOPE = "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"
    OAuth2.grants.clear()
    append(mailbox, email(subject="Signed in with OAuth2"))

    assert poll().handled == {"ticket": 1}

    assert Ticket.objects.filter(title="Signed in with OAuth2").exists()
    [grant] = OAuth2.grants
    assert grant["client_id"] == "helpdesk-client" and grant["scope"].startswith("https://outlook")


def test_a_wrong_oauth2_token_signs_nothing_in(people, mailbox, settings, oauth2_server):
    settings.IMAP_URL = mailbox.url(password=False)
    settings.IMAP_OAUTH2_TOKEN_URL = f"{oauth2_server}/token"
    settings.IMAP_OAUTH2_CLIENT_ID = "helpdesk-client"
    settings.IMAP_OAUTH2_REFRESH_TOKEN = REFRESH_TOKEN
    settings.IMAP_OAUTH2_SCOPE = ""
    settings.IMAP_OAUTH2_CLIENT_SECRET = ""
    append(mailbox, email(subject="Never read"))
    real = imap.oauth2_access_token
    imap_token = lambda: real() + "-tampered"  # noqa: E731
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(imap, "oauth2_access_token", imap_token)
        with pytest.raises(Exception, match="AUTHENTICATIONFAILED"):  # dovecot asked the introspection URL
            poll()
    assert Ticket.objects.count() == 0 and subjects(mailbox, "INBOX") == ["Never read"]


# --- IMAPS: TLS with the server's certificate checked --------------------------------------------------


@pytest.fixture(scope="module")
def tls_server():
    running = dovecot.start(tls=True)
    yield running
    dovecot.stop(running)


@pytest.fixture
def tls_mailbox(tls_server, settings):
    settings.IMAP_URL = tls_server.imaps_url()
    settings.IMAP_PROCESSED_FOLDER = "Processed"
    with MailBoxUnencrypted("127.0.0.1", tls_server.port).login(dovecot.USER, dovecot.PASSWORD) as client:
        client.delete([m.uid for m in client.fetch(headers_only=True, mark_seen=False)])
    return tls_server


def test_imaps_with_the_servers_ca_reads_the_mailbox_over_tls(people, tls_mailbox, settings):
    settings.IMAP_CA_FILE = str(tls_mailbox.ca_file)
    append(tls_mailbox, email(subject="Docking station over TLS"))

    report = poll()

    assert report.handled == {"ticket": 1} and report.moved == 1
    assert Ticket.objects.get().title == "Docking station over TLS"  # read through the TLS-only port


def test_imaps_refuses_a_certificate_it_does_not_trust_and_reads_nothing(people, tls_mailbox, settings):
    settings.IMAP_CA_FILE = ""  # the system's CAs only: the test server's own certificate is not among them
    append(tls_mailbox, email(subject="Should stay in the inbox"))

    with pytest.raises(imap.UntrustedCertificate, match="IMAP_CA_FILE"):
        poll()

    assert Ticket.objects.count() == 0 and InboundMessage.objects.count() == 0
    assert subjects(tls_mailbox, "INBOX") == ["Should stay in the inbox"]
