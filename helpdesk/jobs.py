"""Periodic jobs: one table (CELERY_BEAT_SCHEDULE), run by Celery beat with a broker and by the
ASGI process itself without one (the embedded default of `make run`), never twice at once.

Every entry of the table calls `helpdesk.run_job` with the name of the real task, which takes a
lock in the shared cache for that job first: two beats, or a beat and a slow previous run, never
overlap. Without a broker, the ASGI lifespan (`lifespan` below, mounted by helpdesk.asgi) starts
a thread that runs the same table at the same intervals, in the server's process, when
JOBS_IN_PROCESS is on (the default without REDIS_URL). With several such processes and no shared
cache each runs them; every job is safe to run twice (compare-and-set, claims), only wasteful.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from helpdesk.db import new_object_id

logger = logging.getLogger(__name__)

RUN_JOB = "helpdesk.run_job"


def _task(name: str):
    from helpdesk.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()  # the apps' tasks modules (a worker imports them at start)
    return app.tasks[name]


def run_exclusive(task_name: str) -> bool:
    """Run the task in this process unless another run holds its lock; False if skipped."""
    key, token = f"jobs:lock:{task_name}", new_object_id()
    if not cache.add(key, token, timeout=settings.JOB_LOCK_SECONDS):
        logger.info("Job %s is running elsewhere; this run is skipped", task_name)
        return False
    try:
        _task(task_name)()
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    return True


def periodic_jobs() -> list[tuple[str, float]]:
    """(task name, interval in seconds) of every periodic job, from CELERY_BEAT_SCHEDULE."""
    table = []
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for entry in schedule.values():
        name = entry["args"][0] if entry["task"] == RUN_JOB else entry["task"]
        table.append((str(name), float(entry["schedule"])))
    return table


class EmbeddedScheduler:
    """Runs the periodic jobs in a thread of this process: each once at start, then at its interval."""

    def __init__(self, jobs: list[tuple[str, float]], *, run: Callable[[str], Any] = run_exclusive):
        self.jobs = jobs
        self.run = run
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="helpdesk-jobs", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        due = {name: time.monotonic() for name, _ in self.jobs}
        intervals = dict(self.jobs)
        try:
            while not self.stopping.is_set():
                for name in sorted(due, key=lambda job: due[job]):
                    if self.stopping.is_set() or due[name] > time.monotonic():
                        continue
                    try:
                        self.run(name)
                    except Exception:  # one job's failure never stops the others or the scheduler
                        logger.exception("Periodic job %s failed", name)
                    due[name] = time.monotonic() + intervals[name]
                if due:
                    self.stopping.wait(max(min(due.values()) - time.monotonic(), 0.05))
                else:
                    self.stopping.wait()
        finally:
            connections.close_all()  # this thread's connections


_scheduler: EmbeddedScheduler | None = None


def start_embedded() -> bool:
    """Start the in-process scheduler if this process should run the jobs; True if started."""
    global _scheduler
    if not settings.JOBS_IN_PROCESS or _scheduler is not None:
        return False
    _scheduler = EmbeddedScheduler(periodic_jobs())
    _scheduler.start()
    logger.info("Running the periodic jobs in this process: %s", ", ".join(name for name, _ in _scheduler.jobs))
    return True


def stop_embedded() -> None:
    global _scheduler
    if _scheduler is not None:
        _scheduler.stop()
        _scheduler = None


async def lifespan(scope: dict, receive: Callable, send: Callable) -> None:
    """The ASGI lifespan protocol: start the embedded jobs at start-up, stop them at shutdown."""
    from asgiref.sync import sync_to_async

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                start_embedded()
            except Exception as error:
                logger.exception("Could not start the periodic jobs")
                await send({"type": "lifespan.startup.failed", "message": str(error)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await sync_to_async(stop_embedded, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return
