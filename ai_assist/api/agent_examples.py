"""OpenAPI examples of the agent tools and of the review of the AI."""

from drf_spectacular.utils import OpenApiExample

_TICKET = "6745b3e1a9c4f20d8e7b1c55"
_ARTICLE = "6746c0a1b2c3d4e5f6a7b8c9"
_SUGGESTION = "6745c0a1a9c4f20d8e7b1c80"
_AGENT = {"id": "6745a1c2e4b0a1b2c3d4e5f7", "name": "Grace Hopper"}
_LEAD = {"id": "6745a1c2e4b0a1b2c3d4e5f8", "name": "Lee Network Lead"}
_NETWORK = {"id": "6745a1c2e4b0a1b2c3d4e5a1", "name": "Network"}
_CATEGORY = {"id": "6746bf10b2c3d4e5f6a7b801", "name": "Network and VPN", "slug": "network-and-vpn"}

DRAFT_REPLY_OUT = OpenApiExample(
    "A drafted reply",
    response_only=True,
    value={
        "suggestion_id": _SUGGESTION,
        "text": (
            "Hello Ada,\n\nThank you for your message. Our article “Reset your password” covers this:\n"
            "1. Open https://id.example.com and choose Forgot password. [1]\n"
            "2. Enter the code sent to your phone. [1]\n\n"
            "Please let us know if this does not solve it.\n\nBest regards,\nGrace"
        ),
        "citations": [
            {
                "n": 1,
                "kind": "article",
                "id": _ARTICLE,
                "title": "Reset your password",
                "url": f"/api/v1/kb/articles/{_ARTICLE}/",
            }
        ],
        "path": "extractive",
    },
)
SUMMARY_OUT = OpenApiExample(
    "A summary",
    response_only=True,
    value={
        "suggestion_id": "6745c0a1a9c4f20d8e7b1c81",
        "text": (
            "Issue: VPN drops every hour: Since Monday my VPN disconnects every hour. (opened by Ada Lovelace)\n"
            "State: Open, high priority; assigned to Grace Hopper (Network); 3 messages after the description, "
            "1 internal note; the requester wrote last: waiting for staff.\n"
            "Tried so far:\n"
            "- I restarted it and reinstalled the client, still drops. (Ada Lovelace)\n"
            "- Checked the gateway logs: the certificate expired. (Grace Hopper, internal note)\n"
            "Open question: What else can I try?"
        ),
        "path": "extractive",
    },
)
_DRAFT_ARTICLE = {
    "id": _ARTICLE,
    "title": "VPN drops every hour",
    "slug": "vpn-drops-every-hour",
    "summary": "Since Monday my VPN disconnects every hour.",
    "body": "## Problem\n\nSince Monday my VPN disconnects every hour.\n\n## Solution\n\nInstall VPN client 5.2.\n",
    "category": _CATEGORY,
    "tags": [],
    "visibility": "agents",
    "status": "draft",
    "author": _LEAD,
    "version": 1,
    "published_at": None,
    "created_at": "2026-11-26T09:30:00Z",
    "updated_at": "2026-11-26T09:30:00Z",
    "change_note": f"Drafted by the AI (extractive) from ticket {_TICKET}.",
    "attachments": [],
    "actions": {"can_edit": True, "can_publish": True, "can_archive": True},
    "suggestion_id": "6745c0a1a9c4f20d8e7b1c82",
    "path": "extractive",
}
ARTICLE_FROM_TICKET_IN = OpenApiExample(
    "Draft an article from a ticket", request_only=True, value={"ticket": _TICKET, "visibility": "everyone"}
)
ARTICLE_DRAFT_OUT = OpenApiExample("A draft article", response_only=True, value=_DRAFT_ARTICLE)
GAP_DRAFT_IN = OpenApiExample("Draft an article for a gap", request_only=True, value={"days": 30})

FEEDBACK_IN = OpenApiExample(
    "Edited before sending",
    request_only=True,
    value={"verdict": "edited", "final_text": "Hello Ada, please install VPN client 5.2. Best regards, Grace"},
)
FEEDBACK_OUT = OpenApiExample(
    "A review",
    response_only=True,
    value={
        "id": "6745c0a1a9c4f20d8e7b1c90",
        "suggestion_id": _SUGGESTION,
        "verdict": "edited",
        "final_text": "Hello Ada, please install VPN client 5.2. Best regards, Grace",
        "comment": "",
        "edit_distance": 21,
        "created_at": "2026-11-26T09:41:00Z",
    },
)
# List examples are one item: drf-spectacular wraps them in the page (count, next, previous, results).
SUGGESTION_OUT = OpenApiExample(
    "A suggestion in the log",
    response_only=True,
    value={
        "id": _SUGGESTION,
        "kind": "draft",
        "path": "extractive",
        "model": "extractive-hybrid-v1",
        "ticket": {"id": _TICKET, "title": "VPN drops every hour"},
        "actor": _AGENT,
        "department": None,
        "confidence": None,
        "abstained": False,
        "latency_ms": 48.2,
        "error": "",
        "created_at": "2026-11-26T09:40:00Z",
        "withheld": False,
        "text": DRAFT_REPLY_OUT.value["text"],
        "citations": DRAFT_REPLY_OUT.value["citations"],
        "inputs": {"ticket": _TICKET, "question": "How do I keep it connected?"},
        "reviews": [
            {
                "user": _AGENT,
                "verdict": "edited",
                "edit_distance": 21,
                "corrected_department": None,
                "comment": "",
                "created_at": "2026-11-26T09:41:00Z",
            }
        ],
    },
)
STATS_OUT = OpenApiExample(
    "Statistics",
    response_only=True,
    value={
        "since": "2026-10-27T10:00:00Z",
        "until": "2026-11-26T10:00:00Z",
        "scope": "department",
        "suggestions": 412,
        "latency_p50_ms": 41.0,
        "latency_p95_ms": 180.5,
        "by_kind": [
            {
                "kind": "draft",
                "path": "extractive",
                "count": 120,
                "reviews": 80,
                "accepted": 44,
                "edited": 30,
                "rejected": 6,
                "acceptance_rate": 0.55,
                "edit_rate": 0.375,
                "mean_edit_distance": 14.2,
                "latency_p50_ms": 52.0,
                "latency_p95_ms": 130.0,
            }
        ],
        "routing": {"routed": 210, "abstained": 61, "corrected": 9, "accuracy": 0.9571},
        "chatbot": {"conversations": 95, "with_ticket": 21, "deflected": 74, "deflection_rate": 0.7789},
    },
)
GAP_OUT = OpenApiExample(
    "A knowledge gap",
    response_only=True,
    value={
        "id": _TICKET,
        "size": 6,
        "tickets": 6,
        "questions": 0,
        "representatives": [
            {
                "kind": "ticket",
                "id": _TICKET,
                "title": "Docking station: external monitor stays black",
                "status": "resolved",
                "created_at": "2026-11-20T09:12:00Z",
                "url": f"/api/v1/tickets/{_TICKET}/",
            }
        ],
        "keywords": ["docking", "monitor", "black", "station"],
        "outline": {
            "title": "Docking station: external monitor stays black",
            "sections": [
                {
                    "heading": "What people ask",
                    "points": ["Docking station: external monitor stays black", "Second screen not detected"],
                },
                {"heading": "What resolved it", "points": ["Update the dock firmware to 1.0.12."]},
                {"heading": "Cover", "points": ["docking, monitor, black, station"]},
            ],
        },
    },
)
