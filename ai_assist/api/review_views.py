"""Review of the AI over HTTP: feedback on a suggestion, the suggestion log and its statistics,
the knowledge-gap report and drafting an article for a gap. Thin views over ai_assist.services,
ai_assist.selectors and ai_assist.gaps."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_assist import gaps, policies, selectors, services
from ai_assist.api import agent_examples as examples
from ai_assist.api.agent_serializers import (
    ArticleDraftOut,
    FeedbackIn,
    FeedbackOut,
    GapDraftIn,
    GapOut,
    GapQuery,
    StatsOut,
    StatsQuery,
    SuggestionLogQuery,
    SuggestionOut,
)
from ai_assist.api.agent_views import WritesArticles, article_response
from helpdesk.api.schema import errors
from helpdesk.errors import Invalid

TAGS = ["ai"]
STATS_DAYS = 30
MAX_STATS_DAYS = 366
REPRESENTATIVES = 5


class ReviewsTheAi(BasePermission):
    message = "The AI's log, statistics and gap report are for leads and admins."

    def has_permission(self, request, view):
        return policies.can_review_ai(request.user)


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class FeedbackView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Review a suggestion: accepted, edited or rejected",
        description=(
            "Who may: the person it was made for, and staff who may see its ticket (404 otherwise). One review per "
            "person and suggestion: a second one replaces the first (200 instead of 201). `edited` needs "
            "`final_text`, the text you actually used; its distance from the suggestion is counted in words "
            "(Levenshtein: words inserted, deleted or replaced). Routing and search results have no text: accept "
            "or reject them."
        ),
        request=FeedbackIn,
        responses={201: FeedbackOut, 200: FeedbackOut, **errors(400, 401, 404)},
        examples=[examples.FEEDBACK_IN, examples.FEEDBACK_OUT],
    )
    def post(self, request, suggestion_id: str):
        suggestion = selectors.suggestion_for_review(user=request.user, suggestion_id=suggestion_id)
        data = FeedbackIn.validated(request.data)
        review, created = services.feedback_record(actor=request.user, suggestion=suggestion, **data)
        return Response(
            FeedbackOut(
                {
                    "id": review.pk,
                    "suggestion_id": suggestion.pk,
                    "verdict": review.verdict,
                    "final_text": review.final_text,
                    "comment": review.comment,
                    "edit_distance": review.edit_distance,
                    "created_at": review.created_at,
                }
            ).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SuggestionListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, ReviewsTheAi]
    serializer_class = SuggestionOut
    filter_backends: list = []  # the query is validated by SuggestionLogQuery and applied by the selector

    @extend_schema(
        tags=TAGS,
        summary="The AI's suggestion log (leads: their department; admins: all)",
        description=(
            "Every AI output (routing, similar tickets, chat answers, drafts, summaries, articles) newest first, "
            "with its path, model, latency and reviews. A suggestion that drew on an article or ticket you may not "
            "read shows no text, citations or inputs (`withheld`). Leads see the suggestions about tickets they "
            "may see and their own; chatbot conversations stay private to each asker (admins see them)."
        ),
        parameters=[SuggestionLogQuery],
        responses={200: SuggestionOut(many=True), **errors(400, 401, 403)},
        examples=[examples.SUGGESTION_OUT],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.suggestion_log_for(user=self.request.user, **_query(SuggestionLogQuery, self.request))

    def list(self, request, *args, **kwargs):
        page = list(self.paginate_queryset(self.get_queryset()) or [])
        readable = selectors.readable_references(user=request.user, suggestions=page)
        data = SuggestionOut(page, many=True, context={"request": request, "readable": readable}).data
        return self.get_paginated_response(data)


class StatsView(APIView):
    permission_classes = [IsAuthenticated, ReviewsTheAi]

    @extend_schema(
        tags=TAGS,
        summary="How the AI does (leads: their department; admins: all)",
        description=(
            "Over [since, until) (default: the last 30 days, at most 366): per kind and path the count, the "
            "reviews with acceptance and edit rates and the mean edit distance in words, latency p50/p95; routing "
            "accuracy from corrections (a lead moving an AI-routed ticket elsewhere makes that routing wrong); "
            "chatbot deflection (conversations that ended without a ticket). Leads count the suggestions about "
            "tickets they may see, their own, and the chatbot answers given to people of their department."
        ),
        parameters=[StatsQuery],
        responses={200: StatsOut, **errors(400, 401, 403)},
        examples=[examples.STATS_OUT],
    )
    def get(self, request):
        query = _query(StatsQuery, request)
        until = query.get("until") or timezone.now()
        since = query.get("since") or until - timedelta(days=STATS_DAYS)
        if since >= until or until - since > timedelta(days=MAX_STATS_DAYS):
            raise Invalid(
                f"Give a window of more than 0 and at most {MAX_STATS_DAYS} days.",
                errors={"since": [f"Before until, and at most {MAX_STATS_DAYS} days before it."]},
            )
        return Response(StatsOut(selectors.suggestion_stats(user=request.user, since=since, until=until)).data)


def _gap_out(cluster, report: gaps.GapReport) -> dict:
    from ai_assist.answering.citations import citation_url

    representatives = []
    for item in cluster.items[:REPRESENTATIVES]:
        member = report.members[item.id]
        representatives.append(
            {
                "kind": member.kind,
                "id": member.id,
                "title": member.text,
                "status": member.status,
                "created_at": member.created_at,
                "url": citation_url("ticket", member.id) if member.kind == "ticket" else None,
            }
        )
    kinds = [item.kind for item in cluster.items]
    return {
        "id": cluster.id,
        "size": cluster.size,
        "tickets": kinds.count("ticket"),
        "questions": kinds.count("question"),
        "representatives": representatives,
        "keywords": cluster.keywords,
        "outline": {
            "title": cluster.outline.title,
            "sections": [{"heading": s.heading, "points": list(s.points)} for s in cluster.outline.sections],
        },
    }


class GapListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, ReviewsTheAi]
    serializer_class = GapOut
    filter_backends: list = []

    @extend_schema(
        tags=TAGS,
        summary="Knowledge gaps: what people ask that no article answers well (leads and admins)",
        description=(
            "Recent tickets you may see (and, for admins, chatbot questions) whose best match among the published "
            "articles their asker may read is weak (or that the chatbot could not answer), grouped by meaning, "
            "largest group first. Each group: its size, the members nearest its centre, its words and a suggested "
            "article outline. Leads: their department's tickets and triage; no article title, id or score is shown."
        ),
        parameters=[GapQuery],
        responses={200: GapOut(many=True), **errors(400, 401, 403)},
        examples=[examples.GAP_OUT],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        report = gaps.gap_report(reader=request.user, days=_query(GapQuery, request)["days"])
        page = self.paginate_queryset(report.clusters) or []
        return self.get_paginated_response(GapOut([_gap_out(c, report) for c in page], many=True).data)


class GapDraftView(APIView):
    permission_classes = [IsAuthenticated, ReviewsTheAi, WritesArticles]

    @extend_schema(
        tags=TAGS,
        summary="Draft an article for a knowledge gap (leads and admins)",
        description=(
            "The gap's outline becomes a draft article through the knowledge service, to write out and publish. "
            "Everyone of its visibility will read it: ticket titles and answers have personal data removed, and "
            "chatbot questions are counted with the words they share, never quoted. "
            "404 `gap_not_found` when the gap is not in your report any more (reload it)."
        ),
        request=GapDraftIn,
        responses={201: ArticleDraftOut, **errors(400, 401, 403, 404)},
        examples=[examples.GAP_DRAFT_IN, examples.ARTICLE_DRAFT_OUT],
    )
    def post(self, request, gap_id: str):
        data = GapDraftIn.validated(request.data)
        article, suggestion = gaps.gap_draft(
            actor=request.user,
            gap_id=gap_id,
            days=data["days"],
            visibility=data["visibility"],
            category=data["category"],
        )
        return article_response(request, article, suggestion)
