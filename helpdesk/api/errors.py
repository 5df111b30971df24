"""Every error under /api/ rendered as application/problem+json.

Services raise `helpdesk.errors.DomainError` subclasses; DRF and Django raise their own. All of
them leave here as RFC 9457 problem details: type, title, status, detail, instance, code, request_id,
and `errors` ({field: [messages]}) for validation.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from helpdesk import metrics
from helpdesk.errors import DomainError

logger = logging.getLogger("helpdesk.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:helpdesk:problem:"


def problem_response(
    request: HttpRequest | None,
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
) -> JsonResponse:
    body = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.path if request is not None else None,
        "code": code,
        "request_id": getattr(request, "request_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "items.0.name": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def _validation_summary(errors: dict[str, list[str]]) -> str:
    fields = [name for name in errors if name != "non_field_errors"]
    if fields:
        return "Some fields are not valid: " + ", ".join(fields) + "."
    return next(iter(errors.values()))[0] if errors else "The request is not valid."


def _code_of(exc: drf.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    code = codes.get("code") if isinstance(codes, dict) else None
    if isinstance(code, str):
        return code  # simplejwt's token errors
    return exc.default_code


def _detail_of(exc: drf.APIException) -> str:
    detail: object = exc.detail
    if isinstance(detail, dict):
        detail = detail.get("detail", exc.default_detail)
    if isinstance(detail, list):
        detail = " ".join(str(item) for item in detail)
    return str(detail)


def problem_exception_handler(exc: Exception, context: dict) -> JsonResponse:
    """DRF's EXCEPTION_HANDLER: every exception in an API view becomes problem+json."""
    request = context.get("request")
    django_request = getattr(request, "_request", request)

    if isinstance(exc, DomainError):
        set_rollback()
        return problem_response(
            django_request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            headers=exc.headers,
        )
    if isinstance(exc, RequestDataTooBig):
        return problem_response(
            django_request,
            status=413,
            code="payload_too_large",
            detail="The request body is larger than this endpoint accepts.",
        )
    if isinstance(exc, SuspiciousOperation):
        return bad_request_problem(django_request, exc)
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable_problem(django_request, exc)
    if isinstance(exc, (Http404, PermissionDenied, drf.APIException)):
        response = drf_exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After
        if response is None:  # DRF answers all three kinds; should it not, a 500 that says nothing
            return server_error_problem(django_request, exc)
        if isinstance(exc, Http404):
            exc = drf.NotFound()
        elif isinstance(exc, PermissionDenied):
            exc = drf.PermissionDenied()
        headers = {name: response[name] for name in ("WWW-Authenticate", "Retry-After") if name in response}
        if isinstance(exc, drf.ValidationError):
            errors = flatten_errors(exc.detail)
            return problem_response(
                django_request,
                status=400,
                code="validation_error",
                title="Validation failed",
                detail=_validation_summary(errors),
                errors=errors,
            )
        return problem_response(
            django_request,
            status=exc.status_code,
            code=_code_of(exc),
            detail=_detail_of(exc),
            headers=headers,
        )

    set_rollback()
    return server_error_problem(django_request, exc)


def server_error_problem(request: HttpRequest | None, exc: BaseException | None = None) -> JsonResponse:
    """A 500 that tells the caller only the request id; the traceback goes to the log."""
    request_id = getattr(request, "request_id", None)
    logger.error(
        "Unhandled error on %s (request_id=%s)",
        getattr(request, "path", "?"),
        request_id,
        exc_info=exc if exc is not None else True,
    )
    return problem_response(
        request,
        status=500,
        code="server_error",
        detail=f"Something went wrong on our side. Quote request id {request_id} when reporting it.",
    )


def bad_request_problem(request: HttpRequest | None, exc: SuspiciousOperation) -> JsonResponse:
    """Django's own refusals of a request (too many fields or files, a broken header): 400.
    Logged as Django logs them, under django.security, without the request's content."""
    logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(
        "%s on %s", exc.__class__.__name__, getattr(request, "path", "?")
    )
    if isinstance(exc, TooManyFieldsSent):
        code, detail = "too_many_fields", "The request has more query or form fields than the server accepts."
    elif isinstance(exc, TooManyFilesSent):
        code, detail = "too_many_files", "The request has more files than the server accepts."
    else:
        code, detail = "bad_request", "The request is malformed."
    return problem_response(request, status=400, code=code, detail=detail)


# Clients may retry after this many seconds; the database is usually back within that.
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable_problem(request: HttpRequest | None, exc: BaseException) -> JsonResponse:
    """The database cannot be reached (or dropped the connection): 503, never a 500.
    The log line names the error's class and message (drivers put no password there)."""
    metrics.DATABASE_ERRORS.inc()
    logger.error(
        "Database unavailable on %s (request_id=%s): %s: %s",
        getattr(request, "path", "?"),
        getattr(request, "request_id", None),
        exc.__class__.__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
    )
    return problem_response(
        request,
        status=503,
        code="database_unavailable",
        title="Service Unavailable",
        detail="The database cannot be reached right now; try again shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
