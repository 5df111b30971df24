"""Request and response shapes of the chatbot: a question, the answer with its checked
citations, and the caller's own conversations."""

from __future__ import annotations

from rest_framework import serializers

from ai_assist.api.agent_serializers import PATH_HELP, CitationOut
from ai_assist.models import ChatMessage
from helpdesk.api.serializers import StrictSerializer


class ChatIn(StrictSerializer):
    message = serializers.CharField(max_length=2_000, trim_whitespace=True)
    conversation_id = serializers.CharField(
        max_length=24, required=False, allow_blank=True, default="", help_text="Continue one of your conversations."
    )


class OfferOut(serializers.Serializer):
    title = serializers.CharField()
    description = serializers.CharField()


class ChatOut(serializers.Serializer):
    answer = serializers.CharField(
        help_text="Grounded in what you may read, each statement cited [n]; or the honest no-answer."
    )
    citations = CitationOut(
        many=True, help_text="Articles you may read and resolved tickets you may see; none when unanswered."
    )
    conversation_id = serializers.CharField()
    suggestion_id = serializers.CharField(help_text="Rate it with POST /api/v1/ai/suggestions/{id}/feedback/.")
    path = serializers.CharField(help_text=PATH_HELP)
    answered = serializers.BooleanField(help_text="False: nothing you may read answers it (no citation).")
    offer = OfferOut(
        allow_null=True,
        help_text="When unanswered: a ticket to open, prefilled; POST /api/v1/ai/conversations/{id}/ticket/ opens it.",
    )


CHAT_EVENTS = ["start", "token", "replace", "done", "error"]  # ChatEventEnum in the OpenAPI document


class ChatEventOut(serializers.Serializer):
    """One server-sent event of the answer streamed with `Accept: text/event-stream` (or ?format=sse)."""

    event = serializers.ChoiceField(choices=CHAT_EVENTS)
    data = serializers.CharField(
        help_text=(
            "A JSON document: `start` {conversation_id}; `token` {text}, appended as the model writes; "
            "`replace` {text}, replacing what came before; `done` this endpoint's JSON body; `error` a problem."
        )
    )


class ChatMessageOut(serializers.Serializer):
    id = serializers.CharField()
    role = serializers.ChoiceField(choices=ChatMessage.Role.choices)
    text = serializers.CharField()
    citations = CitationOut(many=True)
    path = serializers.CharField(allow_blank=True)
    suggestion_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class ConversationOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField(help_text="The first question.")
    ticket_id = serializers.CharField(allow_null=True, help_text="The ticket opened from it (none: deflected).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ConversationDetailOut(ConversationOut):
    messages = ChatMessageOut(many=True)


class OfferIn(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")


class OpenedTicketOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="The API path of the ticket.")
    conversation_id = serializers.CharField()
