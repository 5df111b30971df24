"""GET /api/v1/audit/: the activity log for leads (their department, triage, the knowledge base)
and admins. Read-only: entries are never edited or deleted (any other method is 405)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated

from audit import policies, selectors
from audit.api import examples
from audit.api.serializers import AuditEntryOut
from audit.models import AuditEntry
from helpdesk.api.schema import errors


class ReadsTheLog(BasePermission):
    message = "Only leads and admins read the audit log."

    def has_permission(self, request, view):
        return policies.can_read_log(request.user)


class AuditFilter(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor_id", help_text="A user id.")
    action = filters.CharFilter(help_text="An event name, e.g. ticket.assigned.")
    target_type = filters.CharFilter(field_name="object_type", help_text="ticket, article, category, user, ...")
    target_id = filters.CharFilter(field_name="object_id")
    since = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text="From this time on (ISO 8601).")
    until = filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="Before this time (ISO 8601).")

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "target_type", "target_id", "since", "until"]


@extend_schema_view(
    list=extend_schema(
        summary="The audit log",
        description=(
            "Newest first. Leads see their department's tickets (and moves out of it), triage and the "
            "knowledge base, with the AI's work on them (drafts, summaries, reviews, routing corrections); "
            "admins everything, sign-ins, account, SLA, chatbot and notification changes included."
        ),
        responses={200: AuditEntryOut(many=True), **errors(401, 403)},
        examples=[examples.AUDIT_ENTRY_OUT],
    ),
    retrieve=extend_schema(
        summary="One audit entry",
        responses={200: AuditEntryOut, **errors(401, 403, 404)},
        examples=[examples.AUDIT_ENTRY_OUT],
    ),
)
class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEntry.objects.none()  # the real one is scoped per request in get_queryset
    permission_classes = [IsAuthenticated, ReadsTheLog]
    serializer_class = AuditEntryOut
    filterset_class = AuditFilter
    ordering_fields = ["at"]

    def get_queryset(self):
        return selectors.entries_for(user=self.request.user)
