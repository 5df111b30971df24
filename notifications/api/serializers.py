"""What the notifications API shows, and takes."""

from __future__ import annotations

from rest_framework import serializers

from helpdesk.api.serializers import PersonOut, StrictSerializer
from notifications.models import Kind


class NotificationTicketOut(serializers.Serializer):
    id = serializers.CharField(source="ticket_id")
    title = serializers.CharField(source="ticket_title")


class NotificationOut(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=Kind.choices, help_text="reply, status, assigned or escalated.")
    text = serializers.CharField(help_text="One line of plain text (escape it when you render HTML).")
    ticket = NotificationTicketOut(source="*")
    actor = PersonOut(allow_null=True, help_text="Who did it; null when the system did (routing, the SLA job).")
    event_id = serializers.CharField(help_text="The domain event it tells about; also its id on the live feed.")
    read = serializers.BooleanField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReadAllOut(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread.")


class EmailPreferencesOut(serializers.Serializer):
    reply = serializers.BooleanField(help_text=Kind.REPLY.label)
    status = serializers.BooleanField(help_text=Kind.STATUS.label)
    assigned = serializers.BooleanField(help_text=Kind.ASSIGNED.label)
    escalated = serializers.BooleanField(help_text=Kind.ESCALATED.label)


class EmailPreferencesIn(StrictSerializer):
    reply = serializers.BooleanField(required=False, help_text=Kind.REPLY.label)
    status = serializers.BooleanField(required=False, help_text=Kind.STATUS.label)
    assigned = serializers.BooleanField(required=False, help_text=Kind.ASSIGNED.label)
    escalated = serializers.BooleanField(required=False, help_text=Kind.ESCALATED.label)
