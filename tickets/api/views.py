"""Tickets API. Views translate HTTP; visibility comes from tickets.selectors, rules and writes
from tickets.services (which ask tickets.policies)."""

from __future__ import annotations

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from helpdesk.api import ratelimits
from helpdesk.api.downloads import signed_download_view
from helpdesk.api.pagination import CountKeys, KeysetPagination
from helpdesk.api.parsers import MultiPartParser
from helpdesk.api.schema import errors
from helpdesk.api.serializers import AttachmentOut
from tickets import selectors, services, sla
from tickets.api import examples
from tickets.api.filters import TicketFilter
from tickets.api.serializers import (
    LIST_ROW_FIELDS,
    AssignIn,
    AttachmentIn,
    CommentIn,
    CommentOut,
    EscalateIn,
    TicketIn,
    TicketListOut,
    TicketOut,
    TicketPatchIn,
    TicketRowOut,
    TransitionIn,
)
from tickets.models import Ticket

TAGS = ["tickets"]


@extend_schema_view(
    list=extend_schema(
        tags=TAGS,
        summary="List the tickets you may see",
        description=(
            "Employees see their own tickets; agents their department's and those assigned to them; leads also "
            "triage (no department yet); admins all. `q` matches every word in the title, description and the "
            "comments you may read. Page numbers reach the first 10,000 tickets; `?cursor=` walks any depth at "
            "the cost of the first page (default order, or `ordering=created_at`), and rows created meanwhile never "
            "shift it."
        ),
        responses={200: TicketListOut(many=True), **errors(400)},
        examples=[examples.TICKET_LIST_ITEM],
    ),
    retrieve=extend_schema(
        tags=TAGS,
        summary="Show a ticket with its comments and attachments",
        description="Employees never see internal notes. A ticket you may not see is a 404.",
        responses={200: TicketOut},
        examples=[examples.TICKET_OUT],
    ),
    create=extend_schema(
        tags=TAGS,
        summary="Open a ticket",
        description=(
            "You are the requester. Leave `department` out and routing places it; until then it waits in triage. "
            "Without a job broker routing runs before the response, so it already shows the department, the "
            "assignee and `routing_confidence`; with one, the ticket changes moments later. SLA due times come "
            "from the policy of its priority."
        ),
        request=TicketIn,
        responses={201: TicketOut, **errors(429)},
        examples=[examples.TICKET_IN, examples.TICKET_OUT],
    ),
    partial_update=extend_schema(
        tags=TAGS,
        summary="Change a ticket's wording or triage fields",
        description=(
            "Requesters change title and description of an unresolved ticket; agents and up also priority, "
            "category and tags; leads and admins re-route (department). Send the `version` you read: if the "
            "ticket changed since, 409 `stale_version` and nothing changes."
        ),
        request=TicketPatchIn,
        responses={200: TicketOut, **errors(403, 409)},
        examples=[examples.TICKET_PATCH_IN, examples.TICKET_OUT],
    ),
    destroy=extend_schema(
        tags=TAGS,
        summary="Delete a ticket (admins; soft, restorable in admin)",
        responses={204: None, **errors(403)},
    ),
)
class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Ticket.objects.none()  # scoped per request in get_queryset
    permission_classes = [IsAuthenticated]
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter
    pagination_class = KeysetPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if self.action == "list":  # rows for TicketRowOut, not Tickets
            return selectors.ticket_rows_for(user=self.request.user, fields=LIST_ROW_FIELDS)
        return selectors.tickets_for(user=self.request.user)

    def count_cache_keys(self, request) -> CountKeys | None:
        if self.action != "list":
            return None  # comments and attachments are counted in memory
        key = selectors.list_count_key(user=request.user, params=dict(request.query_params.lists()))
        return key, selectors.GENERATION_KEY

    def get_object(self) -> Ticket:
        return selectors.ticket_for(user=self.request.user, ticket_id=self.kwargs["pk"])

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now(), "sla_targets": sla.targets_by_priority()}

    def get_serializer_class(self):
        return TicketRowOut if self.action == "list" else TicketOut

    def filter_queryset(self, queryset):
        if self.action == "list" and not set(self.request.query_params) - {"page", "page_size", "cursor"}:
            return queryset.order_by("-created_at", "-id")  # no filters: skip building a FilterSet form
        return super().filter_queryset(queryset)

    def _ticket_response(self, ticket: Ticket, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(TicketOut(ticket, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        ratelimits.consume(request, scope="ticket_create_user", key="user")
        data = TicketIn.validated(request.data)
        ticket = services.ticket_create(requester=request.user, **data)
        ticket.refresh_from_db()  # routing may have placed it already (jobs run in-process without a broker)
        return self._ticket_response(ticket, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        data = TicketPatchIn.validated(request.data)
        version = data.pop("version", None)
        ticket = services.ticket_update(actor=request.user, ticket=self.get_object(), version=version, **data)
        return self._ticket_response(ticket)

    def destroy(self, request, *args, **kwargs):
        services.ticket_delete(actor=request.user, ticket=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        summary="Move a ticket through its workflow",
        description=(
            "new → open → pending → resolved → closed, and back to open. Requesters may resolve, close or "
            "reopen their own ticket; agents and up make any allowed move. Others: 409 `invalid_transition`."
        ),
        request=TransitionIn,
        responses={200: TicketOut, **errors(409)},
        examples=[examples.TRANSITION_IN, examples.TICKET_OUT],
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        data = TransitionIn.validated(request.data)
        return self._ticket_response(services.ticket_transition(actor=request.user, ticket=self.get_object(), **data))

    @extend_schema(
        tags=TAGS,
        summary="Assign a ticket, take it, or unassign it",
        description=(
            'An agent takes a ticket of their department with `{"assignee": "me"}`. Leads assign any available '
            "agent of the ticket's department, or `null` to unassign. Anyone else, another department or a "
            "non-agent: 400."
        ),
        request=AssignIn,
        responses={200: TicketOut, **errors(403)},
        examples=[examples.ASSIGN_IN, examples.TICKET_OUT],
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = AssignIn.validated(request.data)
        assignee_id = request.user.pk if data["assignee"] == "me" else data["assignee"]
        ticket = services.ticket_assign_by_id(actor=request.user, ticket=self.get_object(), assignee_id=assignee_id)
        return self._ticket_response(ticket)

    @extend_schema(
        tags=TAGS,
        summary="Escalate a ticket (agents and up)",
        request=EscalateIn,
        responses={200: TicketOut, **errors(403)},
        examples=[examples.ESCALATE_IN, examples.TICKET_OUT],
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        data = EscalateIn.validated(request.data)
        return self._ticket_response(services.ticket_escalate(actor=request.user, ticket=self.get_object(), **data))

    @extend_schema(
        tags=TAGS,
        summary="Comments you may read",
        description="Employees see public replies only; agents and up internal notes too.",
        responses={200: CommentOut(many=True)},
        examples=[examples.COMMENT_OUT],
    )
    @action(detail=True, methods=["get"], url_path="comments")
    def comments(self, request, pk=None):
        comments = selectors.comments_for(user=request.user, ticket=self.get_object())
        page = self.paginate_queryset(comments)
        return self.get_paginated_response(CommentOut(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Reply or add an internal note",
        description=(
            "Appended atomically (concurrent replies are all kept). Only agents and up write internal notes "
            "(`internal: true`; others 403). The first public reply by staff stops the first-response clock."
        ),
        request=CommentIn,
        responses={201: CommentOut, **errors(403)},
        examples=[examples.COMMENT_IN, examples.NOTE_IN, examples.COMMENT_OUT],
    )
    @comments.mapping.post
    def add_comment(self, request, pk=None):
        data = CommentIn.validated(request.data)
        comment = services.comment_add(actor=request.user, ticket=self.get_object(), **data)
        comment["author"] = request.user
        return Response(CommentOut(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        summary="Attachments, with download links",
        description="Each `download_url` is signed for you and expires (5 minutes by default).",
        responses={200: AttachmentOut(many=True)},
        examples=[examples.ATTACHMENT_OUT],
    )
    @action(detail=True, methods=["get"], url_path="attachments", parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        attachments = selectors.attachments_for(user=request.user, ticket=self.get_object())
        page = self.paginate_queryset(attachments)
        return self.get_paginated_response(AttachmentOut(page, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Upload a file (multipart, field `file`)",
        description=(
            "The type is sniffed from the bytes and must be on the allowlist (else 415); too large is 413; every "
            "file is scanned before it is kept, and malware is refused with 422 `malware_detected`. A zip-based "
            "file (docx, xlsx, pptx, odt, ods, zip) is measured before anything opens it: one that unpacks to too "
            "much is 422 `archive_ratio`, `archive_member_too_large`, `archive_too_large`, "
            "`archive_too_many_members` or `archive_nested`, a damaged one 422 `archive_unreadable`."
        ),
        request={"multipart/form-data": AttachmentIn},
        responses={201: AttachmentOut, **errors(403, 409, 422, 503)},
        examples=[examples.ATTACHMENT_OUT],
    )
    @attachments.mapping.post
    def upload(self, request, pk=None):
        ratelimits.consume(request, scope="upload_user", key="user")
        data = AttachmentIn.validated(request.data)
        ticket = self.get_object()
        attachment = services.attachment_add(actor=request.user, ticket=ticket, uploaded=data["file"])
        shown = next(
            a for a in selectors.attachments_for(user=request.user, ticket=ticket) if a["id"] == attachment["id"]
        )
        return Response(AttachmentOut(shown).data, status=status.HTTP_201_CREATED)


AttachmentDownloadView = signed_download_view(
    kind=selectors.DOWNLOAD_KIND,
    find=lambda pk, attachment_id: selectors.attachment_for_download(ticket_id=pk, attachment_id=attachment_id),
    tag=TAGS[0],
    summary="Download an attachment through its signed link",
)
