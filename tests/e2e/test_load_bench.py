"""bench/load.py, the load test of docs/reliability.md: its lost-write check finds a lost write, and
the whole script (PostgreSQL, Redis, gunicorn, a Celery worker, Chroma) runs for a few seconds with
no error and nothing lost, so that it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from bench import load
from tests.helpers import ROOT
from tickets import services
from tickets.models import Ticket


@pytest.mark.django_db
def test_the_lost_write_check_reports_each_acknowledged_write_the_database_does_not_hold(
    tmp_path, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the events delivered: the audit entries written
        ticket = services.ticket_create(requester=people["employee"], title="VPN drops", description="hourly")
        comment = services.comment_add(actor=people["employee"], ticket=ticket, body="still dropping")
        agent_ticket = services.ticket_create(requester=people["employee"], title="Printer", description="offline")
        Ticket.objects.filter(pk=agent_ticket.pk).update(department=people["agent"].department)
        agent_ticket.refresh_from_db()
        moved = services.ticket_transition(actor=people["agent"], ticket=agent_ticket, status="open")
    held = {
        "creates": [{"id": ticket.pk, "title": "VPN drops"}],
        "comments": [{"ticket": ticket.pk, "id": comment["id"], "body": "still dropping", "internal": False}],
        "transitions": [{"ticket": moved.pk, "status": "open", "version": moved.version, "by": "agent"}],
    }
    path = tmp_path / "acked.json"
    path.write_text(json.dumps(held))
    report = load.verify(str(path), wait_seconds=0)
    assert (report["lost"], report["comments_checked"], report["transitions_checked"]) == (0, 1, 1), report

    lost = {
        "creates": [*held["creates"], {"id": "f" * 24, "title": "never stored"}],
        "comments": [
            *held["comments"],
            {"ticket": ticket.pk, "id": "e" * 24, "body": "never stored", "internal": False},
            {"ticket": ticket.pk, "id": comment["id"], "body": "other text", "internal": False},
        ],
        # Acknowledged at a version that holds no such move, and a second 200 at the same version.
        "transitions": [
            *held["transitions"],
            {"ticket": moved.pk, "status": "pending", "version": moved.version, "by": "lead"},
        ],
    }
    path.write_text(json.dumps(lost))
    report = load.verify(str(path), wait_seconds=0)
    problems = "\n".join(report["problems"])
    assert "f" * 24 in problems
    assert "e" * 24 in problems
    assert f"comment {comment['id']}" in problems  # its text changed
    assert "share a version" in problems
    assert report["lost"] == 5, problems  # the create, two comments, the move and its version


# Not the 9 of `make bench-load` (a run beside this test keeps its broker) nor the 15 of the suite.
REDIS = "redis://127.0.0.1:6379/10"


def _postgres_base() -> str | None:
    """The server of the run's PostgreSQL database, or None on the SQLite run (`make test`): the load
    script runs on PostgreSQL only, so the PostgreSQL pass of .ci/run is where it runs (once per CI
    run, not twice), not every developer's `make test`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except Exception:
        return False


@pytest.mark.e2e
def test_the_load_script_runs_a_few_seconds_against_the_production_server_with_no_error_and_nothing_lost(tmp_path):
    postgres = _postgres_base()
    if postgres is None:
        pytest.skip(
            "bench/load.py runs on PostgreSQL only: the PostgreSQL pass of .ci/run runs this (DATABASE_URL=postgres://...)"
        )
    if not _redis_answers(REDIS):
        pytest.skip(f"needs Redis at {REDIS} (bench/load.py runs the production shape, with a broker)")
    command = [sys.executable, "bench/load.py", "--seconds", "3", "--warmup", "2", "--users", "4"]
    command += ["--tickets", "100", "--articles", "20", "--think-ms", "0,50", "--redis", REDIS]
    database = f"helpdesk_load_test_{os.getpid()}"  # two test runs on one server must not drop each other's
    command += ["--postgres", postgres, "--database", database, "--out", str(tmp_path)]
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "VAR_DIR")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    (written,) = tmp_path.glob("load-*.json")
    result = json.loads(written.read_text())
    assert result["errors"] == 0
    assert result["lost_write_check"]["lost"] == 0
    checked = result["lost_write_check"]
    assert checked["comments_checked"] + checked["transitions_checked"] + checked["creates_checked"] > 0
    served = {row["endpoint"]: row["requests"] for row in result["endpoints"]}
    assert served["list"] > 0 and served["detail"] > 0, served
    assert (tmp_path / written.name.replace(".json", ".md")).read_text().startswith("Load run")
