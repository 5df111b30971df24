"""Liveness and readiness probes: no authentication, no throttling, plain JSON.

/readyz is 503 only when the database does not answer: without it nothing works. A cache or
channel layer that does not answer makes it 200 `degraded`, naming what failed: the API still signs
in, reads and writes then (helpdesk.cache falls back to a per-process cache; docs/operations.md says
what degrades), so a load balancer must keep sending traffic.
"""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from helpdesk import outbox
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


CHECKS = {"database": _check_database, "cache": _check_cache, "channel_layer": _check_channel_layer}
# Without these nothing works: 503. The others degrade the service: 200 "degraded".
ESSENTIAL = {"database"}


@never_cache
@require_GET
def readyz(request):
    """Ready when the database answers (503 otherwise); `degraded` names a cache or channel layer that
    does not. Each check says "ok" or "failed: <error class>: <message>" (secrets redacted)."""
    results, failed = {}, []
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # a probe reports every failure, whatever its kind
            results[name] = redact(f"failed: {error.__class__.__name__}: {error}".strip())
            failed.append(name)
    if ESSENTIAL.intersection(failed):
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": results}, status=503)
    if failed:
        return JsonResponse({"status": "degraded", "degraded": failed, "checks": results, "outbox": _outbox()})
    return JsonResponse({"status": "ok", "checks": results, "outbox": _outbox()})


def _outbox() -> dict:
    """How far event delivery is behind (helpdesk.outbox.lag): reported for monitoring, never a
    reason to take the process out of service (a backlog drains while it serves)."""
    try:
        lag = outbox.lag()
    except Exception as error:  # reported like a check, never a 500
        return {"failed": redact(f"{error.__class__.__name__}: {error}")}
    return {"lag_seconds": round(lag.seconds, 3), "undelivered": lag.undelivered}
