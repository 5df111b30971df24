"""README's live-feed walk-through, run as written (bash + curl + README's Python client) against a real
server with the demo data, as `make run` serves it (SQLite, in-memory channel layer, jobs in-process,
console email): the agent's socket shows the employee's new ticket within a second, the employee's
socket never shows the internal note, the employee gets an in-app notification and an email for the
public reply, the Network lead reads the ticket's audit trail, and the demo's overdue ticket was
escalated by the server's own SLA job, with no command."""

from __future__ import annotations

import re
import shutil
import sys
import time

import pytest

from tests.e2e.test_readme_walkthrough import run_walkthrough
from tests.helpdesk.servers import ROOT, live_server, prepare_var_dir

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as README's walk-through does"),
]


def readme_client() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- feed-client .*?-->\s*```python\n(.*?)```", readme, re.S)
    assert match, "README.md has no feed client"
    return match.group(1)


def test_the_readme_client_is_ten_lines():
    code = [line for line in readme_client().splitlines() if line.strip()]
    assert len(code) <= 10, code


@pytest.fixture
def demo_server(tmp_path):
    """`make run`'s server: migrated, seeded, then started (its jobs run in-process)."""
    env = {"EMAIL_SEND_SECONDS": "1", "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    prepare_var_dir(tmp_path / "var", "demo")
    with live_server(tmp_path, env=env) as server:
        yield server


def test_feed_walkthrough(demo_server, tmp_path, monkeypatch):
    (tmp_path / "feed.py").write_text(readme_client())
    monkeypatch.setenv("PY", sys.executable)  # README's client needs the project's packages (websockets)
    lines = run_walkthrough("feed", demo_server.url, tmp_path)
    print("\n".join(lines))  # the measured delivery time, in the run's output (-s)
    shown, feed, notified, unread, trail, escalated = lines
    milliseconds = int(re.fullmatch(r"agent's feed showed ticket.created (\d+) ms after the POST was sent", shown)[1])
    assert milliseconds < 1000, shown
    assert feed == "employee's feed: hello ticket.created comment.added notification.created | note seen: 0"
    assert notified == "notified: [('reply', 'Alex Network Agent replied: Fixed: please try printing again.')]"
    assert unread == "unread: 1"
    assert trail == (
        "audit trail: [('ticket.created', 'Emma Employee'), ('comment.added', 'Alex Network Agent'), "
        "('comment.added', 'Alex Network Agent')]"
    )
    assert escalated == "escalated: ['Switch in the second-floor comms room keeps beeping']"
    # The email, printed by the console backend in the server's output once the job sent it.
    deadline = time.monotonic() + 30
    while "New reply on your ticket" not in demo_server.log() and time.monotonic() < deadline:
        time.sleep(0.5)
    log = re.sub(r"\n[ \t]+", " ", demo_server.log())  # long headers are folded over lines
    reply = log[log.index("Subject: [Helpdesk AI] New reply on your ticket: Printer on floor 2 is offline") :]
    assert "To: employee@example.com" in reply.split("\n\n", 1)[0]
    assert "Fixed: please try printing again." in reply
    assert "VLAN" not in log  # the internal note is in no email
    # The escalation told the Network lead by email too.
    assert "Subject: [Helpdesk AI] Escalated: Switch in the second-floor comms room keeps beeping" in log
    assert "To: lead.network@example.com" in log
