"""Request id and body size limit: the first things every request meets."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.utils.deprecation import MiddlewareMixin

from helpdesk.api.errors import problem_response
from helpdesk.log import current_request_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware(MiddlewareMixin):
    """Give each request an id (a proxy's X-Request-ID if it looks safe), for logs and errors."""

    def process_request(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        current_request_id.set(request.request_id)

    def process_response(self, request, response):
        if getattr(request, "request_id", None):
            response["X-Request-ID"] = request.request_id
        return response


class RequestBodyLimitMiddleware(MiddlewareMixin):
    """Refuse a body larger than the limit with 413 before anything reads it.

    DRF's JSON parser reads the stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone
    would not stop a large JSON body. Multipart uploads get their own, larger limit.
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
        if length > limit:
            return problem_response(
                request,
                status=413,
                code="payload_too_large",
                detail=f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return None
