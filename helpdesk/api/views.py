"""Views of the API's own: the problem+json answers for paths and errors outside DRF views.

Django answers some requests before (or instead of) a DRF view: a path no URL matches, a request
it finds suspicious (400), a CSRF failure (403), a crash (500). Under /api/ (and /anymail/, the
inbound email webhooks) each of those is problem+json too; elsewhere (admin, docs) Django's own pages stay.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from helpdesk import metrics
from helpdesk.api.errors import database_unavailable_problem, problem_response, server_error_problem


def _is_api(request: HttpRequest) -> bool:
    """A path machines call: the API, and the providers' inbound email webhooks."""
    return request.path.startswith(("/api/", settings.EMAIL_INTAKE_PATH))


# The API authenticates with bearer tokens, so CSRF does not apply to it; without the exemption a
# POST to an unknown /api/ path would get Django's HTML "CSRF verification failed" page, not a 404.
@csrf_exempt
def api_not_found(request: HttpRequest, *args, **kwargs):
    detail = "No API endpoint at this path."
    if not request.path.endswith("/"):
        detail += " API paths end with a slash."
    return problem_response(request, status=404, code="not_found", detail=detail)


def handler400(request: HttpRequest, exception=None):
    if _is_api(request):
        return problem_response(request, status=400, code="bad_request", detail="The request is malformed.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request: HttpRequest, exception=None):
    if _is_api(request):
        return problem_response(
            request, status=403, code="permission_denied", detail="You do not have permission to do this."
        )
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler404(request: HttpRequest, exception=None):
    if _is_api(request):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest):
    # Django calls this inside its `except` block, so the exception is still at hand.
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        if _is_api(request):
            return database_unavailable_problem(request, error)
        metrics.DATABASE_ERRORS.inc()
        return HttpResponse(
            "The database cannot be reached right now; try again shortly.",
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": "5"},
        )
    if _is_api(request):
        return server_error_problem(request)
    from django.views.defaults import server_error

    return server_error(request)


def csrf_failure(request: HttpRequest, reason: str = ""):
    """settings.CSRF_FAILURE_VIEW: a session-authenticated write without its CSRF token."""
    if _is_api(request):
        return problem_response(
            request,
            status=403,
            code="csrf_failed",
            detail="CSRF verification failed. Send the CSRF token, or authenticate with a bearer token instead.",
        )
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
