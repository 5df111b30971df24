"""OpenAPI examples of the notifications API."""

from drf_spectacular.utils import OpenApiExample

NOTIFICATION = {
    "id": "6745a1c2e4b0a1b2c3d4e701",
    "kind": "reply",
    "text": "Alex Network Agent replied: Please install the new VPN profile from the portal.",
    "ticket": {"id": "6745a1c2e4b0a1b2c3d4e600", "title": "VPN drops every hour"},
    "actor": {"id": "6745a1c2e4b0a1b2c3d4e5f8", "name": "Alex Network Agent"},
    "event_id": "3f1c2a9b7d4e5f60718293a4",
    "read": False,
    "read_at": None,
    "created_at": "2026-11-26T09:41:07.512Z",
}
NOTIFICATION_OUT = OpenApiExample("A public reply", response_only=True, value=NOTIFICATION)
NOTIFICATION_READ = OpenApiExample(
    "Marked read", response_only=True, value={**NOTIFICATION, "read": True, "read_at": "2026-11-26T09:45:00Z"}
)
READ_ALL_OUT = OpenApiExample("Marked read", response_only=True, value={"marked": 3})
PREFERENCES_OUT = OpenApiExample(
    "No status emails", response_only=True, value={"reply": True, "status": False, "assigned": True, "escalated": True}
)
PREFERENCES_IN = OpenApiExample("Switch status emails off", request_only=True, value={"status": False})
