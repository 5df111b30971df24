"""The signed-download endpoint, one for every owner of files (tickets, articles).

The signed link is the credential: no bearer token is needed, so a browser can follow it. The
link was issued only to someone who could read the owner (`helpdesk.files.attachments_with_links`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from helpdesk import files
from helpdesk.api.schema import errors
from helpdesk.errors import NotFound


def signed_download_view(*, kind: str, find: Callable[[str, str], dict], tag: str, summary: str) -> type[APIView]:
    """An APIView serving `GET <owner pk>/attachments/<attachment_id>/download/?signature=...`.

    `kind` is the signing salt of the owner's links; `find(owner_id, attachment_id)` is the owner's
    selector for the attachment element (NotFound when the owner or file is gone).
    """

    class SignedDownloadView(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]

        @extend_schema(
            tags=[tag],
            summary=summary,
            parameters=[OpenApiParameter("signature", str, required=True, description="From `download_url`.")],
            responses={(200, "application/octet-stream"): bytes, **errors(410)},
        )
        def get(self, request, pk: str, attachment_id: str):
            grant = files.read_download(request.query_params.get("signature", ""), kind=kind)
            if (grant.owner_id, grant.attachment_id) != (pk, attachment_id):
                raise NotFound("No such attachment.")
            attachment = find(pk, attachment_id)
            response = FileResponse(
                files.open_stored(attachment["storage_key"]),
                as_attachment=True,
                filename=attachment["name"],
                content_type=attachment["content_type"],
            )
            response["Cache-Control"] = "private, no-store"
            response["Content-Security-Policy"] = "default-src 'none'; sandbox"
            return response

    SignedDownloadView.__name__ = SignedDownloadView.__qualname__ = f"{kind.title()}DownloadView"
    return SignedDownloadView
