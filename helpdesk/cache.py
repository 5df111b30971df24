"""The shared cache, failing soft: Django's RedisCache that keeps serving when Redis does not answer.

Rate limits, throttles and cached counts live in the default cache. With plain RedisCache a Redis
that is down turns every request that touches them (sign-in first of all) into a 500. Here a
connection error or time-out switches this process to a local in-memory cache instead: rate limits
count per process, cached values are recomputed. Redis is tried again every RETRY_SECONDS; the
switch each way is logged once per process, never once per request. /readyz reports the state
(helpdesk.health) by pinging Redis itself.

Settings: CACHES["default"]["BACKEND"] = "helpdesk.cache.FailSoftRedisCache", with OPTIONS
RETRY_SECONDS (default 5) beside redis-py's own (socket_connect_timeout, socket_timeout).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from helpdesk import metrics

logger = logging.getLogger("helpdesk.cache")

# redis-py's own errors, and the socket's (OSError covers ConnectionError and TimeoutError).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def display_location(location: str) -> str:
    """A Redis URL fit for a log line: user and password are left out."""
    try:
        parts = urlsplit(location)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(unparsable Redis URL)"


@dataclass
class _Health:
    """Whether Redis answered, per process and per location (cache objects are per thread)."""

    down: bool = False
    retry_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_HEALTH: dict[str, _Health] = {}
_HEALTH_LOCK = threading.Lock()


def _health_of(location: str) -> _Health:
    with _HEALTH_LOCK:
        return _HEALTH.setdefault(location, _Health())


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("RETRY_SECONDS", 5))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._health = _health_of(self._location)
        # LocMemCache keeps its data per name in the process: every thread's object shares it.
        self._fallback = LocMemCache(
            f"helpdesk-fail-soft:{self._location}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", ""), "OPTIONS": {}},
        )

    # --- state ---------------------------------------------------------------------------------

    def _went_down(self, error: BaseException) -> None:
        health = self._health
        with health.lock:
            health.retry_at = time.monotonic() + self.retry_seconds
            if health.down:
                return
            health.down = True
        logger.warning(
            "Redis cache at %s does not answer (%s): this process uses a local in-memory cache and counts "
            "rate limits on its own until Redis answers again (tried every %g s).",
            display_location(self._location),
            error.__class__.__name__,
            self.retry_seconds,
        )

    def _came_back(self) -> None:
        health = self._health
        if not health.down:
            return
        with health.lock:
            if not health.down:
                return
            health.down = False
        logger.warning("Redis cache at %s answers again: back to the shared cache.", display_location(self._location))

    def _call(self, name: str, *args, **kwargs):
        if self._health.down and time.monotonic() < self._health.retry_at:
            return getattr(self._fallback, name)(*args, **kwargs)
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except UNAVAILABLE as error:
            metrics.CACHE_ERRORS.labels(name).inc()
            self._went_down(error)
            return getattr(self._fallback, name)(*args, **kwargs)
        self._came_back()
        return result

    def ping(self) -> None:
        """Ask Redis itself (for /readyz), whatever state this process is in; raises if it does not answer."""
        try:
            self._cache.get_client(None, write=True).ping()  # type: ignore[attr-defined]  # RedisCache's client
        except UNAVAILABLE as error:
            metrics.CACHE_ERRORS.labels("ping").inc()
            self._went_down(error)
            raise
        self._came_back()

    # --- the cache API -------------------------------------------------------------------------

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def clear(self):
        return self._call("clear")
