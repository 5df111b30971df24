"""The root URL: what this service is, its version, and where to go next (docs, schema, admin,
health). JSON for API clients; a small HTML page when the Accept header prefers text/html."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from helpdesk.version import PRODUCT, version

# (key, URL name, what a person finds there). The REST API itself is under /api/v1/ (the docs list it).
_LINKS = (
    ("docs", "swagger-ui", "API documentation (Swagger UI)"),
    ("redoc", "redoc", "API documentation (ReDoc)"),
    ("schema", "schema", "OpenAPI schema"),
    ("admin", "admin:index", "Administration (leads and admins)"),
    ("healthz", "healthz", "Liveness probe"),
    ("readyz", "readyz", "Readiness probe"),
)


@require_GET
def home(request):
    links = [(key, reverse(name), title) for key, name, title in _LINKS]
    if request.get_preferred_type(["application/json", "text/html"]) == "text/html":
        response = render(request, "helpdesk/home.html", {"product": PRODUCT, "version": version(), "links": links})
    else:
        response = JsonResponse({"name": PRODUCT, "version": version(), "links": {key: url for key, url, _ in links}})
    patch_vary_headers(response, ["Accept"])
    return response
