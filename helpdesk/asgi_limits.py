"""The request body limit at the ASGI level: refused while it arrives, not after.

Django's ASGI handler reads the whole body (spooling it to a temporary file) before any
middleware runs, so helpdesk.middleware.RequestBodyLimitMiddleware can only answer 413 once
every byte has been received, and it sees no Content-Length at all in a chunked request.
This wrapper sits in front of Django: it answers 413 at once when the declared Content-Length is
over the limit, and otherwise counts the `http.request` body bytes as they arrive, answering 413
as soon as the count passes the limit (chunked bodies included). Django is then told that the
client went away, so it stops reading and never calls a view.

Limits come from settings: MAX_UPLOAD_BYTES for multipart bodies, MAX_REQUEST_BYTES for the rest,
EMAIL_INTAKE_MAX_BYTES for the providers' inbound email webhooks (/anymail/).
"""

from __future__ import annotations

import json
import re
import uuid
from http import HTTPStatus

from django.conf import settings

from helpdesk.api.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _limit_for(scope: dict) -> int:
    if str(scope.get("path", "")).startswith(settings.EMAIL_INTAKE_PATH):
        return settings.EMAIL_INTAKE_MAX_BYTES  # a provider posting an inbound email (intake)
    content_type = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
    return settings.MAX_UPLOAD_BYTES if content_type == "multipart/form-data" else settings.MAX_REQUEST_BYTES


def _problem(scope: dict, *, detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    incoming = _header(scope, b"x-request-id")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    body = json.dumps(
        {
            "type": PROBLEM_TYPE_PREFIX + "payload_too_large",
            "title": HTTPStatus(413).phrase,
            "status": 413,
            "detail": detail,
            "instance": scope.get("path"),
            "code": "payload_too_large",
            "request_id": request_id,
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        # The rest of the body is not read: the connection cannot carry another request.
        (b"connection", b"close"),
    ]
    return headers, body


class BodyLimitMiddleware:
    """ASGI middleware for the "http" protocol: 413 problem+json before an oversized body is read."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = _limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, send, f"The request body is {int(declared)} bytes; the limit is {limit}.")

        received = 0
        refused = False

        async def counting_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(scope, send, f"The request body is larger than the limit of {limit} bytes.")
                    # Django's handler stops reading (RequestAborted) and sends nothing.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # after our 413, nothing else may be sent on this response
                await send(message)

        return await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def _refuse(scope, send, detail: str) -> None:
        headers, body = _problem(scope, detail=detail)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
