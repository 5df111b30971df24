"""What the audit API shows of an entry."""

from __future__ import annotations

from rest_framework import serializers

from helpdesk.api.serializers import PersonOut


class TargetOut(serializers.Serializer):
    type = serializers.CharField(
        source="object_type",
        help_text=(
            "ticket, article, category, user, department, sla_policy, suggestion (the AI's), conversation "
            "(the chatbot's) or notification."
        ),
    )
    id = serializers.CharField(source="object_id")


class AuditEntryOut(serializers.Serializer):
    id = serializers.CharField(help_text="The id of the event it records.")
    at = serializers.DateTimeField()
    actor = PersonOut(allow_null=True, help_text="Empty when the system acted or nobody was signed in.")
    action = serializers.CharField(help_text="The event, e.g. ticket.assigned (docs/events.md lists them).")
    target = TargetOut(source="*")
    department = serializers.CharField(
        source="department_id", help_text='The department it belongs to, "triage", "kb" (knowledge base) or empty.'
    )
    changes = serializers.DictField(
        child=serializers.ListField(), help_text="Changed fields: {field: [before, after]}. Never a secret."
    )
    details = serializers.DictField(help_text="What else the event says (the target's state, a reason, ...).")
    request_id = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
