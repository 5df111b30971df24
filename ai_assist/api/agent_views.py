"""Agent tools over HTTP: thin views over ai_assist.agent_tools.

- POST /api/v1/ai/tickets/{id}/draft-reply/ and /summary/: agents and up, on tickets they may
  see (tickets.selectors.ticket_for: 404 otherwise);
- POST /api/v1/kb/articles/from-ticket/: leads and admins. The route is under /kb/ but lives
  here (ai_assist.api.kb_urls, mounted before knowledge's routes by helpdesk/urls.py): knowledge
  never imports tickets (decisions/0013).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_assist import agent_tools, policies
from ai_assist.api import agent_examples as examples
from ai_assist.api.agent_serializers import ArticleDraftOut, ArticleFromTicketIn, DraftReplyOut, SummaryOut
from helpdesk.api import ratelimits
from helpdesk.api.schema import errors
from knowledge import policies as kb_policies
from knowledge import selectors as kb_selectors
from tickets import selectors as ticket_selectors

TAGS = ["ai"]


class UsesAgentTools(BasePermission):
    message = "Drafts and summaries are for agents and up."

    def has_permission(self, request, view):
        return policies.can_use_agent_tools(request.user)


class WritesArticles(BasePermission):
    message = "Only leads and admins draft articles."

    def has_permission(self, request, view):
        return kb_policies.can_write(request.user)


class DraftReplyView(APIView):
    permission_classes = [IsAuthenticated, UsesAgentTools]

    @extend_schema(
        tags=TAGS,
        summary="Draft a reply to the requester (agents and up)",
        description=(
            "A reply to the requester, grounded in the published articles both you and the requester may read "
            "and in the public answers of resolved tickets you both may open (never another requester's ticket), "
            "each statement cited [n]. The ticket is read as its public thread only: an "
            "internal note is never quoted into it. Written by the configured language model, or the extractive "
            "composer (none configured, or the model failed: `path` says which). When nothing relevant is found, "
            "a holding reply with no citation. Logged as a suggestion to rate. 404 when you may not see the ticket."
        ),
        request=None,
        responses={200: DraftReplyOut, **errors(401, 403, 404, 429)},
        examples=[examples.DRAFT_REPLY_OUT],
    )
    def post(self, request, ticket_id: str):
        ratelimits.consume(request, scope="ai_agent_tools_user", key="user")
        ticket = ticket_selectors.ticket_for(user=request.user, ticket_id=ticket_id)
        written = agent_tools.draft_reply(actor=request.user, ticket=ticket)
        return Response(
            DraftReplyOut(
                {
                    "suggestion_id": written.suggestion.pk,
                    "text": written.text,
                    "citations": written.citations,
                    "path": written.path,
                }
            ).data
        )


class SummaryView(APIView):
    permission_classes = [IsAuthenticated, UsesAgentTools]

    @extend_schema(
        tags=TAGS,
        summary="Summarise a ticket for an agent taking over (agents and up)",
        description=(
            "The issue, its state, what was tried and by whom, and the open question, from the thread as you may "
            "read it (internal notes for staff, marked). Logged as a suggestion. 404 when you may not see the ticket."
        ),
        request=None,
        responses={200: SummaryOut, **errors(401, 403, 404, 429)},
        examples=[examples.SUMMARY_OUT],
    )
    def post(self, request, ticket_id: str):
        ratelimits.consume(request, scope="ai_agent_tools_user", key="user")
        ticket = ticket_selectors.ticket_for(user=request.user, ticket_id=ticket_id)
        written = agent_tools.summarise_ticket(actor=request.user, ticket=ticket)
        return Response(
            SummaryOut({"suggestion_id": written.suggestion.pk, "text": written.text, "path": written.path}).data
        )


def article_response(request, article, suggestion) -> Response:
    article = kb_selectors.article_for(user=request.user, article_id=article.pk)
    return Response(
        ArticleDraftOut(article, context={"request": request, "suggestion": suggestion}).data,
        status=status.HTTP_201_CREATED,
    )


class ArticleFromTicketView(APIView):
    permission_classes = [IsAuthenticated, WritesArticles]

    @extend_schema(
        tags=["kb"],
        summary="Draft an article from a resolved ticket (leads and admins)",
        description=(
            "From the ticket's public thread only (the problem in the requester's words, the answers of staff; "
            "never an internal note), with personal data removed before anything is written (e-mail addresses, "
            "phone numbers, names, employee ids, passwords and codes; the draft says what was removed), a draft "
            "article through the knowledge service, to edit and publish. Visibility defaults to agents. "
            "400 `ticket_not_resolved` for a ticket that is not resolved or closed; 404 when you may not see it."
        ),
        request=ArticleFromTicketIn,
        responses={201: ArticleDraftOut, **errors(400, 401, 403, 404, 429)},
        examples=[examples.ARTICLE_FROM_TICKET_IN, examples.ARTICLE_DRAFT_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="ai_agent_tools_user", key="user")
        data = ArticleFromTicketIn.validated(request.data)
        ticket = ticket_selectors.ticket_for(user=request.user, ticket_id=data["ticket"])
        article, suggestion = agent_tools.article_from_ticket(
            actor=request.user, ticket=ticket, visibility=data["visibility"], category=data["category"]
        )
        return article_response(request, article, suggestion)
