"""Query parameters of the ticket list: filters, `q` search and ordering."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters

from helpdesk.api.filters import IsoDateTimeFromToRangeFilter
from tickets import policies
from tickets.models import Priority, Status, Ticket

MAX_SEARCH_WORDS = 8


class PersonFilter(filters.CharFilter):
    """A user id, `me`, or (where it makes sense) `none`."""

    def filter(self, queryset, value):
        if not value:
            return queryset
        if value == "none":
            return queryset.filter(**{f"{self.field_name}__isnull": True})
        if value == "me":
            value = self.parent.request.user.pk
        return queryset.filter(**{f"{self.field_name}_id": value})


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Status.choices, help_text="Repeat for several: ?status=new&status=open"
    )
    priority = filters.MultipleChoiceFilter(choices=Priority.choices)
    department = PersonFilter(field_name="department", help_text="A department id, or `none` for triage.")
    assignee = PersonFilter(field_name="assignee", help_text="A user id, `me`, or `none` for unassigned.")
    requester = PersonFilter(field_name="requester", help_text="A user id or `me`.")
    escalated = filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true", help_text="true or false"
    )
    created = IsoDateTimeFromToRangeFilter(
        field_name="created_at", help_text="created_after / created_before (ISO 8601)."
    )
    q = filters.CharFilter(
        method="search", max_length=200, help_text="Words that must all appear in the title, description or comments."
    )
    ordering = filters.OrderingFilter(
        fields=(
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
            ("priority_rank", "priority"),
            ("resolution_due_at", "due"),
        ),
        help_text="created_at, updated_at, priority, due; prefix - for descending. Default: -created_at.",
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def search(self, queryset, name, value):
        """Every word must appear; employees search only the text they may read (no internal notes)."""
        words = value.split()[:MAX_SEARCH_WORDS]
        staff = policies.sees_internal(self.request.user)
        for word in words:
            match = Q(public_text__icontains=word)
            if staff:
                match |= Q(internal_text__icontains=word)
            queryset = queryset.filter(match)
        return queryset

    @property
    def qs(self):
        queryset = super().qs
        ordering = list(queryset.query.order_by) or ["-created_at"]
        # A unique tie-break in the first key's direction keeps pages stable, and makes the two
        # created_at orders walk the (created_at, id) index either way (the cursor form needs it).
        return queryset.order_by(*ordering, "-id" if ordering[0].startswith("-") else "id")
