"""Request id, the request's log line and metrics, NUL characters and body size limit: the first
things every request meets."""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpResponseNotFound
from django.utils.deprecation import MiddlewareMixin

from helpdesk import metrics
from helpdesk.api.errors import problem_response
from helpdesk.log import current_client_ip, current_request, current_request_id, user_id_of

request_logger = logging.getLogger("helpdesk.request")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware(MiddlewareMixin):
    """Give each request an id (a proxy's X-Request-ID if it looks safe), for logs and errors; note
    it and the client's address for the domain events the request causes (the audit log's)."""

    def process_request(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        current_request_id.set(request.request_id)
        current_client_ip.set(client_ip(request))
        # Log lines name the signed-in user (helpdesk.log). Like the id, it stays set after the
        # response until the next request: Django's own line about the response comes then.
        current_request.set(request)

    def process_response(self, request, response):
        if getattr(request, "request_id", None):
            response["X-Request-ID"] = request.request_id
        return response


# Probes and scrapes come every few seconds: their lines are DEBUG, not the access log's INFO.
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})
# Any other method a client makes up is "other": a label value per made-up method would be unbounded.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestTelemetryMiddleware(MiddlewareMixin):
    """One log line per request (the access log: method, path without its query string, status,
    route, latency, user) and the request series of /metrics, labelled by route: the URL pattern's
    name, never the raw path (ids would make a series per ticket). Comes right after
    RequestIdMiddleware, so every response, errors included, passes here with its request id."""

    def process_request(self, request):
        request.started_at = time.perf_counter()

    def process_response(self, request, response):
        started = getattr(request, "started_at", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = (match.view_name if match is not None else "") or "unmatched"
        method = request.method if request.method in _METHODS else "other"
        metrics.HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(method, route).observe(seconds)
        latency_ms = round(seconds * 1000, 2)
        request_logger.log(
            logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            latency_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "route": route,
                "latency_ms": latency_ms,
                "user_id": user_id_of(request),
            },
        )
        return response


def client_ip(request) -> str | None:
    """The client's address where the rate limits look for it (CLIENT_IP_HEADER behind a proxy)."""
    value = (request.META.get(settings.RATELIMIT_IP_META_KEY) or "").split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class RequestBodyLimitMiddleware(MiddlewareMixin):
    """Refuse a declared Content-Length over the limit with 413 before a view reads the body.

    DRF's JSON parser reads the stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone
    would not stop a large JSON body. Multipart uploads get their own, larger limit. Under ASGI
    the body has already arrived by now: helpdesk/asgi_limits.py refuses it while it arrives
    (chunked bodies too); this one covers WSGI and the test client.
    """

    def process_request(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(
                request, status=400, code="bad_content_length", detail="Content-Length is not a number."
            )
        is_upload = request.content_type == "multipart/form-data"
        limit = settings.MAX_UPLOAD_BYTES if is_upload else settings.MAX_REQUEST_BYTES
        if request.path.startswith(settings.EMAIL_INTAKE_PATH):
            limit = settings.EMAIL_INTAKE_MAX_BYTES  # a provider posting an inbound email (intake)
        if length > limit:
            return problem_response(
                request,
                status=413,
                code="payload_too_large",
                detail=f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return None


class RejectNulMiddleware(MiddlewareMixin):
    """No id and no query parameter can hold a NUL character, and PostgreSQL refuses one in a
    query (the driver raises, which would be a 500). A path with one names nothing: 404. A query
    string with one: 400. Body fields are checked by helpdesk.api.serializers.StrictSerializer."""

    def process_request(self, request):
        if "\x00" in request.path:
            if request.path.startswith("/api/"):
                return problem_response(request, status=404, code="not_found", detail="No such resource.")
            return HttpResponseNotFound("Not found.", content_type="text/plain; charset=utf-8")
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return problem_response(
                request,
                status=400,
                code="invalid_query",
                detail="The query string contains a NUL character (%00), which no parameter accepts.",
            )
        return None
