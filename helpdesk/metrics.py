"""Prometheus metrics: the series every process records, and `/metrics`, which serves them.

Two kinds of series (decision 0019, docs/operations.md "Metrics and alerts"):
- recorded where things happen, in the process they happen in: requests (helpdesk.middleware),
  dispatch failures (helpdesk.dispatch), SLA escalations (tickets.services), AI answers
  (ai_assist.services), websocket connections (notifications.consumers), cache errors
  (helpdesk.cache) and database errors (helpdesk.api.errors, helpdesk.api.views);
- read from the database when /metrics is scraped, the same whichever process answers: tickets by
  status and SLA-breached tickets (tickets registers its source in its AppConfig.ready), outbox
  lag. Each source is read at most once per METRICS_CACHE_SECONDS per process, and one that fails
  (the database is down) leaves its series out and sets `helpdesk_metrics_source_up{source}` to 0.

Several worker processes (gunicorn): with PROMETHEUS_MULTIPROC_DIR set before start-up,
prometheus_client keeps each process's values in files there and /metrics sums them
(helpdesk/gunicorn_conf.py removes a dead worker's live gauges). Without it, values are per process.

Who may read /metrics: METRICS_TOKEN set, a request with `Authorization: Bearer <token>` (401
without); unset, only a loopback client whose request no proxy forwarded (404 for others): 0019.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series: twice the lines, and nothing to alert on

# --- Series recorded where things happen ------------------------------------------------------

HTTP_REQUESTS = Counter(
    "helpdesk_http_requests",
    "HTTP requests answered, by method, route (the URL pattern's name, never the raw path) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "helpdesk_http_request_duration_seconds",
    "Time from the request reaching the middleware to its response (a stream: to its first byte).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SLA_ESCALATIONS = Counter(
    "helpdesk_sla_escalations",
    "Tickets the SLA job escalated, by reason: breached (past a due time) or warning (inside its window).",
    ["reason"],
)
for _reason in ("breached", "warning"):
    SLA_ESCALATIONS.labels(_reason)  # 0 from the start, so increase() sees the first one
DISPATCH_FAILURES = Counter(
    "helpdesk_dispatch_failures", "Event deliveries a consumer failed (each is retried), by consumer.", ["consumer"]
)
AI_LATENCY = Histogram(
    "helpdesk_ai_latency_seconds",
    "Time to produce an AI output, by kind (chat, draft, route, ...) and path (llm, extractive, fallback, ...).",
    ["kind", "path"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
AI_FALLBACKS = Counter(
    "helpdesk_ai_fallbacks",
    "AI answers where the language model failed or was too slow and the extractive answer was given, by kind.",
    ["kind"],
)
WEBSOCKET_CONNECTIONS = Gauge(
    "helpdesk_websocket_connections",
    "Live-feed websockets open now (summed over the live processes).",
    multiprocess_mode="livesum",
)
CACHE_ERRORS = Counter(
    "helpdesk_cache_errors",
    "Cache operations Redis did not answer (served from the per-process fallback instead), by operation.",
    ["operation"],
)
DATABASE_ERRORS = Counter(
    "helpdesk_database_errors", "Requests answered 503 database_unavailable because the database did not answer."
)

# --- Series read from the database at scrape time ---------------------------------------------

Source = Callable[[], Iterable[Metric]]
_SOURCES: dict[str, Source] = {}
_cached: dict[str, tuple[float, list[Metric]]] = {}
_cache_lock = threading.Lock()


def add_source(name: str, read: Source) -> None:
    """Register a function that reads some series from the database when /metrics is scraped.
    Apps register theirs in AppConfig.ready (helpdesk imports no app)."""
    _SOURCES[name] = read


def _outbox_source() -> Iterator[Metric]:
    from helpdesk import outbox

    lag = outbox.lag()
    yield GaugeMetricFamily(
        "helpdesk_outbox_lag_seconds", "Age of the oldest undelivered event (0 when all are delivered).", lag.seconds
    )
    yield GaugeMetricFamily(
        "helpdesk_outbox_undelivered", "Events not yet delivered to all consumers.", lag.undelivered
    )


add_source("outbox", _outbox_source)


def _read(name: str, read: Source, *, max_age: float) -> list[Metric] | None:
    now = time.monotonic()
    with _cache_lock:
        hit = _cached.get(name)
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    try:
        metrics = list(read())
    except Exception as error:  # a scrape reports the failure as a series, never a 500
        logger.warning("Metrics source %s failed: %s: %s", name, error.__class__.__name__, error)
        return None
    with _cache_lock:
        _cached[name] = (now, metrics)
    return metrics


class _ScrapeTimeSources:
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "helpdesk_metrics_source_up",
            "1 when the source's series could be read, 0 if not.",
            labels=["source"],
        )
        max_age = float(getattr(settings, "METRICS_CACHE_SECONDS", 30))
        for name, read in sorted(_SOURCES.items()):
            metrics = _read(name, read, max_age=max_age)
            up.add_metric([name], 0 if metrics is None else 1)
            yield from metrics or ()
        yield up


class _ThisProcess:
    """The default registry's series (recorded in this process, plus process_* and python_*)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def registry() -> CollectorRegistry:
    """What one scrape reports: every process's recorded series, and the scrape-time sources."""
    scrape = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(scrape)
    else:
        scrape.register(_ThisProcess())
    scrape.register(_ScrapeTimeSources())
    return scrape


# --- /metrics ---------------------------------------------------------------------------------

_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def may_read(request) -> bool | None:
    """METRICS_TOKEN set: True with its bearer token, else False. Unset: True for a loopback
    client that no proxy forwarded (a proxy on the same host would make everyone loopback), else None."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    forwarded = [*_FORWARDED]
    if settings.RATELIMIT_IP_META_KEY != "REMOTE_ADDR":
        forwarded.append(settings.RATELIMIT_IP_META_KEY)  # CLIENT_IP_HEADER: set by the proxy in front
    if any(request.META.get(header) for header in forwarded):
        return None
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback or None
    except ValueError:
        return None


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format (OpenMetrics when the scraper asks for it)."""
    allowed = may_read(request)
    if allowed is None:  # no token configured, and not asked from this host: not served here
        raise Http404
    if not allowed:
        return HttpResponse(
            "A bearer token (METRICS_TOKEN) is needed.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry()), content_type=content_type)
