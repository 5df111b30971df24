"""The caller's own in-app notifications (GET /api/v1/notifications/, mark read) and email
preferences. Anyone signed in; never anyone else's (another's id is a 404)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.schema import errors
from notifications import selectors, services
from notifications.api import examples
from notifications.api.serializers import EmailPreferencesIn, EmailPreferencesOut, NotificationOut, ReadAllOut
from notifications.models import Kind, Notification


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(method="filter_unread", help_text="true: unread only; false: read only.")
    kind = filters.ChoiceFilter(choices=Kind.choices)
    ticket = filters.CharFilter(field_name="ticket_id", help_text="A ticket id.")

    class Meta:
        model = Notification
        fields = ["unread", "kind", "ticket"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read=not value)


@extend_schema_view(
    list=extend_schema(
        summary="Your notifications",
        description=(
            "Unread first, then newest first. Filters: `unread` (true/false), `kind`, `ticket`. "
            "New ones also arrive on the live feed (`/ws/feed/`) as `notification.created`."
        ),
        responses={200: NotificationOut(many=True), **errors(401)},
        examples=[examples.NOTIFICATION_OUT],
    ),
)
class NotificationViewSet(viewsets.GenericViewSet):
    queryset = Notification.objects.none()  # the real one is the caller's, in get_queryset
    permission_classes = [IsAuthenticated]
    serializer_class = NotificationOut
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.notifications_for(user=self.request.user)

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NotificationOut(page, many=True).data)

    @extend_schema(
        summary="Mark a notification read",
        request=None,
        responses={200: NotificationOut, **errors(401, 404)},
        examples=[examples.NOTIFICATION_READ],
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = selectors.notification_for(user=request.user, notification_id=pk)
        return Response(NotificationOut(services.notification_read(user=request.user, notification=notification)).data)

    @extend_schema(
        summary="Mark all your notifications read",
        request=None,
        responses={200: ReadAllOut, **errors(401)},
        examples=[examples.READ_ALL_OUT],
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_read_all(user=request.user)})


class EmailPreferencesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["notifications"],
        summary="Your email preferences",
        description="Which kinds of email you get; in-app notifications come whatever you choose.",
        responses={200: EmailPreferencesOut, **errors(401)},
        examples=[examples.PREFERENCES_OUT],
    )
    def get(self, request):
        return Response(EmailPreferencesOut(selectors.email_preferences_for(user=request.user)).data)

    @extend_schema(
        tags=["notifications"],
        summary="Switch kinds of email on or off",
        request=EmailPreferencesIn,
        responses={200: EmailPreferencesOut, **errors(400, 401)},
        examples=[examples.PREFERENCES_IN, examples.PREFERENCES_OUT],
    )
    def patch(self, request):
        data = EmailPreferencesIn.validated(request.data)
        return Response(EmailPreferencesOut(services.email_preferences_update(user=request.user, **data)).data)
