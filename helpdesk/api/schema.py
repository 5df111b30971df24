"""OpenAPI helpers: the problem+json component and the error responses of every operation."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from helpdesk.api.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX


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


def problem(status: int, *, code: str | None = None, detail: str | None = None) -> OpenApiResponse:
    default_code, title, default_detail, errors = _ERRORS[status]
    value = {
        "type": PROBLEM_TYPE_PREFIX + (code or default_code),
        "title": title,
        "status": status,
        "detail": detail or default_detail,
        "instance": "/api/v1/...",
        "code": code or default_code,
        "request_id": "3f2c9a61d0b84c7e9f1a2b3c4d5e6f70",
    }
    if errors and status == 400:
        value["errors"] = errors
    return OpenApiResponse(
        response=ProblemSerializer,
        description=title,
        examples=[OpenApiExample(f"{status} {code or default_code}", value=value, status_codes=[str(status)])],
    )


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: problem(status) for status in statuses}


class HelpdeskAutoSchema(AutoSchema):
    """Adds the error responses every operation can give, as problem+json, to each operation."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        implied = [429]
        if self.get_auth():
            implied.append(401)
        if method in ("POST", "PUT", "PATCH"):
            implied += [400, 413, 415]
        if "{" in path:
            implied.append(404)
        for status in implied:
            if str(status) not in responses:
                responses[str(status)] = self._problem_response(status)
        for response in responses.values():
            content = response.get("content", {})
            if "application/json" in content and content["application/json"].get("schema", {}).get("$ref", "").endswith(
                "/Problem"
            ):
                content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return operation

    def _problem_response(self, status: int) -> dict:
        component = self.resolve_serializer(ProblemSerializer, "response")
        example = problem(status).examples[0]
        return {
            "description": _ERRORS[status][1],
            "content": {
                PROBLEM_CONTENT_TYPE: {
                    "schema": component.ref,
                    "examples": {example.name.replace(" ", ""): {"value": example.value, "summary": example.name}},
                }
            },
        }
