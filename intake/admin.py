from django.contrib import admin

from intake.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Read-only: what came in by email and what became of it."""

    list_display = ("received_at", "sender", "subject", "source", "outcome", "reason", "ticket_id")
    list_filter = ("outcome", "source")
    search_fields = ("sender", "key", "ticket_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
