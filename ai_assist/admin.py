"""The AI's suggestion log in Django admin: read-only (it is a record)."""

from django.contrib import admin

from ai_assist.models import Suggestion


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "ticket", "department", "confidence", "abstained", "model", "latency_ms")
    list_filter = ("kind", "abstained", "department")
    search_fields = ("id", "ticket__id", "ticket__title")
    readonly_fields = [field.name for field in Suggestion._meta.fields]
    list_select_related = ("ticket", "department")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
