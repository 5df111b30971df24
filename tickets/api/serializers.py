"""Request and response shapes of the tickets API. What a caller may see is decided before
serialization (selectors, policies); these classes only shape it."""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Department, User
from helpdesk.api.serializers import AttachmentOut, DepartmentBriefOut, PersonOut, StrictSerializer
from helpdesk.tags import MAX_TAG_LENGTH, MAX_TAGS
from tickets import policies, schemas, selectors, sla
from tickets.models import Priority, Status, Ticket


class TicketListOut(serializers.ModelSerializer):
    """A row of the list: no description, comments or search text (they are not even loaded)."""

    department = DepartmentBriefOut(allow_null=True)
    requester = PersonOut()
    assignee = PersonOut(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    comment_count = serializers.SerializerMethodField(help_text="Comments the caller may read.")
    sla_state = serializers.SerializerMethodField(help_text="none, ok, warning, breached, paused or met.")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "title",
            "status",
            "priority",
            "category",
            "tags",
            "department",
            "requester",
            "assignee",
            "comment_count",
            "attachment_count",
            "escalated",
            "sla_state",
            "first_response_due_at",
            "resolution_due_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_comment_count(self, ticket) -> int:
        if policies.sees_internal(self.context["request"].user):
            return ticket.public_comment_count + ticket.internal_comment_count
        return ticket.public_comment_count

    def get_sla_state(self, ticket) -> str:
        return sla.state(ticket, now=self.context.get("now"), targets=self.context.get("sla_targets"))


def _when(value) -> str | None:
    """A datetime as DRF renders it (UTC with a Z)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _person(user_id: str | None, first_name: str, last_name: str, email: str) -> dict | None:
    if user_id is None:
        return None
    return {"id": user_id, "name": User.display_name(first_name, last_name, email)}


class TicketRowOut(TicketListOut):
    """TicketListOut's exact shape, built by hand from one row of `LIST_ROW_FIELDS` (a named tuple,
    not a Ticket): the list renders up to 100 rows per request, and DRF's field-by-field machinery,
    then building four model instances per row, were most of its cost (docs/performance.md)."""

    def to_representation(self, row) -> dict:
        sees_internal = policies.sees_internal(self.context["request"].user)
        return {
            "id": row.pk,
            "title": row.title,
            "status": row.status,
            "priority": row.priority,
            "category": row.category,
            "tags": list(row.tags),
            "department": {"id": row.department_id, "name": row.department__name} if row.department_id else None,
            "requester": _person(
                row.requester_id, row.requester__first_name, row.requester__last_name, row.requester__email
            ),
            "assignee": _person(
                row.assignee_id, row.assignee__first_name, row.assignee__last_name, row.assignee__email
            ),
            "comment_count": row.public_comment_count + (row.internal_comment_count if sees_internal else 0),
            "attachment_count": row.attachment_count,
            "escalated": row.escalated,
            "sla_state": sla.state(row, now=self.context.get("now"), targets=self.context.get("sla_targets")),
            "first_response_due_at": _when(row.first_response_due_at),
            "resolution_due_at": _when(row.resolution_due_at),
            "version": row.version,
            "created_at": _when(row.created_at),
            "updated_at": _when(row.updated_at),
        }


# What the list reads, as `values_list(*LIST_ROW_FIELDS, named=True)`: one SELECT with the three joins,
# and no model instances; description, comments and search text stay in the database. sla.state
# reads the row by the same attribute names a Ticket has.
LIST_ROW_FIELDS = (
    "pk",
    *(
        f
        for f in TicketListOut.Meta.fields
        if f not in ("id", "department", "requester", "assignee", "comment_count", "sla_state")
    ),
    "department_id",
    "department__name",
    "requester_id",
    "requester__email",
    "requester__first_name",
    "requester__last_name",
    "assignee_id",
    "assignee__email",
    "assignee__first_name",
    "assignee__last_name",
    "public_comment_count",
    "internal_comment_count",
    "sla_paused_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
)


class CommentOut(serializers.Serializer):
    id = serializers.CharField()
    author = PersonOut(allow_null=True, help_text="Null when the author's account no longer exists.")
    body = serializers.CharField()
    internal = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ActionsOut(serializers.Serializer):
    transitions = serializers.ListField(child=serializers.CharField(), help_text="Statuses you may move it to.")
    editable = serializers.ListField(child=serializers.CharField(), help_text="Fields you may PATCH.")
    can_comment = serializers.BooleanField()
    can_write_internal = serializers.BooleanField()
    can_assign = serializers.BooleanField()
    can_take = serializers.BooleanField()
    can_escalate = serializers.BooleanField()


class TicketOut(TicketListOut):
    """One ticket: the row plus what is inside it, filtered to what the caller may read."""

    comments = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField(help_text="What you may do with it (for UIs).")

    class Meta(TicketListOut.Meta):
        fields = [
            *TicketListOut.Meta.fields[:2],
            "description",
            *TicketListOut.Meta.fields[2:],
            "routing_confidence",
            "first_responded_at",
            "escalation_reason",
            "escalated_at",
            "resolved_at",
            "closed_at",
            "comments",
            "attachments",
            "actions",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "routing_confidence": {
                "help_text": (
                    "The router's calibrated confidence in its decision: when it placed the ticket, or, for a ticket "
                    "waiting in triage, when it abstained; null when a person placed it."
                )
            }
        }

    @extend_schema_field(CommentOut(many=True))
    def get_comments(self, ticket) -> list[dict]:
        return CommentOut(selectors.comments_for(user=self.context["request"].user, ticket=ticket), many=True).data

    @extend_schema_field(AttachmentOut(many=True))
    def get_attachments(self, ticket) -> list[dict]:
        attachments = selectors.attachments_for(user=self.context["request"].user, ticket=ticket)
        return AttachmentOut(attachments, many=True).data

    @extend_schema_field(ActionsOut)
    def get_actions(self, ticket) -> dict:
        user = self.context["request"].user
        return {
            "transitions": sorted(policies.legal_moves(user, ticket)),
            "editable": sorted(policies.can_edit_fields(user, ticket)),
            "can_comment": policies.can_comment(user, ticket),
            "can_write_internal": policies.can_comment(user, ticket) and policies.sees_internal(user),
            "can_assign": policies.can_assign_others(user, ticket),
            "can_take": policies.can_take(user, ticket) and ticket.assignee_id != user.pk,
            "can_escalate": policies.can_escalate(user, ticket) and not ticket.escalated,
        }


class TagsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS, **kwargs)


class TicketIn(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20_000)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.MEDIUM)
    category = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    tags = TagsField(required=False, default=list)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Leave it out and routing decides; until then the ticket waits in triage.",
    )


class TicketPatchIn(StrictSerializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you read; if the ticket changed since, 409."
    )
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=20_000, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    category = serializers.CharField(max_length=120, required=False, allow_blank=True)
    tags = TagsField(required=False)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True, help_text="Leads and admins: re-route."
    )


class TransitionIn(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices)


class AssignIn(StrictSerializer):
    assignee = serializers.CharField(
        allow_null=True, max_length=24, help_text='A user id, "me" to take it yourself, or null to unassign.'
    )


class EscalateIn(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class CommentIn(StrictSerializer):
    body = serializers.CharField(max_length=schemas.MAX_COMMENT_LENGTH)
    internal = serializers.BooleanField(default=False, help_text="An internal note: agents and up only.")


class AttachmentIn(StrictSerializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)
