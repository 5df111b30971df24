"""/metrics (helpdesk/metrics.py, decision 0019): the series an operator alerts on, labelled by route
rather than raw path, read from the database at scrape time where they are state, and served only to
the scraper (a bearer token, or loopback when none is set)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from ai_assist import services as ai_services
from ai_assist.models import Suggestion
from helpdesk import cache as fail_soft
from helpdesk import dispatch, events, metrics
from helpdesk.models import OutboxEvent
from tests.factories import TicketFactory
from tests.helpdesk.servers import free_port
from tests.helpers import ROOT, assert_problem
from tickets import selectors
from tickets import services as ticket_services

SERIES = [
    "helpdesk_http_requests_total",
    "helpdesk_http_request_duration_seconds",
    "helpdesk_tickets",
    "helpdesk_tickets_sla_breached",
    "helpdesk_sla_escalations_total",
    "helpdesk_outbox_lag_seconds",
    "helpdesk_outbox_undelivered",
    "helpdesk_dispatch_failures_total",
    "helpdesk_ai_latency_seconds",
    "helpdesk_ai_fallbacks_total",
    "helpdesk_websocket_connections",
    "helpdesk_cache_errors_total",
    "helpdesk_database_errors_total",
    "helpdesk_metrics_source_up",
]


@pytest.fixture(autouse=True)
def _no_cached_sources(settings):
    settings.METRICS_CACHE_SECONDS = 0  # each scrape reads the database again
    metrics._cached.clear()  # nor what an earlier test's scrape read
    yield
    metrics._cached.clear()


def scrape(api, **headers) -> str:
    response = api.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(text: str, sample: str) -> float:
    """The value of one sample line, e.g. value(text, 'helpdesk_tickets{status="new"}')."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match, f"{sample} not in:\n{text[:3000]}"
    return float(match.group(1))


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_after_a_few_requests_every_series_is_there_labelled_by_route(client_for, people, department, api):
    employee = client_for("employee")
    created = employee.post("/api/v1/tickets/", {"title": "VPN drops", "description": "Every hour."}, format="json")
    assert created.status_code == 201, created.content
    ticket_id = created.json()["id"]
    assert employee.get("/api/v1/tickets/").status_code == 200
    assert employee.get(f"/api/v1/tickets/{ticket_id}/").status_code == 200
    assert api.get("/api/v1/no-such-thing/").status_code == 404

    text = scrape(api)
    for name in SERIES:
        assert re.search(rf"^# TYPE {name} ", text, re.MULTILINE), name
    assert value(text, 'helpdesk_http_requests_total{method="GET",route="ticket-detail",status="200"}') >= 1
    assert value(text, 'helpdesk_http_requests_total{method="POST",route="ticket-list",status="201"}') >= 1
    assert 'route="helpdesk.api.views.api_not_found",status="404"' in text
    assert value(text, 'helpdesk_http_request_duration_seconds_count{method="GET",route="ticket-detail"}') >= 1
    assert ticket_id not in text  # a route, never the raw path
    assert value(text, 'helpdesk_tickets{status="new"}') + value(text, 'helpdesk_tickets{status="open"}') == 1
    assert value(text, 'helpdesk_metrics_source_up{source="tickets"}') == 1
    assert value(text, 'helpdesk_metrics_source_up{source="outbox"}') == 1
    # The test's transaction never commits, so its events wait: the lag source sees them.
    waiting = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
    assert waiting >= 1 and value(text, "helpdesk_outbox_undelivered") == waiting


def test_tickets_by_status_and_breached_tickets_come_from_one_grouped_count_each(
    people, department, api, django_assert_num_queries
):
    long_ago = timezone.now() - timedelta(days=10)
    TicketFactory(requester=people["employee"], created_at=long_ago)  # past both due times
    TicketFactory(requester=people["employee"])
    TicketFactory(requester=people["employee"], status="resolved")
    TicketFactory(requester=people["employee"], deleted_at=timezone.now())  # not counted
    assert selectors.counts_by_status() == {"new": 2, "resolved": 1}
    # One grouped count, one breach count, the outbox's oldest event (none waits: no count).
    with django_assert_num_queries(3):
        text = scrape(api)
    assert value(text, 'helpdesk_tickets{status="new"}') == 2
    assert value(text, 'helpdesk_tickets{status="resolved"}') == 1
    assert value(text, 'helpdesk_tickets{status="closed"}') == 0
    assert value(text, "helpdesk_tickets_sla_breached") == 1


def test_sources_are_read_once_per_cache_period(people, api, settings, django_assert_num_queries):
    settings.METRICS_CACHE_SECONDS = 60
    scrape(api)
    TicketFactory(requester=people["employee"])
    with django_assert_num_queries(0):
        text = scrape(api)
    assert value(text, 'helpdesk_tickets{status="new"}') == 0  # the cached count, until it expires


def test_a_source_that_fails_leaves_its_series_out_and_says_so(api, monkeypatch, db):
    def down():
        raise OperationalError("the database does not answer")

    monkeypatch.setattr(selectors, "counts_by_status", down)
    text = scrape(api)
    assert value(text, 'helpdesk_metrics_source_up{source="tickets"}') == 0
    assert "helpdesk_tickets{" not in text
    assert value(text, 'helpdesk_metrics_source_up{source="outbox"}') == 1


