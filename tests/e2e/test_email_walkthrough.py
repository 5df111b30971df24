"""docs/walkthroughs.md, "Email in, step by step", run as written (bash + curl) against a demo server
(`make run`'s data) that polls a real IMAP mailbox (dovecot, started by this module as tests/intake
does): an employee's email becomes a ticket, the agent's reply reaches her by email with the signed
reply address, and her answer to it becomes her comment on the ticket, quote and signature stripped.

The server sends its email with the file backend; the walk-through reads the notification from that
folder (MAIL_DIR). Without dovecot installed this module skips locally; CI (.ci/run) sets
HELPDESK_REQUIRE_DOVECOT=1, under which a missing dovecot fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest
from imap_tools import MailBoxUnencrypted

from tests.e2e.test_readme_walkthrough import run_walkthrough
from tests.helpdesk.servers import live_server, prepare_var_dir
from tests.intake import dovecot

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as the walk-through does"),
]


@pytest.fixture
def mailbox():
    if dovecot.DOVECOT is None:
        if os.environ.get("HELPDESK_REQUIRE_DOVECOT"):
            pytest.fail(
                "dovecot is not installed but HELPDESK_REQUIRE_DOVECOT is set (CI): apt-get install dovecot-imapd"
            )
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    running = dovecot.start()
    yield running
    dovecot.stop(running)


@pytest.fixture
def mail_server(tmp_path, mailbox):
    """`make run`'s demo data, served with a mailbox to poll and email written to files."""
    env = {
        "IMAP_URL": mailbox.url(),
        "IMAP_POLL_SECONDS": "5",  # the shortest allowed
        "EMAIL_INTAKE_ADDRESS": "support@example.com",
        "EMAIL_INTAKE_DOMAINS": "example.com",
        "EMAIL_SEND_SECONDS": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "sent-mail"),
    }
    prepare_var_dir(tmp_path / "var", "demo")
    with live_server(tmp_path, env=env) as server:
        yield server


def test_email_walkthrough(mail_server, mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILBOX", mailbox.url())
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "sent-mail"))
    lines = run_walkthrough("email", mail_server.url, tmp_path)
    print("\n".join(lines))
    opened, replied, reply_to, comments = lines
    assert re.fullmatch(
        r"ticket from email: VPN disconnects every few minutes \(sent \d\d:\d\d:\d\d\) \| requester: Emma Employee"
        r" \| description: Since this morning my VPN connection drops every few minutes\.",
        opened,
    ), opened
    assert replied == "agent replied: Does it drop on the office Wi-Fi too, or only at home?"
    assert reply_to == "reply to: support+<ticket>.<token>@example.com | for this ticket: yes"
    assert comments == (
        "comments: [('Alex Network Agent', 'Does it drop on the office Wi-Fi too, or only at home?'), "
        "('Emma Employee', 'Only at home: in the office it stays up all day.')]"
    )
    # Both messages were moved out of the inbox once handled (the processed folder was created for them).
    deadline = time.monotonic() + 10
    while (folders := mailbox_counts(mailbox)) != {"INBOX": 0, "Processed": 2} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert folders == {"INBOX": 0, "Processed": 2}


def mailbox_counts(server) -> dict[str, int]:
    with MailBoxUnencrypted("127.0.0.1", server.port).login(dovecot.USER, dovecot.PASSWORD) as client:
        counts = {}
        for folder in ("INBOX", "Processed"):
            client.folder.set(folder)
            counts[folder] = len(list(client.fetch(headers_only=True, mark_seen=False)))
        return counts
