"""Notifications in Django admin (admins only): the email queue, to see what waits or failed and
send it again now (or drop a message that can never go); in-app notifications and preferences,
read-only (their owners change them through the API, and the audit log hears it)."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from notifications.models import EmailPreferences, Notification, OutgoingEmail


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "subject", "sent_at", "attempts", "next_attempt_at")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("to", "subject", "event_id")
    readonly_fields = [field.name for field in OutgoingEmail._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send the selected unsent emails at the next run of the job")
    def retry_now(self, request, queryset):
        count = queryset.filter(sent_at__isnull=True).update(next_attempt_at=timezone.now(), claimed_until=None)
        self.message_user(request, f"{count} email(s) will be sent at the next run.")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "text", "read")
    list_filter = ("kind", "read")
    search_fields = ("user__email", "ticket_id", "event_id")
    list_select_related = ("user",)
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the user's own; only the services change them (and the audit log hears it)


@admin.register(EmailPreferences)
class EmailPreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "reply", "status", "assigned", "escalated", "updated_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    readonly_fields = [field.name for field in EmailPreferences._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the user's own; only the services change them (and the audit log hears it)
