"""Response shapes and OpenAPI examples of a person's export and erasure (GDPR; admins only).

The document is made by every app's part (helpdesk.personal_data), so `parts` is an object with
one section per app; docs/decisions/0027-personal-data-export-and-erasure.md says what each holds.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from accounts.api.examples import _USER
from accounts.api.serializers import UserOut
from helpdesk.personal_data import FORMAT


class PersonalDataOut(serializers.Serializer):
    format = serializers.CharField(help_text=f"The document's format and version: `{FORMAT}`.")
    user_id = serializers.CharField(help_text="Whose data it is.")
    exported_at = serializers.DateTimeField()
    parts = serializers.DictField(
        child=serializers.DictField(),
        help_text=(
            "One section per app: `accounts` (the account, never the password hash; revoked sign-ins), "
            "`tickets` (tickets requested, whole, internal notes included; comments and files on other "
            "tickets; tickets assigned), `knowledge` (articles and versions written), `ai_assist` "
            "(chatbot conversations with their messages, suggestions asked for and about their tickets, "
            "reviews), `notifications` (in-app notifications, email preferences, emails), `audit` "
            "(entries where they act, entries about their account)."
        ),
    )


class ErasureOut(serializers.Serializer):
    user = UserOut(help_text="The account as it is now: anonymised and inactive.")
    changed = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Rows changed or deleted, by app and table (zero everywhere when erased already).",
    )


_ID = _USER["id"]
_TICKET = "6745a1c2e4b0a1b2c3d4e601"
_AT = "2026-11-25T09:30:00+00:00"

PERSONAL_DATA_OUT = OpenApiExample(
    "Everything about Ada",
    response_only=True,
    value={
        "format": FORMAT,
        "user_id": _ID,
        "exported_at": "2026-12-01T10:00:00+00:00",
        "parts": {
            "accounts": {
                "account": {
                    **{k: v for k, v in _USER.items() if k != "department"},
                    "department": None,
                    "has_password": True,  # nosec B105 - a flag in a docs example, not a credential
                },
                "revoked_tokens": [{"reason": "logout", "revoked_at": _AT, "expires_at": "2026-12-02T09:30:00+00:00"}],
            },
            "tickets": {
                "requested": [
                    {
                        "id": _TICKET,
                        "title": "VPN drops every hour",
                        "description": "Since Monday my VPN disconnects every hour.",
                        "status": "open",
                        "priority": "medium",
                        "category": "",
                        "tags": [],
                        "department_id": "6745a1c2e4b0a1b2c3d4e5a1",
                        "assignee_id": "6745a1c2e4b0a1b2c3d4e5f7",
                        "comments": [
                            {
                                "id": "6745a1c2e4b0a1b2c3d4e602",
                                "author": "6745a1c2e4b0a1b2c3d4e5f7",
                                "body": "Please restart the VPN client.",
                                "internal": False,
                                "created_at": _AT,
                            }
                        ],
                        "attachments": [],
                        "escalated": False,
                        "escalation_reason": "",
                        "created_at": _AT,
                        "updated_at": _AT,
                        "resolved_at": None,
                        "closed_at": None,
                        "deleted_at": None,
                    }
                ],
                "comments_on_other_tickets": [],
                "attachments_on_other_tickets": [],
                "assigned": [],
            },
            "knowledge": {"articles": [], "versions": []},
            "ai_assist": {
                "conversations": [
                    {
                        "id": "6745a1c2e4b0a1b2c3d4e610",
                        "title": "How do I reset my password?",
                        "ticket_id": None,
                        "created_at": _AT,
                        "updated_at": _AT,
                        "messages": [
                            {
                                "id": "6745a1c2e4b0a1b2c3d4e611",
                                "role": "user",
                                "text": "How do I reset my password?",
                                "citations": [],
                                "path": "",
                                "suggestion_id": None,
                                "created_at": _AT,
                            }
                        ],
                    }
                ],
                "suggestions_asked": [],
                "suggestions_about_their_tickets": [],
                "reviews": [],
            },
            "notifications": {
                "notifications": [],
                "email_preferences": {
                    "reply": True,
                    "status": True,
                    "assigned": True,
                    "escalated": True,
                    "stored": False,
                },
                "emails": [],
            },
            "audit": {"acted": [], "about_their_account": []},
        },
    },
)

ERASURE_OUT = OpenApiExample(
    "Ada erased",
    response_only=True,
    value={
        "user": {
            **_USER,
            "email": f"erased-{_ID}@erased.invalid",
            "first_name": "Erased",
            "last_name": "user",
            "is_active": False,
            "is_available": False,
        },
        "changed": {
            "helpdesk": {"helpdesk_outboxevent": 2},
            "tickets": {"tickets_ticket": 0},
            "ai_assist": {
                "vector_index_tickets": 1,
                "ai_assist_conversation": 1,
                "ai_assist_chatmessage": 2,
                "ai_assist_suggestion": 1,
                "ai_assist_suggestionfeedback": 0,
            },
            "notifications": {
                "notifications_notification": 3,
                "notifications_outgoingemail": 2,
                "notifications_emailpreferences": 0,
            },
            "audit": {"audit_auditentry": 4},
            "accounts": {"accounts_user": 1, "django_admin_log": 0},
        },
    },
)
