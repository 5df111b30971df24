"""README's walk-through for agents and leads, run as written (bash + curl) against a real server
with the demo data: a draft reply citing the demo article, a summary, an edited draft rated with its
edit distance, the lead's statistics, and a knowledge gap found from two new tickets."""

import shutil

import pytest

from tests.e2e.test_readme_walkthrough import run_walkthrough

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as README's walk-through does"),
]


def test_ai_agent_walkthrough(live_server_url, tmp_path):
    lines = run_walkthrough("ai-agent", live_server_url, tmp_path)
    drafted, summary, rated, stats, gaps = lines
    assert drafted == "path: extractive | cites: ['The VPN keeps disconnecting']"
    assert summary == "Open question: VPN keeps dropping"
    assert rated == "verdict: edited | words changed: 1"  # "Best" -> "Kind"
    assert stats.startswith("drafts: [('extractive', ") and stats.endswith("| routing accuracy: 1.0")
    assert gaps == "gaps: 1 | largest: [(2, 'Wi-Fi drops in meeting room 3')]"
