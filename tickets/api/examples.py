"""OpenAPI examples of the tickets API (what the docs show, and what README's curl sends)."""

from drf_spectacular.utils import OpenApiExample

_ID = "6745b3e1a9c4f20d8e7b1c55"
_NETWORK = {"id": "6745a1c2e4b0a1b2c3d4e5a1", "name": "Network"}
_EMPLOYEE = {"id": "6745a1c2e4b0a1b2c3d4e5f6", "name": "Ada Lovelace"}
_AGENT = {"id": "6745a1c2e4b0a1b2c3d4e5f7", "name": "Grace Hopper"}
_COMMENT = {
    "id": "6745b4a0a9c4f20d8e7b1c60",
    "author": _AGENT,
    "body": "Thanks, Ada. Please try the new VPN profile from the portal and tell me if it still drops.",
    "internal": False,
    "created_at": "2026-11-25T09:41:00Z",
}
_ATTACHMENT = {
    "id": "6745b4f2a9c4f20d8e7b1c61",
    "name": "vpn-log.txt",
    "size": 18234,
    "content_type": "text/plain",
    "uploaded_by": _EMPLOYEE["id"],
    "created_at": "2026-11-25T09:45:00Z",
    "download_url": f"/api/v1/tickets/{_ID}/attachments/6745b4f2a9c4f20d8e7b1c61/download/?signature=eyJvIjoi...",
    "download_url_expires_at": "2026-11-25T09:50:00Z",
}
_ROW = {
    "id": _ID,
    "title": "VPN drops every hour",
    "status": "open",
    "priority": "high",
    "category": "vpn",
    "tags": ["vpn", "remote"],
    "department": _NETWORK,
    "requester": _EMPLOYEE,
    "assignee": _AGENT,
    "comment_count": 1,
    "attachment_count": 1,
    "escalated": False,
    "sla_state": "ok",
    "first_response_due_at": "2026-11-25T10:30:00Z",
    "resolution_due_at": "2026-11-25T17:30:00Z",
    "version": 4,
    "created_at": "2026-11-25T09:30:00Z",
    "updated_at": "2026-11-25T09:45:00Z",
}

TICKET_LIST_ITEM = OpenApiExample("A ticket in the list", response_only=True, value=_ROW)
TICKET_OUT = OpenApiExample(
    "A ticket",
    response_only=True,
    value={
        **_ROW,
        "description": "Since Monday my VPN disconnects about every hour and I lose my remote session.",
        "routing_confidence": 0.97,
        "first_responded_at": "2026-11-25T09:41:00Z",
        "escalation_reason": "",
        "escalated_at": None,
        "resolved_at": None,
        "closed_at": None,
        "comments": [_COMMENT],
        "attachments": [_ATTACHMENT],
        "actions": {
            "transitions": ["closed", "pending", "resolved"],
            "editable": ["category", "description", "priority", "tags", "title"],
            "can_comment": True,
            "can_write_internal": True,
            "can_assign": False,
            "can_take": False,
            "can_escalate": True,
        },
    },
)
TICKET_IN = OpenApiExample(
    "Open a ticket",
    request_only=True,
    value={
        "title": "VPN drops every hour",
        "description": "Since Monday my VPN disconnects about every hour and I lose my remote session.",
        "priority": "high",
        "tags": ["vpn"],
    },
)
TICKET_PATCH_IN = OpenApiExample("Raise the priority", request_only=True, value={"priority": "urgent", "version": 4})
TRANSITION_IN = OpenApiExample("Resolve", request_only=True, value={"status": "resolved"})
ASSIGN_IN = OpenApiExample("Take it yourself", request_only=True, value={"assignee": "me"})
ESCALATE_IN = OpenApiExample(
    "Escalate", request_only=True, value={"reason": "Whole sales floor affected; needs the network lead."}
)
COMMENT_IN = OpenApiExample("A public reply", request_only=True, value={"body": _COMMENT["body"]})
NOTE_IN = OpenApiExample(
    "An internal note",
    request_only=True,
    value={"body": "Firewall logs show idle timeouts at 60 min; check the new policy.", "internal": True},
)
COMMENT_OUT = OpenApiExample("A comment", response_only=True, value=_COMMENT)
ATTACHMENT_OUT = OpenApiExample("An attachment", response_only=True, value=_ATTACHMENT)