def test_the_sla_job_counts_breaches_and_warnings(people):
    TicketFactory(requester=people["employee"], created_at=timezone.now() - timedelta(days=10))
    before = sample("helpdesk_sla_escalations_total", reason="breached")
    assert len(ticket_services.tickets_escalate_due()) == 1
    assert sample("helpdesk_sla_escalations_total", reason="breached") == before + 1


def test_a_failing_consumer_is_counted_by_name(people, department, monkeypatch):
    def broken(event: events.Event) -> None:
        raise RuntimeError("the consumer is broken")

    monkeypatch.setattr(dispatch, "_consumers", {})  # only this one (the AI's would load a model)
    dispatch.register("test.broken", broken, events=[events.TicketEvent])
    ticket_services.ticket_create(requester=people["employee"], title="T", description="d", department=department)
    [event_id] = OutboxEvent.objects.values_list("pk", flat=True)
    before = sample("helpdesk_dispatch_failures_total", consumer="test.broken")
    assert dispatch.deliver([event_id]).failed == 1
    assert sample("helpdesk_dispatch_failures_total", consumer="test.broken") == before + 1


def test_ai_answers_are_timed_by_kind_and_path_and_fallbacks_counted(people):
    fallbacks = sample("helpdesk_ai_fallbacks_total", kind="chat")
    extractive = sample("helpdesk_ai_latency_seconds_count", kind="chat", path="extractive")
    for path in ("fallback", "extractive"):
        ai_services.suggestion_record(
            kind=Suggestion.Kind.CHAT, actor=people["employee"], inputs={"message": "vpn"}, path=path, latency_ms=40
        )
    assert sample("helpdesk_ai_fallbacks_total", kind="chat") == fallbacks + 1
    assert sample("helpdesk_ai_latency_seconds_count", kind="chat", path="extractive") == extractive + 1
    assert sample("helpdesk_ai_latency_seconds_bucket", kind="chat", path="extractive", le="0.05") >= 1


def test_open_websockets_are_a_gauge(db):
    from notifications.routing import websocket_application

    async def scenario() -> tuple[float, float, float]:
        before = sample("helpdesk_websocket_connections")
        first = WebsocketCommunicator(websocket_application(), "/ws/feed/")
        second = WebsocketCommunicator(websocket_application(), "/ws/feed/")
        assert (await first.connect())[0] and (await second.connect())[0]
        both = sample("helpdesk_websocket_connections")
        await first.disconnect()
        one = sample("helpdesk_websocket_connections")
        await second.disconnect()
        return both - before, one - before, sample("helpdesk_websocket_connections") - before

    assert async_to_sync(scenario)() == (2, 1, 0)


def test_a_database_that_does_not_answer_is_counted(client_for, people, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    agent = client_for("agent")  # signed in while the database answers
    before = sample("helpdesk_database_errors_total")
    with monkeypatch.context() as outage:  # every query fails, until the test's own cleanup
        outage.setattr(CursorWrapper, "execute", down)
        assert_problem(agent.get("/api/v1/tickets/"), 503, "database_unavailable")
    assert sample("helpdesk_database_errors_total") == before + 1


def test_a_cache_that_does_not_answer_is_counted():
    fail_soft._HEALTH.clear()
    location = f"redis://127.0.0.1:{free_port()}/0"
    cache = fail_soft.FailSoftRedisCache(location, {"OPTIONS": {"socket_connect_timeout": 1, "RETRY_SECONDS": 60}})
    before = sample("helpdesk_cache_errors_total", operation="get")
    try:
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get("k", "fallback") == "fallback"  # within RETRY_SECONDS: Redis is not asked
    finally:
        fail_soft._HEALTH.clear()
    assert sample("helpdesk_cache_errors_total", operation="get") == before + 1


# --- Who may read it ------------------------------------------------------------------------------


def test_without_a_token_only_this_host_may_read_it_and_not_through_a_proxy(api, db):
    assert api.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert api.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 404
    assert api.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404


@override_settings(METRICS_TOKEN="metrics-token-" + "k" * 30)
def test_with_a_token_only_its_bearer_may_read_it(api, db):
    assert api.get("/metrics").status_code == 401  # loopback is not enough then
    assert api.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    good = api.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer metrics-token-" + "k" * 30)
    assert good.status_code == 200
    assert b"helpdesk_http_requests_total" in good.content


# --- Several processes ----------------------------------------------------------------------------

_RECORD = """
import django, os
django.setup()
from helpdesk import metrics
metrics.HTTP_REQUESTS.labels("GET", "ticket-list", "200").inc()
metrics.WEBSOCKET_CONNECTIONS.inc()
"""
_SCRAPE = """
import django
django.setup()
from prometheus_client import generate_latest
from helpdesk import metrics
metrics._SOURCES.clear()
print(generate_latest(metrics.registry()).decode())
"""


def test_with_a_multiprocess_dir_the_scrape_sums_every_process(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"}

    def python(code: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    python(_RECORD)
    python(_RECORD)
    text = python(_SCRAPE)
    assert value(text, 'helpdesk_http_requests_total{method="GET",route="ticket-list",status="200"}') == 2
    # Both recording processes have exited; live gauges count only processes not marked dead.
    assert value(text, "helpdesk_websocket_connections") == 2
