"""Django admin for tickets and SLA policies.

Leads see the tickets of their department (and triage) through the same policy as the API;
admins see all, deleted ones too, and restore them. Every change goes through tickets.services,
so the admin obeys the rules, keeps `version` honest and emits the same events: edits, bulk
actions, and replies or internal notes written on the ticket page. The choices offered (assignees,
departments) are the ones the user may pick; the services check again on save.
"""

from __future__ import annotations

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import quote, unquote
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from accounts.models import Department, Role, User
from accounts.selectors import agents_of
from helpdesk.admin import DeletesThroughService, TagsField, apply_each, short_text
from helpdesk.errors import DomainError
from tickets import policies, selectors, services, sla
from tickets.models import ACTIVE_STATUSES, Priority, SlaPolicy, Status, Ticket

_viewer: ContextVar[User] = ContextVar("ticket_admin_viewer")

EDITABLE = ("title", "description", "priority", "category", "tags", "department")
TITLE_CHARS = 60  # the list's title column: longer titles are cut (the full one is the tooltip)


def departments_in_reach(user: User) -> QuerySet[Department]:
    """The departments whose tickets the user works and may route to: their own; admins every one."""
    departments = Department.objects.all()
    return departments if user.role >= Role.ADMIN else departments.filter(pk__in=user.department_ids())


def assignable_agents(user: User, ticket: Ticket | None = None) -> QuerySet[User]:
    """Whom the user may pick as assignee: on the list, the agents of the departments in reach;
    on a ticket, those of its department if the user assigns there, or of the departments the user
    may route it to (triage). The current assignee stays selectable, so an unchanged form is valid."""
    if ticket is None:
        return agents_of(department_ids=departments_in_reach(user).values_list("pk", flat=True))
    departments: set[str] = set()
    if ticket.department_id and policies.can_assign_others(user, ticket):
        departments.add(ticket.department_id)
    if policies.can_route(user, ticket):
        departments.update(departments_in_reach(user).values_list("pk", flat=True))
    agents = agents_of(department_ids=sorted(departments))
    return agents | User.objects.filter(pk=ticket.assignee_id) if ticket.assignee_id else agents


def _person(user: User | None) -> str:
    """A name that fits a list column; the email address as its tooltip."""
    if user is None:
        return "—"
    return short_text(user.get_full_name(), chars=40, tooltip=user.email, css_class="person")


def _stamp(at) -> str:
    return timezone.localtime(at).strftime("%d %b %H:%M")


class SlaStateFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("breached", "Breached"), ("warning", "Due soon"), ("paused", "Paused")]

    def queryset(self, request, queryset):
        now = timezone.now()
        active = Q(status__in=ACTIVE_STATUSES)
        unanswered = Q(first_responded_at__isnull=True)
        if self.value() == "paused":
            return queryset.filter(active, sla_paused_at__isnull=False)
        running = active & Q(sla_paused_at__isnull=True)
        if self.value() == "breached":
            return queryset.filter(
                running & (Q(resolution_due_at__lte=now) | unanswered & Q(first_response_due_at__lte=now))
            )
        if self.value() == "warning":
            soon = Q(pk__in=[])
            for priority, targets in sla.targets_by_priority().items():
                window = {"gt": now, "lte": now + targets.warning}
                soon |= Q(priority=priority) & (
                    Q(**{f"resolution_due_at__{op}": at for op, at in window.items()})
                    | unanswered & Q(**{f"first_response_due_at__{op}": at for op, at in window.items()})
                )
            return queryset.filter(running & soon)
        return queryset


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Not deleted"), ("yes", "Deleted")] if policies.can_delete(request.user) else []

    def queryset(self, request, queryset):
        return queryset.filter(deleted_at__isnull=self.value() != "yes")

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] == "All":
                continue  # the default is "not deleted"
            if self.value() is None and choice.get("query_string", "").endswith("deleted=no"):
                choice["selected"] = True
            yield choice


