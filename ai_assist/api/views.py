"""AI API: thin views over ai_assist.routing and ai_assist.selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_assist import policies, routing, selectors
from ai_assist.api import examples
from ai_assist.api.serializers import RouteIn, RouteOut, SimilarIn, SimilarOut, TicketRoutingOut
from helpdesk.api import ratelimits
from helpdesk.api.schema import errors

TAGS = ["ai"]


class CanSeeRouting(BasePermission):
    message = "Routing is for agents and up."

    def has_permission(self, request, view):
        return policies.can_see_routing(request.user)


def _similar_out(found) -> list[dict]:
    return [{"ticket": ticket, "score": round(score, 6)} for ticket, score in found]


class RouteView(APIView):
    permission_classes = [IsAuthenticated, CanSeeRouting]

    @extend_schema(
        tags=TAGS,
        summary="Where would this ticket go? (agents and up)",
        description=(
            "The department with a calibrated confidence and the runner-ups, whether routing would abstain "
            "(below AI_ROUTER_ABSTAIN_BELOW the ticket waits in triage), the agent it would go to (skills, open "
            "load, availability, with the reason) and the most similar tickets you may see. Nothing is changed; "
            "the suggestion is logged."
        ),
        request=RouteIn,
        responses={200: RouteOut, **errors(403, 429)},
        examples=[examples.ROUTE_IN, examples.ROUTE_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="ai_route_user", key="user")
        data = RouteIn.validated(request.data)
        decision = routing.route_text(title=data["title"], description=data["description"], actor=request.user)
        return Response(
            RouteOut(
                {
                    "department": decision.department,
                    "confidence": decision.confidence,
                    "abstained": decision.abstained,
                    "alternatives": [{"department": d, "confidence": p} for d, p in decision.alternatives],
                    "agent": decision.agent,
                    "agent_reason": decision.agent_reason,
                    "similar_tickets": _similar_out(decision.similar),
                    "model": decision.model,
                    "suggestion_id": decision.suggestion.pk,
                }
            ).data
        )


class SimilarView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Past tickets like this one, among those you may see",
        description=(
            "Hybrid retrieval (BM25 and embeddings, fused) plus the labels of past tickets, ranked only over "
            "the tickets you may see: employees their own, agents their department's and their assigned, leads "
            "also triage, admins all."
        ),
        request=SimilarIn,
        responses={200: SimilarOut(many=True), **errors(429)},
        examples=[examples.SIMILAR_IN, examples.SIMILAR_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="ai_similar_user", key="user")
        data = SimilarIn.validated(request.data)
        found = routing.find_similar(
            actor=request.user, title=data["title"], description=data["description"], limit=data["limit"]
        )
        return Response(SimilarOut(_similar_out(found), many=True).data)


class TicketRoutingView(APIView):
    permission_classes = [IsAuthenticated, CanSeeRouting]

    @extend_schema(
        tags=TAGS,
        summary="How the AI routed a ticket, with its possible duplicates (agents and up)",
        description=(
            "The decision made when the ticket was opened: department, calibrated confidence, runner-ups, "
            "whether it abstained (then the ticket waited in triage), the agent and why, and the similar tickets "
            "found then, limited to those you may see now. 404 when you may not see the ticket or the AI did not "
            "route it (it had a department when opened, or routing is off)."
        ),
        responses={200: TicketRoutingOut, **errors(403)},
        examples=[examples.TICKET_ROUTING_OUT],
    )
    def get(self, request, ticket_id: str):
        return Response(TicketRoutingOut(selectors.routing_for(user=request.user, ticket_id=ticket_id)).data)
