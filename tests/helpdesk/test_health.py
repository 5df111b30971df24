"""/healthz says the process is alive; /readyz checks database and its migrations (503 without them),
cache, channel layer and the periodic jobs' last runs (`degraded` without them)."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from helpdesk import health, jobs
from helpdesk.models import JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _jobs_just_started(monkeypatch):
    """No process runs the jobs in a test: count their intervals from now, as for a server just started."""
    monkeypatch.setattr(jobs, "_PROCESS_STARTED", timezone.now())


def test_healthz_needs_no_authentication(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "cache": "ok",
        "channel_layer": "ok",
        "jobs": "ok",
    }


def test_readyz_is_degraded_not_503_when_only_the_cache_fails(api, monkeypatch):
    """The API still works without its cache (helpdesk.cache): a load balancer must keep sending traffic."""

    def broken_cache_set(*args, **kwargs):
        raise ConnectionError("cache server refused the connection")

    monkeypatch.setattr(health.cache, "set", broken_cache_set)
    response = api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["cache"]
    assert "refused" in body["checks"]["cache"]
    assert body["checks"]["database"] == "ok"


def test_readyz_is_503_and_names_the_database_when_it_fails(api, monkeypatch):
    def unreachable():
        raise OperationalError("connection to server at 127.0.0.1, port 5499 failed: Connection refused")

    monkeypatch.setitem(health.CHECKS, "database", unreachable)
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["failed"] == ["database"]


def test_readyz_is_503_and_names_the_migrations_still_to_apply(api, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(health, "_all_migrations_applied", False)
    recorder = MigrationRecorder(connection)
    recorder.record_unapplied("helpdesk", "0002_job_runs")  # as if the code were newer than the database
    response = api.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["migrations"]
    assert body["checks"]["migrations"].endswith("1 to apply (manage.py migrate): helpdesk.0002_job_runs")
    assert "jobs" not in body  # not read from tables that may not exist yet

    recorder.record_applied("helpdesk", "0002_job_runs")
    assert api.get("/readyz").status_code == 200
    with django_assert_num_queries(0):  # once all are applied, the check is free
        health._check_migrations()


def test_a_job_without_a_success_for_three_intervals_makes_readyz_degraded_naming_it(api, monkeypatch, settings):
    monkeypatch.setattr(jobs, "_PROCESS_STARTED", timezone.now() - timedelta(days=1))
    now = timezone.now()
    for name, _ in jobs.periodic_jobs():
        JobRun.objects.create(name=name, runs=1, last_started_at=now, last_finished_at=now, last_success_at=now)
    long_ago = now - timedelta(seconds=3 * settings.SLA_SCAN_SECONDS + 60)
    JobRun.objects.filter(name="tickets.escalate_due").update(
        last_success_at=long_ago, failures=4, last_error="OperationalError: the database is locked"
    )
    response = api.get("/readyz")
    assert response.status_code == 200  # a backlog never takes the process out of the load balancer
    body = response.json()
    assert body["status"] == "degraded" and body["degraded"] == ["jobs"]
    assert body["checks"]["jobs"] == "stale: tickets.escalate_due (no success for 3 intervals)"
    escalation = body["jobs"]["tickets.escalate_due"]
    assert escalation["stale"] and escalation["failures"] == 4
    assert escalation["last_error"] == "OperationalError: the database is locked"
    assert escalation["last_success"] == long_ago.isoformat()
    assert not body["jobs"]["notifications.send_emails"]["stale"]


def test_a_job_that_never_ran_is_stale_three_intervals_after_the_process_started(api, monkeypatch, settings):
    started = timezone.now() - timedelta(seconds=3 * settings.EMAIL_SEND_SECONDS + 1)
    monkeypatch.setattr(jobs, "_PROCESS_STARTED", started)
    body = api.get("/readyz").json()
    assert body["jobs"]["notifications.send_emails"] | {"interval_seconds": None} == {
        "interval_seconds": None,
        "last_started": None,
        "last_finished": None,
        "last_success": None,
        "failures": 0,
        "last_error": "",
        "runs": 0,
        "stale": True,
    }
    assert "notifications.send_emails" in body["checks"]["jobs"]
    assert "accounts.purge_revoked_tokens" not in body["checks"]["jobs"]  # every 6 h: not yet


def test_every_jobs_last_run_is_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        jobs.report()
