"""OpenAPI helpers: the problem+json component and the error responses of every operation.

The document is the contract a generated client and a fuzzer hold the server to (`make fuzz`), so
HelpdeskAutoSchema states what the server really does, for every operation, including new ones:
- the error statuses any operation can answer (see `implied_errors`), as problem+json;
- request bodies built on StrictSerializer refuse unknown fields: `additionalProperties: false`;
- a viewset's filters are query parameters of its `list` only: an extra action that answers a list
  (a ticket's comments) does not filter by them unless it names its own `filter_backends`.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from helpdesk.api.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX
from helpdesk.api.serializers import StrictSerializer


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A URN naming the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong and what to do about it.")
    instance = serializers.CharField(help_text="The path of the request.")
    code = serializers.CharField(help_text="A stable, machine-readable code.")
    request_id = serializers.CharField(help_text="Quote it when reporting a problem.")
    # DRF's metaclass pops declared fields off the class, so Serializer.errors is not shadowed.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation only: messages per field.",
    )


_ERRORS = {
    400: (
        "validation_error",
        "Validation failed",
        "Some fields are not valid: email.",
        {"email": ["Enter a valid email address."]},
    ),
    401: ("not_authenticated", "Unauthorized", "Authentication credentials were not provided.", None),
    403: ("permission_denied", "Forbidden", "You do not have permission to perform this action.", None),
    404: ("not_found", "Not Found", "No such object, or you may not see it.", None),
    405: ("method_not_allowed", "Method Not Allowed", 'Method "PUT" not allowed.', None),
    409: ("conflict", "Conflict", "The object changed meanwhile; reload and try again.", None),
    410: ("link_expired", "Link expired", "This download link has expired; ask for a new one.", None),
    413: (
        "payload_too_large",
        "Request Entity Too Large",
        "The request body is 2000000 bytes; the limit is 1048576 bytes.",
        None,
    ),
    415: ("unsupported_media_type", "Unsupported Media Type", 'Unsupported media type "text/plain" in request.', None),
    422: ("malware_detected", "Malware detected", "The file was refused: it contains malware.", None),
    429: ("rate_limited", "Too many requests", "Too many attempts. Wait before trying again.", None),
    503: (
        "scanner_unavailable",
        "Scanner unavailable",
        "The virus scanner is not available, so the file was not accepted. Try again in a minute.",
        None,
    ),
}
# What any operation answers when the database does not (helpdesk.api.errors.database_unavailable_problem).
DATABASE_UNAVAILABLE = {
    "code": "database_unavailable",
    "title": "Service Unavailable",
    "detail": "The database cannot be reached right now; try again shortly.",
}


def _problem_example(status: int, code: str | None, detail: str | None, title: str | None) -> tuple[str, str, dict]:
    default_code, default_title, default_detail, errors = _ERRORS[status]
    code, title = code or default_code, title or default_title
    value = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail or default_detail,
        "instance": "/api/v1/...",
        "code": code,
        "request_id": "3f2c9a61d0b84c7e9f1a2b3c4d5e6f70",
    }
    if errors and status == 400:
        value["errors"] = errors
    return code, title, value


def problem(
    status: int, *, code: str | None = None, detail: str | None = None, title: str | None = None
) -> OpenApiResponse:
    code, title, value = _problem_example(status, code, detail, title)
    return OpenApiResponse(
        response=ProblemSerializer,
        description=title,
        examples=[OpenApiExample(f"{status} {code}", value=value, status_codes=[str(status)])],
    )


def plain_problem(status: int, *, code: str, detail: str, description: str, headers: dict | None = None) -> dict:
    """`problem`, written out as the document holds it: for the plain Django views that apps add to
    the document with a postprocessing hook (DRF's schema generator never sees them)."""
    code, _title, value = _problem_example(status, code, detail, None)
    response = {
        "description": description,
        "content": {
            PROBLEM_CONTENT_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "examples": {f"{status}{code}": {"value": value, "summary": f"{status} {code}"}},
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: problem(status) for status in statuses}


def implied_errors(*, method: str, path: str, authenticated: bool, paginated: bool) -> list[int]:
    """The error statuses an operation can answer whatever its view does:
    400 a NUL character or too many fields in the query string (any request), or a body that does
    not validate; 401 a missing, expired or forged token; 404 an id that names nothing you may see,
    or a page past the last; 413 a body over the limit and 415 one that is not JSON (writes);
    429 a rate limit; 503 the database does not answer."""
    statuses = [400, 429, 503]
    if authenticated:
        statuses.append(401)
    if method in ("POST", "PUT", "PATCH"):
        statuses += [413, 415]
    if "{" in path or paginated:
        statuses.append(404)
    return sorted(statuses)


class HelpdeskAutoSchema(AutoSchema):
    """Adds the error responses every operation can give, as problem+json, to each operation."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        paginated = any(p.get("in") == "query" and p.get("name") == "page" for p in operation.get("parameters", []))
        implied = implied_errors(method=method, path=path, authenticated=bool(self.get_auth()), paginated=paginated)
        for status in implied:
            if str(status) not in responses:
                responses[str(status)] = self._problem_response(status)
        for response in responses.values():
            # An error is problem+json whatever the client asked for (a view with another renderer,
            # the chatbot's event stream, still answers its errors so): one media type, no other.
            content = response.get("content", {})
            problem_media = [m for m in content.values() if m.get("schema", {}).get("$ref", "").endswith("/Problem")]
            if problem_media:
                response["content"] = {PROBLEM_CONTENT_TYPE: problem_media[0]}
        return operation

    def get_filter_backends(self) -> list:
        # DRF filters only where a view calls filter_queryset: ListModelMixin.list does; an extra
        # action of the viewset (GET /tickets/{id}/comments/) does not, unless it sets its own
        # filter_backends (an @action keyword, which lands on the view instance).
        action = getattr(self.view, "action", None)
        if action not in (None, "list") and "filter_backends" not in vars(self.view):
            return []
        return super().get_filter_backends()

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(force_instance(serializer), StrictSerializer):
            schema["additionalProperties"] = False  # StrictSerializer answers 400 for a field it does not take
        return schema

    def _problem_response(self, status: int) -> dict:
        component = self.resolve_serializer(ProblemSerializer, "response")
        described = problem(status, **DATABASE_UNAVAILABLE) if status == 503 else problem(status)
        example, description = described.examples[0], described.description
        return {
            "description": description,
            "content": {
                PROBLEM_CONTENT_TYPE: {
                    "schema": component.ref,
                    "examples": {example.name.replace(" ", ""): {"value": example.value, "summary": example.name}},
                }
            },
        }
