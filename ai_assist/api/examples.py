"""OpenAPI examples of the AI API."""

from drf_spectacular.utils import OpenApiExample

_NETWORK = {"id": "6745a1c2e4b0a1b2c3d4e5a1", "name": "Network"}
_ACCESS = {"id": "6745a1c2e4b0a1b2c3d4e5a2", "name": "Access"}
_SIMILAR = {
    "ticket": {
        "id": "6745b3e1a9c4f20d8e7b1c55",
        "title": "VPN drops every hour",
        "status": "resolved",
        "category": "vpn",
        "department": _NETWORK,
        "created_at": "2026-11-20T09:12:00Z",
    },
    "score": 0.91,
}

ROUTE_IN = OpenApiExample(
    "Route a ticket",
    value={"title": "VPN keeps disconnecting", "description": "Since Monday the VPN drops every hour."},
    request_only=True,
)
ROUTE_OUT = OpenApiExample(
    "Routed",
    value={
        "department": _NETWORK,
        "confidence": 0.93,
        "abstained": False,
        "alternatives": [{"department": _ACCESS, "confidence": 0.04}],
        "agent": {"id": "6745a1c2e4b0a1b2c3d4e5f7", "name": "Grace Hopper"},
        "agent_reason": "skills match: vpn; 2 open tickets; available",
        "similar_tickets": [_SIMILAR],
        "model": "stacked-svm-knn-v1",
        "suggestion_id": "6745c0a1a9c4f20d8e7b1c70",
    },
    response_only=True,
)
SIMILAR_IN = OpenApiExample(
    "Find similar tickets",
    value={"title": "VPN keeps disconnecting", "description": "Since Monday the VPN drops every hour.", "limit": 5},
    request_only=True,
)
SIMILAR_OUT = OpenApiExample("Similar tickets", value=[_SIMILAR], response_only=True)
TICKET_ROUTING_OUT = OpenApiExample(
    "Routed when opened",
    value={
        **ROUTE_OUT.value,
        "suggestion_id": "6745c0a1a9c4f20d8e7b1c71",
        "error": "",
        "created_at": "2026-11-25T10:02:11Z",
    },
    response_only=True,
)
