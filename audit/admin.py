"""The activity log in Django admin: read-only; leads see their department's entries."""

from __future__ import annotations

from django.contrib import admin

from audit import policies
from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "object_type", "object_id", "actor", "department_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id",)
    list_select_related = ("actor",)
    date_hierarchy = "at"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(policies.visible_entries(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
