"""README's AI walk-through, run as written (bash + curl) against a real server with the demo data:
a new ticket is routed before the create response returns, the agent reads the decision and the
possible duplicates, the employee may not, similar search covers only the employee's tickets,
and a preview routes without creating anything."""

import os
import shutil
import subprocess

import pytest

from tests.e2e.test_readme_walkthrough import readme_block

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as README's walk-through does"),
]


def test_ai_walkthrough(live_server_url, tmp_path):
    script = tmp_path / "ai-walkthrough.sh"
    script.write_text("set -euo pipefail\n" + readme_block("ai"))
    result = subprocess.run(
        ["bash", str(script)],
        env={**os.environ, "SERVER": live_server_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    routed, why, forbidden, similar, preview = result.stdout.splitlines()
    assert routed.startswith("department: Network | assignee: ") and routed.endswith("| status: open | confident: True")
    assert why.startswith("why: skills match: vpn;") and "'VPN disconnects'" in why
    assert forbidden == "403"
    # Only the employee's own tickets are searched (the demo history is theirs).
    assert similar.startswith("similar: [") and "'VPN disconnects again'" in similar
    assert preview == "would go to: HR Systems | abstain: False | agent: Alex HR Systems Agent"
