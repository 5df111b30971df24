"""Per-endpoint limits on the shared cache, through django-ratelimit.

Two shapes: `attempt_allowed` + `count_failure` count only failures (login: the 6th wrong try in a
window is refused, right ones are not counted), `consume` counts every call (signup, refresh).
Views pass their DRF request as it is; this module hands django-ratelimit the Django request under it
(the signed-in user is set on both).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from rest_framework.request import Request

from helpdesk.errors import RateLimited

Key = str | Callable[[str, HttpRequest], str]


def _usage(request: HttpRequest | Request, *, scope: str, key: Key, increment: bool) -> dict | None:
    return get_usage(
        request._request if isinstance(request, Request) else request,
        group=f"helpdesk.{scope}",
        key=key,
        rate=settings.RATE_LIMITS[scope],
        increment=increment,
    )


def _refuse(usage: dict) -> None:
    raise RateLimited("Too many attempts. Wait before trying again.", retry_after=max(usage["time_left"], 1))


def attempt_allowed(request: HttpRequest | Request, *, scope: str, key: Key) -> None:
    """Refuse when the failures already counted in this window reached the limit."""
    usage = _usage(request, scope=scope, key=key, increment=False)
    if usage and (usage["should_limit"] or usage["count"] >= usage["limit"]):
        _refuse(usage)


def count_failure(request: HttpRequest | Request, *, scope: str, key: Key) -> None:
    _usage(request, scope=scope, key=key, increment=True)


def consume(request: HttpRequest | Request, *, scope: str, key: Key = "ip") -> None:
    """Count this call and refuse it once the window's limit is passed."""
    usage = _usage(request, scope=scope, key=key, increment=True)
    if usage and usage["should_limit"]:
        _refuse(usage)
