"""The tickets' series of /metrics, read from the database when it is scraped (helpdesk.metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from tickets import selectors, sla
from tickets.models import Status


def read() -> Iterator[Metric]:
    counts = selectors.counts_by_status()
    by_status = GaugeMetricFamily("helpdesk_tickets", "Live (not deleted) tickets, by status.", labels=["status"])
    for status in Status.values:
        by_status.add_metric([status], counts.get(status, 0))
    yield by_status
    yield GaugeMetricFamily(
        "helpdesk_tickets_sla_breached",
        "Open tickets (new, open, pending and not paused) past their next SLA due time.",
        sla.breached_count(),
    )
