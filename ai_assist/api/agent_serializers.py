"""Request and response shapes of the agent tools (draft replies, summaries, articles drafted from
tickets and gaps) and of the review of the AI (feedback, the suggestion log, statistics, the
knowledge-gap report). What a caller may see is decided before serialization (ai_assist.selectors,
ai_assist.gaps); the one exception is the suggestion log, whose page is checked as a whole
(`readable` in the context) so a suggestion drawing on something hidden shows no text."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ai_assist.models import Suggestion, SuggestionFeedback
from ai_assist.selectors import references_of
from helpdesk.api.serializers import DepartmentBriefOut, PersonOut, StrictSerializer
from knowledge.api.serializers import ArticleOut, VisibilityField
from knowledge.models import Category, Visibility

PATH_HELP = (
    "How it was written: `llm` (the configured language model), `fallback` (the model failed or was too slow, "
    "so the extractive composer answered) or `extractive` (no model configured)."
)


class CitationOut(serializers.Serializer):
    n = serializers.IntegerField(help_text="As cited in the text: [n].")
    kind = serializers.ChoiceField(choices=["article", "ticket"])
    id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The API path of the article or ticket.")


class DraftReplyOut(serializers.Serializer):
    suggestion_id = serializers.CharField(help_text="Rate it with POST /api/v1/ai/suggestions/{id}/feedback/.")
    text = serializers.CharField(help_text="A reply to the requester; never quotes an internal note.")
    citations = CitationOut(many=True, help_text="Articles you may read and resolved tickets you may see.")
    path = serializers.CharField(help_text=PATH_HELP)


class SummaryOut(serializers.Serializer):
    suggestion_id = serializers.CharField()
    text = serializers.CharField(
        help_text="The issue, its state, what was tried and the open question; internal notes included for staff."
    )
    path = serializers.CharField(help_text=PATH_HELP)


class ArticleDraftIn(StrictSerializer):
    visibility = VisibilityField(
        required=False,
        default=Visibility.AGENTS,
        help_text="Who may read it once published: everyone, agents (the default, until a lead checks it) or leads.",
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True, default=None
    )


class ArticleFromTicketIn(ArticleDraftIn):
    ticket = serializers.CharField(max_length=64, help_text="A resolved or closed ticket you may see.")


class GapDraftIn(ArticleDraftIn):
    days = serializers.IntegerField(
        min_value=1, max_value=365, default=30, help_text="The report's window, as in GET .../kb-gaps/?days="
    )


class ArticleDraftOut(ArticleOut):
    """The draft article (as GET /api/v1/kb/articles/{id}/ shows it), with the suggestion it is logged as."""

    suggestion_id = serializers.SerializerMethodField()
    path = serializers.SerializerMethodField(help_text=PATH_HELP)

    class Meta(ArticleOut.Meta):
        fields = [*ArticleOut.Meta.fields, "suggestion_id", "path"]
        read_only_fields = fields

    def get_suggestion_id(self, article) -> str:
        return self.context["suggestion"].pk

    def get_path(self, article) -> str:
        return self.context["suggestion"].path


# --- Feedback ---------------------------------------------------------------------------------


class FeedbackIn(StrictSerializer):
    verdict = serializers.ChoiceField(
        choices=[
            SuggestionFeedback.Verdict.ACCEPTED,
            SuggestionFeedback.Verdict.EDITED,
            SuggestionFeedback.Verdict.REJECTED,
        ]
    )
    final_text = serializers.CharField(
        max_length=20_000, required=False, allow_blank=True, default="", help_text="The text you used (edited only)."
    )
    comment = serializers.CharField(max_length=2_000, required=False, allow_blank=True, default="")


class FeedbackOut(serializers.Serializer):
    id = serializers.CharField()
    suggestion_id = serializers.CharField()
    verdict = serializers.CharField()
    final_text = serializers.CharField()
    comment = serializers.CharField()
    edit_distance = serializers.IntegerField(
        allow_null=True, help_text="Words inserted, deleted or replaced from the suggestion to final_text (edited)."
    )
    created_at = serializers.DateTimeField(help_text="When this review was given (or last changed).")


# --- The suggestion log -----------------------------------------------------------------------


class SuggestionLogQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Suggestion.Kind.choices, required=False)
    path = serializers.CharField(max_length=16, required=False, help_text="llm, extractive, fallback, ...")
    since = serializers.DateTimeField(required=False, help_text="From this time on (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Before this time (ISO 8601).")


class TicketBriefOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()


class ReviewOut(serializers.Serializer):
    user = PersonOut()
    verdict = serializers.CharField(help_text="accepted, edited, rejected, or corrected (a lead re-routed the ticket).")
    edit_distance = serializers.IntegerField(allow_null=True)
    corrected_department = DepartmentBriefOut(allow_null=True)
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class SuggestionOut(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    path = serializers.CharField(help_text="How it was produced; empty for routing and search.")
    model = serializers.CharField()
    ticket = TicketBriefOut(allow_null=True)
    actor = PersonOut(allow_null=True, help_text="Who asked (null: the system routing a new ticket).")
    department = DepartmentBriefOut(allow_null=True, help_text="Routing: the department it proposed.")
    confidence = serializers.SerializerMethodField(help_text="Routing: rounded to 2 decimals.")
    abstained = serializers.BooleanField()
    latency_ms = serializers.FloatField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    withheld = serializers.SerializerMethodField(
        help_text="True when it drew on an article or ticket you may not read: then text, citations and inputs are "
        "left out."
    )
    text = serializers.SerializerMethodField()
    citations = serializers.SerializerMethodField()
    inputs = serializers.SerializerMethodField()
    reviews = ReviewOut(many=True, source="feedback.all")

    def _withheld(self, suggestion: Suggestion) -> bool:
        return not self.context["readable"].allows(references_of(suggestion))

    def get_confidence(self, suggestion: Suggestion) -> float | None:
        return None if suggestion.confidence is None else round(suggestion.confidence, 2)

    def get_withheld(self, suggestion: Suggestion) -> bool:
        return self._withheld(suggestion)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_text(self, suggestion: Suggestion) -> str | None:
        if self._withheld(suggestion):
            return None
        output = suggestion.output or {}
        return output.get("text") or output.get("answer") or None

    @extend_schema_field(CitationOut(many=True))
    def get_citations(self, suggestion: Suggestion) -> list[dict]:
        if self._withheld(suggestion):
            return []
        from ai_assist.answering.citations import citation_url

        return [
            {**citation, "url": citation.get("url") or citation_url(citation["kind"], citation["id"])}
            for citation in (suggestion.output or {}).get("citations") or []
            if citation.get("kind") in ("article", "ticket")
        ]

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_inputs(self, suggestion: Suggestion) -> dict | None:
        return None if self._withheld(suggestion) else suggestion.inputs


# --- Statistics -------------------------------------------------------------------------------


class StatsQuery(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Default: 30 days ago.")
    until = serializers.DateTimeField(required=False, help_text="Default: now.")


class KindStatsOut(serializers.Serializer):
    kind = serializers.CharField()
    path = serializers.CharField()
    count = serializers.IntegerField()
    reviews = serializers.IntegerField()
    accepted = serializers.IntegerField()
    edited = serializers.IntegerField()
    rejected = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True, help_text="accepted / reviews (null: no reviews).")
    edit_rate = serializers.FloatField(allow_null=True, help_text="edited / reviews.")
    mean_edit_distance = serializers.FloatField(allow_null=True, help_text="In words, over the edited ones.")
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)


class RoutingStatsOut(serializers.Serializer):
    routed = serializers.IntegerField(help_text="Tickets the AI placed in a department.")
    abstained = serializers.IntegerField(help_text="Tickets it left in triage.")
    corrected = serializers.IntegerField(help_text="Of the routed, those a lead or admin moved to another department.")
    accuracy = serializers.FloatField(allow_null=True, help_text="(routed - corrected) / routed.")


class ChatbotStatsOut(serializers.Serializer):
    conversations = serializers.IntegerField()
    with_ticket = serializers.IntegerField(help_text="Ended by opening a ticket from the chatbot's offer.")
    deflected = serializers.IntegerField(help_text="Ended without a ticket.")
    deflection_rate = serializers.FloatField(allow_null=True)


class StatsOut(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    scope = serializers.ChoiceField(choices=["department", "all"])
    suggestions = serializers.IntegerField()
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    by_kind = KindStatsOut(many=True, help_text="Per kind and path.")
    routing = RoutingStatsOut()
    chatbot = ChatbotStatsOut(help_text="Leads: conversations of people of their department.")


# --- Knowledge gaps ---------------------------------------------------------------------------


class GapQuery(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30, help_text="How far back to look.")


class GapMemberOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["ticket", "question"])
    id = serializers.CharField()
    title = serializers.CharField(help_text="A ticket's title, or the question asked.")
    status = serializers.CharField(help_text="A ticket's status; empty for a question.")
    created_at = serializers.DateTimeField()
    url = serializers.CharField(allow_null=True, help_text="A ticket's API path; null for a question.")


class OutlineSectionOut(serializers.Serializer):
    heading = serializers.CharField()
    points = serializers.ListField(child=serializers.CharField())


class OutlineOut(serializers.Serializer):
    title = serializers.CharField()
    sections = OutlineSectionOut(many=True)


class GapOut(serializers.Serializer):
    id = serializers.CharField(help_text="Draft an article for it with POST .../kb-gaps/{id}/draft/.")
    size = serializers.IntegerField()
    tickets = serializers.IntegerField()
    questions = serializers.IntegerField(help_text="Chatbot questions (admins only; 0 for leads).")
    representatives = GapMemberOut(many=True, help_text="The members nearest the group's centre (at most 5).")
    keywords = serializers.ListField(child=serializers.CharField())
    outline = OutlineOut(help_text="A suggested article outline.")
