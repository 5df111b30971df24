"""README's AI walk-through, run as written (bash + curl) against a real server with the demo data:
a new ticket is routed before the create response returns, the agent reads the decision and the
possible duplicates, the employee may not, similar search covers only the employee's tickets,
a preview routes without creating anything, and the employee asks the chatbot: an answer citing the
demo article, then the honest no-answer with a ticket offer, which opens a ticket."""

import shutil

import pytest

from tests.e2e.test_readme_walkthrough import run_walkthrough

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as README's walk-through does"),
]


def test_ai_walkthrough(live_server_url, tmp_path):
    lines = run_walkthrough("ai", live_server_url, tmp_path)
    routed, why, forbidden, similar, preview, answered, unanswered, opened = lines
    assert routed.startswith("department: Network | assignee: ") and routed.endswith("| status: open | confident: True")
    assert why.startswith("why: skills match: vpn;") and "'VPN disconnects'" in why
    assert forbidden == "403"
    # Only the employee's own tickets are searched (the demo history is theirs).
    assert similar.startswith("similar: [") and "'VPN disconnects again'" in similar
    assert preview == "would go to: HR Systems | abstain: False | agent: Alex HR Systems Agent"
    assert answered == "answered: True | path: extractive | cites: ['Reset a forgotten password']"
    assert unanswered == ("answered: False | citations: 0 | offer: How do I book a parking space at the Lisbon office?")
    assert opened.startswith("opened: How do I book a parking space at the Lisbon office? |")
