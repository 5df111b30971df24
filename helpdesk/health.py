"""Liveness and readiness probes: no authentication, no throttling, plain JSON.

/readyz is 503 when the database does not answer, or answers with migrations still to apply (named):
without either nothing works. A cache or channel layer that does not answer, or a periodic job that
has not succeeded for three of its intervals (helpdesk.jobs.report), makes it 200 `degraded`,
naming what failed: the API still signs in, reads and writes then (helpdesk.cache falls back to a
per-process cache; docs/operations.md says what degrades), so a load balancer must keep sending
traffic. Every job's last run is reported from the database, whichever process or host ran it.
"""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from helpdesk import jobs, outbox
from helpdesk.redact import redact


@never_cache
@require_GET
def healthz(request):
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    connection.ensure_connection()
    if connection.vendor != "mongodb":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    else:
        connection.connection.admin.command("ping")


def _check_cache() -> None:
    ping = getattr(cache, "ping", None)  # helpdesk.cache.FailSoftRedisCache: ask Redis itself
    if ping is not None:
        ping()
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("a value written to the cache could not be read back")
    cache.delete(key)


async def _round_trip(layer) -> None:
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("the channel layer returned a different message")


CHANNEL_LAYER_TIMEOUT_SECONDS = 3


async def _bounded_round_trip(layer) -> None:
    await asyncio.wait_for(_round_trip(layer), timeout=CHANNEL_LAYER_TIMEOUT_SECONDS)


def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    async_to_sync(_bounded_round_trip)(layer)


class MigrationsPending(Exception):
    pass


_all_migrations_applied = False  # once true it stays true in this process: the check is then free


def _check_migrations() -> None:
    """Building the migration graph costs about 10 ms and a query (more the first time, importing the
    migration modules): done until every migration is applied, then never."""
    global _all_migrations_applied
    if _all_migrations_applied:
        return
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
        raise MigrationsPending(f"{len(names)} to apply (manage.py migrate): {', '.join(names)}")
    _all_migrations_applied = True


CHECKS = {
    "database": _check_database,
    "migrations": _check_migrations,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
}
# Without these nothing works: 503. The others degrade the service: 200 "degraded".
ESSENTIAL = {"database", "migrations"}


@never_cache
@require_GET
def readyz(request):
    """Ready when the database answers and is migrated (503 otherwise); `degraded` names a cache or
    channel layer that does not answer, or stale periodic jobs. Each check says "ok" or
    "failed: <error class>: <message>" (secrets redacted)."""
    results, failed = {}, []
    for name, check in CHECKS.items():
        if name == "migrations" and "database" in failed:
            continue
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # a probe reports every failure, whatever its kind
            results[name] = redact(f"failed: {error.__class__.__name__}: {error}".strip())
            failed.append(name)
    if ESSENTIAL.intersection(failed):
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": results}, status=503)
    job_runs = _jobs(results, failed)
    body = {"checks": results, "outbox": _outbox(), "jobs": job_runs}
    if failed:
        return JsonResponse({"status": "degraded", "degraded": failed, **body})
    return JsonResponse({"status": "ok", **body})


def _jobs(results: dict, failed: list) -> dict:
    """Each periodic job's last run (helpdesk.jobs.report), and the "jobs" check: stale ones degrade."""
    try:
        runs, stale = jobs.report()
    except Exception as error:  # reported like a check, never a 500
        results["jobs"] = redact(f"failed: {error.__class__.__name__}: {error}")
        failed.append("jobs")
        return {}
    if stale:
        results["jobs"] = f"stale: {', '.join(stale)} (no success for {jobs.STALE_INTERVALS} intervals)"
        failed.append("jobs")
    else:
        results["jobs"] = "ok"
    return runs


def _outbox() -> dict:
    """How far event delivery is behind (helpdesk.outbox.lag): reported for monitoring, never a
    reason to take the process out of service (a backlog drains while it serves)."""
    try:
        lag = outbox.lag()
    except Exception as error:  # reported like a check, never a 500
        return {"failed": redact(f"{error.__class__.__name__}: {error}")}
    return {"lag_seconds": round(lag.seconds, 3), "undelivered": lag.undelivered}
