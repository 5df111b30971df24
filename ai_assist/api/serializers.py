"""Request and response shapes of the AI API."""

from __future__ import annotations

from rest_framework import serializers

from helpdesk.api.serializers import DepartmentBriefOut, PersonOut, StrictSerializer


class RouteIn(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20_000, allow_blank=True, default="")


class SimilarIn(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20_000, allow_blank=True, default="")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class TicketRefOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    category = serializers.CharField()
    department = DepartmentBriefOut(allow_null=True)
    created_at = serializers.DateTimeField()


class SimilarOut(serializers.Serializer):
    ticket = TicketRefOut()
    score = serializers.FloatField(
        help_text=(
            "0-1: the probability that it is the same kind of ticket (once routing has history; before, the text "
            "similarity). The order also leaves room for a runner-up kind, so scores need not fall steadily."
        )
    )


class AlternativeOut(serializers.Serializer):
    department = DepartmentBriefOut()
    confidence = serializers.FloatField()


class RouteOut(serializers.Serializer):
    department = DepartmentBriefOut(allow_null=True, help_text="The best department (null: no department exists).")
    confidence = serializers.FloatField(
        allow_null=True, help_text="Calibrated: of tickets routed with confidence p, about p are right."
    )
    abstained = serializers.BooleanField(help_text="True below the threshold: the ticket would wait in triage.")
    alternatives = AlternativeOut(many=True)
    agent = PersonOut(allow_null=True, help_text="The agent it would go to (null when abstained or none free).")
    agent_reason = serializers.CharField()
    similar_tickets = SimilarOut(many=True, help_text="Among the tickets you may see.")
    model = serializers.CharField()
    suggestion_id = serializers.CharField(help_text="The logged suggestion (inputs, output, model, latency).")


class TicketRoutingOut(RouteOut):
    department = DepartmentBriefOut(allow_null=True, help_text="Where the AI placed it (null: it abstained or failed).")
    similar_tickets = SimilarOut(
        many=True, help_text="Possible duplicates found when it was opened, among the tickets you may see now."
    )
    error = serializers.CharField(
        help_text="What went wrong, if anything: routing failed (the ticket stayed in triage) or similar tickets "
        "were unavailable."
    )
    created_at = serializers.DateTimeField(help_text="When the AI routed it.")
