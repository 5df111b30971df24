"""The chatbot over HTTP: thin views over ai_assist.chat and ai_assist.selectors.

- POST /api/v1/ai/chat/: everyone signed in, rate limited per user; JSON, or server-sent events
  with `Accept: text/event-stream`;
- GET /api/v1/ai/conversations/ and /{id}/: the caller's own (anyone else's is a 404);
- POST /api/v1/ai/conversations/{id}/ticket/: open the ticket the chatbot offered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_assist import chat, selectors
from ai_assist.api import chat_examples as examples
from ai_assist.api.chat_serializers import (
    ChatEventOut,
    ChatIn,
    ChatOut,
    ConversationDetailOut,
    ConversationOut,
    OfferIn,
    OpenedTicketOut,
)
from helpdesk.api import ratelimits
from helpdesk.api.schema import errors

TAGS = ["ai"]
EVENT_STREAM = "text/event-stream"


class EventStreamRenderer(BaseRenderer):
    """Lets a client ask for `text/event-stream`; the view streams the events itself, and an
    error before the stream starts is one `error` event."""

    media_type = EVENT_STREAM
    format = "sse"
    charset = "utf-8"

    def render(self, data, *_context):
        return sse("error", data).encode()


def sse(event: str, data) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


class ChatView(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        tags=TAGS,
        summary="Ask the helpdesk chatbot",
        description=(
            "An answer grounded in the published articles you may read and, when no article answers, the answers "
            "of resolved tickets you may see; each statement cited [n]. Retrieval is hybrid (keyword and "
            "embeddings) over what you may read only, so nothing else can reach the answer. When nothing "
            "answers: the honest no-answer, no citation, and `offer`, a ticket to open with "
            "POST /api/v1/ai/conversations/{id}/ticket/. Pass `conversation_id` to ask a follow-up: it is read "
            "with your previous question. `path` says what wrote it: `llm`, `extractive` (no model configured) "
            "or `fallback` (the model failed or was too slow). With `Accept: text/event-stream` the answer "
            "streams as server-sent events: `start` {conversation_id}, `token` {text} (as the model writes), "
            "`replace` {text} (this text replaces what came before: the model failed midway, or the citation check "
            "removed a marker already sent), and `done` with "
            "this endpoint's JSON body (the checked citations)."
        ),
        request=ChatIn,
        # The stream is a sequence of events, each described by ChatEventOut (not one ChatOut body).
        responses={(200, "application/json"): ChatOut, (200, EVENT_STREAM): ChatEventOut, **errors(400, 401, 404)},
        examples=[
            examples.CHAT_IN,
            examples.CHAT_FOLLOW_UP_IN,
            examples.CHAT_OUT,
            examples.CHAT_NO_ANSWER_OUT,
            examples.CHAT_EVENT_OUT,
        ],
    )
    def post(self, request):
        ratelimits.consume(request, scope="ai_chat_user", key="user")
        data = ChatIn.validated(request.data)
        arguments = {"user": request.user, "message": data["message"], "conversation_id": data["conversation_id"]}
        if isinstance(request.accepted_renderer, EventStreamRenderer):
            events = chat.ask_stream(**arguments)
            first = next(events)  # a conversation that is not yours is a 404 before the stream starts
            body = (sse(event, payload) for event, payload in _chain(first, events))
            response = StreamingHttpResponse(_served(request, body), content_type=EVENT_STREAM)
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        return Response(ChatOut(chat.answer_payload(chat.ask(**arguments))).data)


def _chain(first, rest):
    yield first
    yield from rest


_DONE = object()


def _served(request, body: Iterator[str]):
    """Under ASGI, an asynchronous iterator that runs each step of `body` in the request's
    thread (its database connection), so every event is sent as it comes; Django would otherwise
    read a synchronous iterator to its end before sending anything. Under WSGI, `body` itself."""
    if not isinstance(request._request, ASGIRequest):
        return body

    async def events():
        step = sync_to_async(next, thread_sensitive=True)
        while (chunk := await step(body, _DONE)) is not _DONE:
            yield chunk

    return events()


class ConversationListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ConversationOut

    def get_queryset(self):
        return selectors.conversations_for(user=self.request.user)

    @extend_schema(
        tags=TAGS,
        summary="Your conversations with the chatbot",
        description="Yours only, latest first; `ticket_id` is the ticket you opened from one (none: it deflected).",
        examples=[examples.CONVERSATIONS_OUT],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ConversationDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="One of your conversations, turn by turn",
        description=(
            "404 for anyone else's. Citations are checked again: a source you may no longer read loses its citation."
        ),
        responses={200: ConversationDetailOut, **errors(401, 404)},
        examples=[examples.CONVERSATION_OUT],
    )
    def get(self, request, conversation_id: str):
        return Response(
            ConversationDetailOut(
                selectors.conversation_detail(user=request.user, conversation_id=conversation_id)
            ).data
        )


class ConversationTicketView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Open the ticket the chatbot offered",
        description=(
            "Creates a ticket from one of your conversations through the tickets service (routed like any new "
            "ticket), prefilled with the chatbot's offer unless you give `title` or `description`, and links it "
            "to the conversation. 409 when one was already opened from it; 404 for anyone else's conversation."
        ),
        request=OfferIn,
        responses={201: OpenedTicketOut, **errors(400, 401, 404, 409)},
        examples=[examples.OFFER_IN, examples.OPENED_TICKET_OUT],
    )
    def post(self, request, conversation_id: str):
        ratelimits.consume(request, scope="ticket_create_user", key="user")
        data = OfferIn.validated(request.data)
        ticket = chat.open_ticket(user=request.user, conversation_id=conversation_id, **data)
        return Response(
            OpenedTicketOut(
                {
                    "id": ticket.pk,
                    "title": ticket.title,
                    "status": ticket.status,
                    "url": reverse("ticket-detail", kwargs={"pk": ticket.pk}),
                    "conversation_id": conversation_id,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