class DepartmentFilter(admin.RelatedFieldListFilter):
    """Only the departments in the user's reach (a lead: their own), and triage."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_value_display = "Triage (none yet)"

    def field_choices(self, field, request, model_admin):
        return [(department.pk, str(department)) for department in departments_in_reach(request.user)]


class AssignActionForm(ActionForm):
    """The list's action bar; the assignee choices are the agents the viewer may assign to."""

    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, help_text="For “Assign to the chosen agent”."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        viewer = _viewer.get(None)
        if viewer is not None:
            self.fields["assignee"].queryset = assignable_agents(viewer)


class CommentForm(forms.Form):
    """A public reply or an internal note, written on the ticket page (tickets.services decides)."""

    body = forms.CharField(
        label="Text", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80})
    )
    internal = forms.BooleanField(
        label="Internal note", required=False, help_text="Staff only: the requester never sees internal notes."
    )


class TicketForm(forms.ModelForm):
    """Checks a change against the policies before the services make it (they check again)."""

    status = forms.ChoiceField(choices=Status.choices)
    tags = TagsField()

    class Meta:
        model = Ticket
        fields = (*EDITABLE, "status", "assignee")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ticket, actor = self.instance, self.actor
        self.fields["assignee"].queryset = assignable_agents(actor, ticket)
        # Its current department stays selectable (a lead may see one they cannot route to).
        departments = self.fields["department"].queryset
        if ticket.department_id:
            self.fields["department"].queryset = departments | Department.objects.filter(pk=ticket.department_id)

    def clean(self):
        data = super().clean()
        ticket, actor = self.instance, self.actor
        refused = {name for name in EDITABLE if name in self.changed_data} - policies.can_edit_fields(actor, ticket)
        if refused:
            raise forms.ValidationError(f"You may not change: {', '.join(sorted(refused))}.")
        if "status" in self.changed_data and data["status"] not in policies.legal_moves(actor, ticket):
            self.add_error("status", f"A {ticket.status} ticket cannot move to {data['status']}.")
        return data


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketForm
    action_form = AssignActionForm
    actions = ["assign_to_chosen", "close", "soft_delete", "restore"]
    list_display = (
        "short_title",
        "status",
        "priority",
        "department",
        "assignee_name",
        "requester_name",
        "sla_state",
        "next_due",
        "opened",
    )
    list_filter = (DeletedFilter, "status", "priority", SlaStateFilter, "escalated", ("department", DepartmentFilter))
    list_select_related = ("department", "assignee", "requester")
    search_fields = ("title", "public_text", "requester__email")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    empty_value_display = "—"
    readonly_fields = (
        "requester",
        "sla_state",
        "first_response_due_at",
        "resolution_due_at",
        "first_responded_at",
        "escalated",
        "escalation_reason",
        "escalated_at",
        "version",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "deleted_at",
        "deleted_by",
        "conversation",
        "files",
    )
    fieldsets = (
        (None, {"fields": ("title", "description", "requester")}),
        ("Triage", {"fields": ("status", "priority", "category", "tags", "department", "assignee")}),
        (
            "Service level",
            {
                "fields": (
                    "sla_state",
                    "first_response_due_at",
                    "first_responded_at",
                    "resolution_due_at",
                    "escalated",
                    "escalation_reason",
                    "escalated_at",
                )
            },
        ),
        ("Comments", {"fields": ("conversation",)}),
        ("Attachments", {"fields": ("files",)}),
        (
            "Record",
            {
                "fields": (
                    "version",
                    "created_at",
                    "updated_at",
                    "resolved_at",
                    "closed_at",
                    "deleted_at",
                    "deleted_by",
                ),
                "classes": ("collapse",),
            },
        ),
    )

    # --- what a lead sees and may do --------------------------------------------------------

    def get_queryset(self, request):
        tickets = super().get_queryset(request).annotate(next_due_at=sla.next_due_expression())
        if policies.can_delete(request.user):
            return tickets  # admins: deleted ones too (DeletedFilter hides them by default)
        return tickets.filter(policies.visible_tickets(request.user))

    def has_add_permission(self, request):
        return False  # tickets are opened by their requesters, through the API

    def has_delete_permission(self, request, obj=None):
        return False  # soft delete is an action (admins), so nothing is ever lost

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or (obj.deleted_at is None and policies.works_on(request.user, obj)))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not policies.can_delete(request.user):
            actions.pop("soft_delete", None)
            actions.pop("restore", None)
        return actions

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = departments_in_reach(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """Apply the form's changes through the services (one compare-and-set each)."""
        ticket = Ticket.objects.get(pk=obj.pk)
        actor = request.user
        try:
            changes = {name: form.cleaned_data[name] for name in EDITABLE if name in form.changed_data}
            if changes:
                ticket = services.ticket_update(actor=actor, ticket=ticket, version=obj.version, **changes)
            if "assignee" in form.changed_data:
                ticket = services.ticket_assign(actor=actor, ticket=ticket, assignee=form.cleaned_data["assignee"])
            if "status" in form.changed_data and ticket.status != form.cleaned_data["status"]:
                ticket = services.ticket_transition(actor=actor, ticket=ticket, status=form.cleaned_data["status"])
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)

    def save_related(self, request, form, formsets, change):
        pass  # no relations of its own: comments and attachments are embedded

    # --- shown fields -----------------------------------------------------------------------

    @admin.display(description="Title", ordering="title")
    def short_title(self, ticket: Ticket) -> str:
        return short_text(ticket.title, chars=TITLE_CHARS)

    @admin.display(description="Assignee", ordering="assignee__email")
    def assignee_name(self, ticket: Ticket) -> str:
        return _person(ticket.assignee)

    @admin.display(description="Requester", ordering="requester__email")
    def requester_name(self, ticket: Ticket) -> str:
        return _person(ticket.requester)

    @admin.display(description="Opened", ordering="created_at")
    def opened(self, ticket: Ticket) -> str:
        return _stamp(ticket.created_at)

    @admin.display(description="SLA")
    def sla_state(self, ticket: Ticket) -> str:
        state = sla.state(ticket)
        return f"{state}, escalated" if ticket.escalated else state

    @admin.display(description="Next due", ordering=F("next_due_at").asc(nulls_last=True))
    def next_due(self, ticket: Ticket) -> str:
        due = getattr(ticket, "next_due_at", None)
        if due is None:
            return "—"
        stamp = _stamp(due)
        if due <= timezone.now():
            return format_html('<span class="overdue" title="Overdue">{} ⚠</span>', stamp)
        return stamp

    @admin.display(description="Comments (internal notes marked)")
    def conversation(self, ticket: Ticket) -> str:
        comments = selectors.comments_for(user=_viewer.get(), ticket=ticket)
        if not comments:
            return "No comments yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td style='white-space:pre-wrap'>{}</td></tr>",
            (
                (
                    c["created_at"].strftime("%Y-%m-%d %H:%M"),
                    c["author"] or "(deleted user)",
                    "internal note" if c["internal"] else "public",
                    c["body"],
                )
                for c in comments
            ),
        )
        return format_html("<table><tr><th>When</th><th>Who</th><th></th><th>Text</th></tr>{}</table>", rows)

    @admin.display(description="Files")
    def files(self, ticket: Ticket) -> str:
        attachments = selectors.attachments_for(user=_viewer.get(), ticket=ticket)
        if not attachments:
            return "No files."
        return format_html_join(
            format_html("<br>"),
            "<a href='{}'>{}</a> ({} bytes, {})",
            ((a["download_url"], a["name"], a["size"], a["content_type"]) for a in attachments),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = self.get_object(request, unquote(object_id))
        if ticket is not None and self.has_change_permission(request, ticket):
            extra_context = {
                **(extra_context or {}),
                "comment_form": CommentForm(),
                "comment_url": reverse("admin:tickets_ticket_comment", args=[quote(ticket.pk)]),
            }
        token = _viewer.set(request.user)  # the read-only displays show what this viewer may see
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            return response.render() if hasattr(response, "render") else response
        finally:
            _viewer.reset(token)

    def changelist_view(self, request, extra_context=None):
        token = _viewer.set(request.user)  # the action form offers the agents this viewer may assign to
        try:
            response = super().changelist_view(request, extra_context)
            return response.render() if hasattr(response, "render") else response
        finally:
            _viewer.reset(token)

    # --- replies and internal notes ---------------------------------------------------------

    def get_urls(self):
        comment = self.admin_site.admin_view(require_POST(self.comment_view))
        return [path("<path:object_id>/comment/", comment, name="tickets_ticket_comment"), *super().get_urls()]

    def comment_view(self, request, object_id):
        """Add a public reply or an internal note through tickets.services.comment_add."""
        ticket = self.get_object(request, unquote(object_id))
        if ticket is None or not self.has_view_permission(request, ticket):
            raise Http404("No such ticket.")
        form = CommentForm(request.POST)
        form.is_valid()  # both fields are optional: the service says what is wrong with the text
        internal = bool(form.cleaned_data.get("internal"))
        try:
            services.comment_add(
                actor=request.user, ticket=ticket, body=form.cleaned_data.get("body", ""), internal=internal
            )
        except DomainError as error:
            self.message_user(request, f"Not added: {error.detail}", messages.ERROR)
        else:
            added = "Internal note added." if internal else "Public reply added: the requester sees it."
            self.message_user(request, added, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[quote(ticket.pk)]))

    # --- bulk actions -----------------------------------------------------------------------

    def _each(self, request, queryset, verb: str, change) -> None:
        apply_each(self, request, queryset, verb=verb, noun="ticket", change=change)

    def response_action(self, request, queryset):
        if "assignee" in AssignActionForm(request.POST, auto_id=None).errors:
            self.message_user(request, "Choose one of the agents offered in the “Assignee” box.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    @admin.action(description="Assign to the chosen agent")
    def assign_to_chosen(self, request, queryset):
        assignee = AssignActionForm(request.POST).fields["assignee"].clean(request.POST.get("assignee") or None)
        if assignee is None:
            self.message_user(request, "Choose an agent in the “Assignee” box first.", messages.ERROR)
            return
        self._each(
            request,
            queryset,
            "Assigned",
            lambda ticket: services.ticket_assign(actor=request.user, ticket=ticket, assignee=assignee),
        )

    @admin.action(description="Close")
    def close(self, request, queryset):
        self._each(
            request,
            queryset,
            "Closed",
            lambda ticket: services.ticket_transition(actor=request.user, ticket=ticket, status=Status.CLOSED),
        )

    @admin.action(description="Delete (soft; restorable)")
    def soft_delete(self, request, queryset):
        self._each(
            request,
            queryset.filter(deleted_at__isnull=True),
            "Deleted",
            lambda ticket: services.ticket_delete(actor=request.user, ticket=ticket),
        )

    @admin.action(description="Restore deleted")
    def restore(self, request, queryset):
        self._each(
            request,
            queryset.filter(deleted_at__isnull=False),
            "Restored",
            lambda ticket: services.ticket_restore(actor=request.user, ticket=ticket),
        )


@admin.register(SlaPolicy)
class SlaPolicyAdmin(DeletesThroughService, admin.ModelAdmin):
    delete_noun = "SLA policy"
    list_display = ("priority", "first_response_minutes", "resolution_minutes", "warning_minutes", "pause_when_pending")
    ordering = ("priority",)

    def has_add_permission(self, request):
        return policies.can_edit_sla(request.user) and SlaPolicy.objects.count() < len(Priority.choices)

    def has_change_permission(self, request, obj=None):
        return policies.can_edit_sla(request.user)

    def has_delete_permission(self, request, obj=None):
        return policies.can_edit_sla(request.user)

    def save_model(self, request, obj, form, change):
        """Through tickets.services (the audit log hears it; every process reads the new targets)."""
        fields = {name: form.cleaned_data[name] for name in services.SLA_POLICY_FIELDS if name in form.cleaned_data}
        try:
            if change:
                current = SlaPolicy.objects.get(pk=obj.pk)
                changed = {name: value for name, value in fields.items() if name in form.changed_data}
                services.sla_policy_update(actor=request.user, policy=current, **changed)
            else:
                obj.pk = services.sla_policy_create(actor=request.user, **fields).pk
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)

    def delete_through_service(self, request, obj):
        services.sla_policy_delete(actor=request.user, policy=obj)
