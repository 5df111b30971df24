"""Periodic jobs: one table (CELERY_BEAT_SCHEDULE), run by Celery beat with a broker and by the
serving processes themselves without one, once per machine, each run recorded (models.JobRun).

Every entry of the table calls `helpdesk.run_job` with the name of the real task, which takes a
lock in the shared cache for that job first: two beats, or a beat and a slow previous run, never
overlap. It records the run's start and outcome in the database, which /readyz reads from any
process or host, and logs a failing job once per failure streak, not once per run.

Without a broker (JOBS_IN_PROCESS, the default without REDIS_URL) every serving process starts an
`EmbeddedScheduler` thread: uvicorn at the ASGI lifespan's start-up, gunicorn in each worker after
the fork (helpdesk/gunicorn_conf.py), and any entry point at its first request or websocket
(`asgi_starting_jobs`, `wsgi_starting_jobs`: daphne and `manage.py runserver` speak no lifespan).
Never before a fork: a gunicorn master, even with --preload, and runserver's autoreloader parent
serve nothing, so they never start it. Of those threads, the one whose process holds an exclusive
lock on VAR_DIR/jobs.lock (`Election`) runs the jobs; the others wait and try again every few
seconds, so when that process dies (the kernel drops its lock) another takes over. The per-process
cache lock alone could not do this: without Redis each process has its own cache.
docs/decisions/0028-starting-the-service.md explains the choice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import F
from django.utils import timezone

from helpdesk.db import new_object_id
from helpdesk.models import JobRun
from helpdesk.redact import redact

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no election, every serving process runs the jobs
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

RUN_JOB = "helpdesk.run_job"
# A waiting process tries for the scheduler's lock this often: a dead scheduler is replaced this fast.
ELECTION_SECONDS = 5.0
# /readyz calls a job stale when it has not succeeded for this many of its intervals.
STALE_INTERVALS = 3
_PROCESS_STARTED = timezone.now()


def _task(name: str):
    from helpdesk.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()  # the apps' tasks modules (a worker imports them at start)
    return app.tasks[name]


def run_exclusive(task_name: str) -> bool:
    """Run the task in this process unless another run holds its lock; False if skipped. A failure
    is recorded and logged (once per streak), never raised: the next run is the retry."""
    key, token = f"jobs:lock:{task_name}", new_object_id()
    if not cache.add(key, token, timeout=settings.JOB_LOCK_SECONDS):
        logger.info("Job %s is running elsewhere; this run is skipped", task_name)
        return False
    _record_start(task_name)
    failure: Exception | None = None
    try:
        _task(task_name)()
    except Exception as error:  # any failure of a job is the job's outcome, not the scheduler's
        failure = error
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    _record_finish(task_name, failure)
    _log_outcome(task_name, failure)
    return True


# --- The record of each job's runs (models.JobRun) ----------------------------------------------


def _runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _describe(error: BaseException) -> str:
    return redact(f"{error.__class__.__name__}: {error}".strip())[:2000]


def _record_start(name: str) -> None:
    changes = {"runs": F("runs") + 1, "last_started_at": timezone.now(), "last_runner": _runner()}
    try:
        if not JobRun.objects.filter(name=name).update(**changes):
            try:
                with transaction.atomic():  # a savepoint: a concurrent first run leaves ours usable
                    JobRun.objects.create(name=name)
            except IntegrityError:
                pass
            JobRun.objects.filter(name=name).update(**changes)
    except Exception as error:  # no table before migrate, a database down: the job's own run says so
        logger.debug("Could not record the start of job %s: %s", name, _describe(error))


def _record_finish(name: str, failure: Exception | None) -> None:
    now = timezone.now()
    if failure is None:
        changes: dict[str, Any] = {"last_finished_at": now, "last_success_at": now, "failures": 0, "last_error": ""}
    else:
        changes = {"last_finished_at": now, "failures": F("failures") + 1, "last_error": _describe(failure)}
    try:
        JobRun.objects.filter(name=name).update(**changes)
    except Exception as error:  # as above
        logger.debug("Could not record the outcome of job %s: %s", name, _describe(error))


_streaks: dict[str, int] = {}
_streaks_lock = threading.Lock()


def _log_outcome(name: str, failure: Exception | None) -> None:
    """One line when a job starts failing and one when it recovers; the failures between at DEBUG.
    Counted per process (a scheduler, or each process of a Celery worker pool)."""
    with _streaks_lock:
        before = _streaks.get(name, 0)
        _streaks[name] = before + 1 if failure is not None else 0
    if failure is None:
        if before:
            logger.info("Periodic job %s recovered after %d failures", name, before)
    elif before == 0:
        logger.error("Periodic job %s failed: %s (logged again only once it has recovered)", name, _describe(failure))
    else:
        logger.debug("Periodic job %s failed again (%d in a row): %s", name, before + 1, _describe(failure))


def periodic_jobs() -> list[tuple[str, float]]:
    """(task name, interval in seconds) of every periodic job, from CELERY_BEAT_SCHEDULE."""
    table = []
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for entry in schedule.values():
        name = entry["args"][0] if entry["task"] == RUN_JOB else entry["task"]
        table.append((str(name), float(entry["schedule"])))
    return table


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def report() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every periodic job's last run as /readyz shows it, and the names of the stale ones: no success
    for STALE_INTERVALS of its intervals (counted from this process's start when it has none since).
    One query; raises what the database raises."""
    rows = {row.name: row for row in JobRun.objects.all()}
    now, jobs, stale = timezone.now(), {}, []
    for name, interval in periodic_jobs():
        row = rows.get(name)
        success = row.last_success_at if row is not None else None
        since = max(success, _PROCESS_STARTED) if success is not None else _PROCESS_STARTED
        late = now - since > timedelta(seconds=STALE_INTERVALS * interval)
        if late:
            stale.append(name)
        jobs[name] = {
            "interval_seconds": interval,
            "last_started": _iso(row.last_started_at) if row else None,
            "last_finished": _iso(row.last_finished_at) if row else None,
            "last_success": _iso(success),
            "failures": row.failures if row else 0,
            "last_error": row.last_error if row else "",
            "runs": row.runs if row else 0,
            "stale": late,
        }
    return jobs, stale


