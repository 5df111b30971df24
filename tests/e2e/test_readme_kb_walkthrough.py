"""README's knowledge-base walk-through, run as written (bash + curl) against a real server with the demo data:
a lead creates, edits twice, reverts and publishes an article; an employee finds it by search and never
finds the agents-only article on the same words."""

import shutil

import pytest

from tests.e2e.test_readme_walkthrough import run_walkthrough

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as README's walk-through does"),
]


def test_kb_walkthrough(live_server_url, tmp_path):
    lines = run_walkthrough("kb", live_server_url, tmp_path)
    assert lines == [
        "version: 2",
        "version: 3",
        "409",
        "history: [(3, 'Wireless'), (2, 'No picture?'), (1, 'Created.')]",
        "version 3 changed: ['body', 'title']",
        "version: 4 | Show your screen in a meeting room",
        "status: published",
        "status: published",
        "employee, first hit: Show your screen in a meeting room | agents-only found: False",
        "agent, top two: ['Meeting room screen shows no picture: reset the display hub', "
        "'Show your screen in a meeting room']",
    ]
