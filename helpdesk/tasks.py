"""Jobs of the project package: event delivery, the outbox's upkeep, and the lock that keeps every
periodic job to one run at a time (Celery beat, or the embedded scheduler of helpdesk.jobs)."""

from __future__ import annotations

import logging

from celery import shared_task

from helpdesk import dispatch, jobs, outbox

logger = logging.getLogger(__name__)


@shared_task(name="helpdesk.deliver_events", ignore_result=True)
def deliver_events(event_ids: list[str]) -> int:
    """Deliver events stored by a commit (queued by dispatch.deliver_after_commit with a broker)."""
    return dispatch.deliver(event_ids).delivered


@shared_task(name="helpdesk.outbox_retry", ignore_result=True)
def outbox_retry() -> int:
    """Deliver what failed or was never handed over (a crash, a broker that was down)."""
    report = dispatch.deliver_due()
    if report.delivered or report.failed or report.skipped:
        logger.info("Outbox retry: %s", report)
    return report.delivered


@shared_task(name="helpdesk.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    """Re-create the rows a crash lost (from the documents' stamps); forget old delivered events."""
    recreated = outbox.sweep()
    outbox.purge()
    return recreated


@shared_task(name="helpdesk.run_job", ignore_result=True)
def run_job(task_name: str) -> bool:
    """Run the periodic job `task_name` unless it is running already anywhere (a lock in the cache);
    CELERY_BEAT_SCHEDULE names every periodic job through this task."""
    return jobs.run_exclusive(task_name)
