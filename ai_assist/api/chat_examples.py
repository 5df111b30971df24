"""OpenAPI examples of the chatbot."""

from drf_spectacular.utils import OpenApiExample

_CONVERSATION = "6746c2d0a9c4f20d8e7b1d10"
_ARTICLE = "6745d1a0a9c4f20d8e7b1c80"

CHAT_IN = OpenApiExample("Ask", value={"message": "How do I reset my password?"}, request_only=True)
CHAT_FOLLOW_UP_IN = OpenApiExample(
    "Follow up", value={"message": "and on my phone?", "conversation_id": _CONVERSATION}, request_only=True
)
CHAT_OUT = OpenApiExample(
    "Answered",
    value={
        "answer": (
            "Here are the steps from “Reset a forgotten password”:\n"
            "1. Open the self-service portal from the intranet home page. [1]\n"
            "2. Enter your work email address. [1]\n"
            "3. Approve the sign-in request in your authenticator app, or type the code it shows. [1]\n"
            "4. Choose a new password: at least 12 characters. [1]"
        ),
        "citations": [
            {
                "n": 1,
                "kind": "article",
                "id": _ARTICLE,
                "title": "Reset a forgotten password",
                "url": f"/api/v1/kb/articles/{_ARTICLE}/",
            }
        ],
        "conversation_id": _CONVERSATION,
        "suggestion_id": "6746c2d0a9c4f20d8e7b1d12",
        "path": "extractive",
        "answered": True,
        "offer": None,
    },
    response_only=True,
)
CHAT_NO_ANSWER_OUT = OpenApiExample(
    "No answer, a ticket offered",
    value={
        "answer": (
            "I could not find an answer to that in the knowledge base or in the tickets you can see, so I will not "
            "guess. You can open a ticket and an agent will help."
        ),
        "citations": [],
        "conversation_id": "6746c2d0a9c4f20d8e7b1d20",
        "suggestion_id": "6746c2d0a9c4f20d8e7b1d22",
        "path": "extractive",
        "answered": False,
        "offer": {
            "title": "How do I get a parking permit for the Lisbon office?",
            "description": (
                "How do I get a parking permit for the Lisbon office?\n\nAsked the helpdesk assistant first; it "
                "found no answer in the knowledge base.\nQuestions in that conversation:\n"
                "- How do I get a parking permit for the Lisbon office?"
            ),
        },
    },
    response_only=True,
)
CHAT_EVENT_OUT = OpenApiExample(
    "A streamed event (text/event-stream)",
    value={"event": "token", "data": '{"text": "You can reset your own password at any time [1]"}'},
    response_only=True,
    media_type="text/event-stream",
)
_SUMMARY = {
    "id": _CONVERSATION,
    "title": "How do I reset my password?",
    "ticket_id": None,
    "created_at": "2026-11-26T09:00:00Z",
    "updated_at": "2026-11-26T09:01:10Z",
}
CONVERSATIONS_OUT = OpenApiExample(
    "Your conversations",
    value={"count": 1, "next": None, "previous": None, "results": [_SUMMARY]},
    response_only=True,
)
CONVERSATION_OUT = OpenApiExample(
    "A conversation",
    value={
        **_SUMMARY,
        "messages": [
            {
                "id": "6746c2d0a9c4f20d8e7b1d11",
                "role": "user",
                "text": "How do I reset my password?",
                "citations": [],
                "path": "",
                "suggestion_id": None,
                "created_at": "2026-11-26T09:00:00Z",
            },
            {
                "id": "6746c2d0a9c4f20d8e7b1d13",
                "role": "assistant",
                "text": CHAT_OUT.value["answer"],
                "citations": CHAT_OUT.value["citations"],
                "path": "extractive",
                "suggestion_id": "6746c2d0a9c4f20d8e7b1d12",
                "created_at": "2026-11-26T09:00:01Z",
            },
        ],
    },
    response_only=True,
)
OFFER_IN = OpenApiExample("Open the offered ticket", value={}, request_only=True)
OPENED_TICKET_OUT = OpenApiExample(
    "Ticket opened",
    value={
        "id": "6746c3a0a9c4f20d8e7b1d30",
        "title": "How do I get a parking permit for the Lisbon office?",
        "status": "new",
        "url": "/api/v1/tickets/6746c3a0a9c4f20d8e7b1d30/",
        "conversation_id": "6746c2d0a9c4f20d8e7b1d20",
    },
    response_only=True,
)
