"""OpenAPI examples of the audit API."""

from drf_spectacular.utils import OpenApiExample

from helpdesk import events

AUDIT_ENTRY_OUT = OpenApiExample(
    "An assignment",
    response_only=True,
    value={
        "id": "3f1c2a9b7d4e5f60718293a4",
        "at": "2026-11-26T09:41:07.512Z",
        "actor": {"id": "6745a1c2e4b0a1b2c3d4e5f7", "name": "Grace Hopper"},
        "action": events.TicketAssigned.name,
        "target": {"type": "ticket", "id": "6745a1c2e4b0a1b2c3d4e600"},
        "department": "6745a1c2e4b0a1b2c3d4e5a1",
        "changes": {"assignee": [None, "6745a1c2e4b0a1b2c3d4e5f8"], "status": ["new", "open"]},
        "details": {
            "title": "VPN drops every hour",
            "status": "open",
            "priority": "medium",
            "version": 3,
        },
        "request_id": "0b6f1d8e2c4a4f0e9d3c2b1a09f8e7d6",
        "ip": "10.1.2.3",
    },
)
