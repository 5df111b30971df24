"""README's ticket walk-through, run as written (bash + curl) against a real server with the demo data."""

import os
import re
import shutil
import subprocess

import pytest

from tests.helpers import ROOT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as README's walk-through does"),
]


def readme_block(name: str) -> str:
    """A walk-through block of docs/walkthroughs.md (README links there)."""
    readme = (ROOT / "docs" / "walkthroughs.md").read_text()
    match = re.search(
        rf"<!-- walkthrough:{name} .*?-->\s*```bash\n(.*?)```\s*<!-- /walkthrough:{name} -->", readme, re.S
    )
    assert match, f"docs/walkthroughs.md has no walk-through named {name}"
    return match.group(1)


def run_walkthrough(name: str, server_url: str, tmp_path) -> list[str]:
    """Run README's walk-through `name` with bash against `server_url`; its output lines.

    In tmp_path: the scratch files README writes to /tmp (e.g. /tmp/ticket.json) go there too,
    so that the run leaves nothing behind and two runs never share one."""
    script = tmp_path / f"{name}-walkthrough.sh"
    script.write_text("set -euo pipefail\n" + readme_block(name).replace("/tmp/", f"{tmp_path}/"))
    result = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env={**os.environ, "SERVER": server_url, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout.splitlines()


def test_tickets_walkthrough(live_server_url, tmp_path):
    lines = run_walkthrough("tickets", live_server_url, tmp_path)
    assert lines[0].startswith("status: new | assignee: None | reply due: 20")
    assert re.fullmatch(r"status: open \| assignee: .+", lines[1])
    assert lines[2].startswith("reply added:") and lines[3].startswith("note added:")
    assert lines[4:6] == ["Mon 09:00 tunnel up", "Mon 10:00 tunnel down: idle timeout"]  # the downloaded file
    assert lines[6] == "employee sees: ['Please install the new VPN pro']"
    assert (
        lines[7] == "agent sees: [('Please install the new VPN pro', False), ('Firewall logs show idle timeou', True)]"
    )
