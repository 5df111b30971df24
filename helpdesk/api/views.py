"""Views of the API's own: the problem+json answers for paths and errors outside DRF views."""

from __future__ import annotations

from django.http import HttpRequest

from helpdesk.api.errors import problem_response, server_error_problem


def api_not_found(request: HttpRequest, *args, **kwargs):
    detail = "No API endpoint at this path."
    if not request.path.endswith("/"):
        detail += " API paths end with a slash."
    return problem_response(request, status=404, code="not_found", detail=detail)


def handler404(request: HttpRequest, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest):
    if request.path.startswith("/api/"):
        return server_error_problem(request)
    from django.views.defaults import server_error

    return server_error(request)