def _next_due(jobs: list[tuple[str, float]]) -> dict[str, float]:
    """When each job is next due (time.monotonic()): an interval after its last recorded start, by
    whichever process ran it, so a new scheduler (a restart, a takeover) does not run it early."""
    now_monotonic, now = time.monotonic(), timezone.now()
    due = {name: now_monotonic for name, _ in jobs}
    try:
        started = dict(JobRun.objects.filter(name__in=list(due)).values_list("name", "last_started_at"))
    except Exception:  # no table yet: everything is due, and each job's own run reports the problem
        return due
    for name, interval in jobs:
        last = started.get(name)
        if last is not None:
            wait = (last + timedelta(seconds=interval) - now).total_seconds()
            due[name] = now_monotonic + min(max(wait, 0.0), interval)
    return due


# --- Which process runs them, and the thread that does -------------------------------------------


class Election:
    """The process holding an exclusive flock on `path` runs the jobs. The kernel drops the lock when
    the process exits, however it exits (a crash, SIGKILL, a gunicorn worker recycled)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def try_lead(self) -> bool:
        if fcntl is None:  # pragma: no cover - Windows
            return True
        if self.fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by exec'd children
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{_runner()}\n".encode())  # who leads, for a person looking
        return True

    def resign(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the lock
            self.fd = None


class EmbeddedScheduler:
    """A thread that waits to be elected, then runs the periodic jobs, each at its interval."""

    def __init__(
        self,
        jobs: list[tuple[str, float]],
        *,
        run: Callable[[str], Any] = run_exclusive,
        election: Election | None = None,
    ):
        self.jobs = jobs
        self.run = run
        self.election = election or Election(Path(settings.VAR_DIR) / "jobs.lock")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="helpdesk-jobs", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        try:
            while not self.stopping.is_set():
                if self.election.try_lead():
                    logger.info(
                        "This process (%s) runs the periodic jobs: %s", _runner(), ", ".join(n for n, _ in self.jobs)
                    )
                    self._run_jobs()
                    return
                self.stopping.wait(ELECTION_SECONDS)
        finally:
            self.election.resign()
            connections.close_all()  # this thread's connections

    def _run_jobs(self) -> None:
        due = _next_due(self.jobs)
        intervals = dict(self.jobs)
        while not self.stopping.is_set():
            for name in sorted(due, key=lambda job: due[job]):
                if self.stopping.is_set() or due[name] > time.monotonic():
                    continue
                close_old_connections()  # a connection the database dropped since the last run
                try:
                    self.run(name)
                except Exception as error:  # one job's failure never stops the others or the scheduler
                    _log_outcome(name, error)
                due[name] = time.monotonic() + intervals[name]
            if due:
                self.stopping.wait(max(min(due.values()) - time.monotonic(), 0.05))
            else:
                self.stopping.wait()


_scheduler: EmbeddedScheduler | None = None
_scheduler_pid: int | None = None
_start_lock = threading.Lock()


def start_embedded() -> bool:
    """Start this process's scheduler thread if the jobs run in-process; True if started now. A
    process forked from one that had started it (it should not be) starts its own."""
    global _scheduler, _scheduler_pid
    if not settings.JOBS_IN_PROCESS:
        return False
    with _start_lock:
        if _scheduler is not None and _scheduler_pid == os.getpid():
            return False
        _scheduler, _scheduler_pid = EmbeddedScheduler(periodic_jobs()), os.getpid()
        _scheduler.start()
    return True


def ensure_started() -> None:
    """What every request does first: cheap once started, or when the jobs are not ours."""
    if _scheduler_pid != os.getpid() and settings.JOBS_IN_PROCESS:
        start_embedded()


def stop_embedded() -> None:
    global _scheduler, _scheduler_pid
    with _start_lock:
        scheduler, _scheduler, _scheduler_pid = _scheduler, None, None
    if scheduler is not None:
        scheduler.stop()


def asgi_starting_jobs(application: Callable) -> Callable:
    """The ASGI application, starting this process's scheduler at its first connection, and at the
    lifespan's start-up where the server speaks it (uvicorn), stopping it at the lifespan's shutdown."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await lifespan(scope, receive, send)
            return
        ensure_started()
        await application(scope, receive, send)

    return app


def wsgi_starting_jobs(application: Callable) -> Callable:
    """The WSGI application, starting this process's scheduler at its first request (gunicorn starts
    it earlier, in post_worker_init)."""

    def app(environ: dict, start_response: Callable) -> Any:
        ensure_started()
        return application(environ, start_response)

    return app


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
