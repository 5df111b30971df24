"""Reads of the AI app, scoped to the asking user."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Department, User
from ai_assist import policies
from ai_assist.models import ChatMessage, Conversation, Suggestion, SuggestionFeedback
from helpdesk.errors import NotFound


def suggestions_for(*, user: User) -> QuerySet[Suggestion]:
    """Admins: every suggestion (previews with no ticket, and those about deleted tickets, too).
    Others: the suggestions about tickets they may see (a lead: their department's and triage),
    and their own."""
    from tickets.selectors import tickets_for

    suggestions = Suggestion.objects.all()
    if policies.sees_every_suggestion(user):
        return suggestions
    return suggestions.filter(Q(ticket__in=tickets_for(user=user).values("pk")) | Q(actor=user))


def routing_for(*, user: User, ticket_id: str) -> dict:
    """The last routing decision made for a ticket the user may see, with its department,
    alternatives, agent and the similar tickets it found, limited to those the user may see now.
    404 when the ticket is hidden or was never routed by the AI."""
    from tickets import selectors as ticket_selectors
    from tickets.models import Ticket
    from tickets.policies import visible_tickets

    ticket = ticket_selectors.ticket_for(user=user, ticket_id=ticket_id)
    suggestion = Suggestion.objects.filter(ticket=ticket, kind=Suggestion.Kind.ROUTE).order_by("-created_at").first()
    if suggestion is None:
        raise NotFound(
            "The AI has not routed this ticket: it had a department when it was opened, or routing is off.",
            code="not_routed",
        )
    output = suggestion.output or {}
    alternatives = output.get("alternatives") or []
    department_ids = {output.get("department"), *(item["department"] for item in alternatives)} - {None}
    departments = Department.objects.in_bulk(department_ids) if department_ids else {}
    agent = User.objects.filter(pk=output["agent"]).first() if output.get("agent") else None
    similar = output.get("similar_tickets") or []
    found = (
        Ticket.objects.filter(visible_tickets(user), pk__in=[item["ticket"] for item in similar])
        .select_related("department")
        .in_bulk()
        if similar
        else {}
    )
    return {
        "ticket": ticket,
        "department": departments.get(output.get("department")),
        "confidence": suggestion.confidence,
        "abstained": suggestion.abstained,
        "alternatives": [
            {"department": departments[item["department"]], "confidence": item["confidence"]}
            for item in alternatives
            if item["department"] in departments
        ],
        "agent": agent,
        "agent_reason": output.get("agent_reason", ""),
        "similar_tickets": [
            {"ticket": found[item["ticket"]], "score": item["score"]} for item in similar if item["ticket"] in found
        ],
        "model": suggestion.model,
        "suggestion_id": suggestion.pk,
        "error": suggestion.error,
        "created_at": suggestion.created_at,
    }


# --- Reviews of the AI: the suggestion log, its statistics ----------------------------------


def suggestion_for_review(*, user: User, suggestion_id: str) -> Suggestion:
    """A suggestion `user` may review: their own, or (staff) one about a ticket they may see.
    404 otherwise, so a hidden suggestion is not confirmed to exist."""
    from tickets.selectors import tickets_for

    scope = Q(actor=user)
    if policies.can_use_agent_tools(user):
        scope |= Q(ticket__in=tickets_for(user=user).values("pk"))
    found = Suggestion.objects.filter(scope, pk=suggestion_id).first() if user.is_authenticated else None
    if found is None:
        raise NotFound("No such suggestion, or you may not review it.")
    return found


def suggestion_log_for(
    *,
    user: User,
    kind: str | None = None,
    path: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Suggestion]:
    """The log `user` may review (suggestions_for), filtered, newest first, with what a page shows
    joined or prefetched (the reviews and their authors)."""
    suggestions = suggestions_for(user=user)
    if kind:
        suggestions = suggestions.filter(kind=kind)
    if path is not None:
        suggestions = suggestions.filter(path=path)
    if since is not None:
        suggestions = suggestions.filter(created_at__gte=since)
    if until is not None:
        suggestions = suggestions.filter(created_at__lt=until)
    reviews = SuggestionFeedback.objects.select_related("user", "corrected_department").order_by("created_at", "id")
    return suggestions.select_related("ticket", "actor", "department").prefetch_related(
        Prefetch("feedback", queryset=reviews)
    )


@dataclass(frozen=True)
class Readable:
    """Of the articles and tickets a page of suggestions names, those the reader may read now."""

    articles: frozenset[str]
    tickets: frozenset[str]

    def allows(self, references: list[dict]) -> bool:
        return all(self.reads(ref) for ref in references)

    def reads(self, reference: dict) -> bool:
        kind, object_id = reference.get("kind"), str(reference.get("id", ""))
        if kind == "article":
            return object_id in self.articles
        if kind == "ticket":
            return object_id in self.tickets
        return False


def references_of(suggestion: Suggestion) -> list[dict]:
    """Every article or ticket a suggestion drew on, cited or found ({kind, id, ...})."""
    output = suggestion.output or {}
    cited = output.get("citations") or []
    similar = [{"kind": "ticket", "id": item.get("ticket")} for item in output.get("similar_tickets") or []]
    return [ref for ref in [*(suggestion.sources or []), *cited, *similar] if isinstance(ref, dict)]


def readable_references(*, user: User, suggestions: list[Suggestion]) -> Readable:
    """Two queries for a whole page: which of the articles and tickets its suggestions name the
    reader may read (knowledge.policies.visible_articles, tickets.policies.visible_tickets)."""
    from knowledge.models import Article
    from knowledge.policies import visible_articles
    from tickets.models import Ticket
    from tickets.policies import visible_tickets

    references = [ref for suggestion in suggestions for ref in references_of(suggestion)]
    article_ids = {str(ref.get("id")) for ref in references if ref.get("kind") == "article"}
    ticket_ids = {str(ref.get("id")) for ref in references if ref.get("kind") == "ticket"}
    articles = (
        Article.objects.filter(visible_articles(user), pk__in=article_ids).values_list("id", flat=True)
        if article_ids
        else []
    )
    tickets = (
        Ticket.objects.filter(visible_tickets(user), pk__in=ticket_ids).values_list("id", flat=True)
        if ticket_ids
        else []
    )
    return Readable(articles=frozenset(articles), tickets=frozenset(tickets))


def _stats_scope(user: User) -> Q | None:
    """What a reader's statistics count: admins everything (None); a lead their log
    (suggestions_for) and the chatbot answers given to people of their department (counted, never
    shown)."""
    from tickets.selectors import tickets_for

    if policies.sees_every_suggestion(user):
        return None
    scope = Q(ticket__in=tickets_for(user=user).values("pk")) | Q(actor=user)
    if user.department_id:
        scope |= Q(kind=Suggestion.Kind.CHAT, actor__department_id=user.department_id)
    return scope


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def suggestion_stats(*, user: User, since: datetime, until: datetime) -> dict:
    """How the AI did in [since, until) for `user`'s scope (a lead: their department; an admin:
    all): per kind and path, how many, reviews and their acceptance and edit rates, the mean
    edit distance in words, latency p50/p95; routing accuracy from corrections; chatbot
    deflection (conversations that ended without a ticket)."""
    scope = _stats_scope(user)
    suggestions = Suggestion.objects.filter(created_at__gte=since, created_at__lt=until)
    if scope is not None:
        suggestions = suggestions.filter(scope)
    rows = list(
        suggestions.values_list(
            "id", "kind", "path", "latency_ms", "abstained", "department_id", "ticket_id", "actor_id"
        )
    )
    verdicts: dict[str, list[tuple[str, int | None]]] = {}
    for suggestion_id, verdict, distance in SuggestionFeedback.objects.filter(
        suggestion__in=suggestions.values("pk")
    ).values_list("suggestion_id", "verdict", "edit_distance"):
        verdicts.setdefault(suggestion_id, []).append((verdict, distance))

    groups: dict[tuple[str, str], dict] = {}
    for suggestion_id, kind, path, latency, *_ in rows:
        group = groups.setdefault((kind, path), {"latencies": [], "verdicts": []})
        group["latencies"].append(latency)
        group["verdicts"].extend(verdicts.get(suggestion_id, []))
    by_kind = []
    for (kind, path), group in sorted(groups.items()):
        reviews = [v for v in group["verdicts"] if v[0] != SuggestionFeedback.Verdict.CORRECTED]
        counts = Counter(verdict for verdict, _ in reviews)
        distances = [d for verdict, d in reviews if verdict == SuggestionFeedback.Verdict.EDITED and d is not None]
        by_kind.append(
            {
                "kind": kind,
                "path": path,
                "count": len(group["latencies"]),
                "reviews": len(reviews),
                "accepted": counts[SuggestionFeedback.Verdict.ACCEPTED],
                "edited": counts[SuggestionFeedback.Verdict.EDITED],
                "rejected": counts[SuggestionFeedback.Verdict.REJECTED],
                "acceptance_rate": _rate(counts[SuggestionFeedback.Verdict.ACCEPTED], len(reviews)),
                "edit_rate": _rate(counts[SuggestionFeedback.Verdict.EDITED], len(reviews)),
                "mean_edit_distance": round(sum(distances) / len(distances), 1) if distances else None,
                "latency_p50_ms": _percentile(group["latencies"], 50),
                "latency_p95_ms": _percentile(group["latencies"], 95),
            }
        )

    # Routing: the AI's own decisions on real tickets (not previews); a correction makes one wrong.
    routed = abstained = corrected = 0
    for suggestion_id, kind, _, _, was_abstained, department_id, ticket_id, actor_id in rows:
        if kind != Suggestion.Kind.ROUTE or ticket_id is None or actor_id is not None:
            continue
        if was_abstained or department_id is None:
            abstained += 1
            continue
        routed += 1
        if any(v == SuggestionFeedback.Verdict.CORRECTED for v, _ in verdicts.get(suggestion_id, [])):
            corrected += 1

    conversations = Conversation.objects.filter(created_at__gte=since, created_at__lt=until)
    if scope is not None:
        conversations = (
            conversations.filter(user__department_id=user.department_id) if user.department_id else conversations.none()
        )
    total = conversations.count()
    with_ticket = conversations.filter(ticket__isnull=False).count() if total else 0
    latencies = [latency for _, _, _, latency, *_ in rows]
    return {
        "since": since,
        "until": until,
        "scope": "all" if scope is None else "department",
        "suggestions": len(rows),
        "latency_p50_ms": _percentile(latencies, 50),
        "latency_p95_ms": _percentile(latencies, 95),
        "by_kind": by_kind,
        "routing": {
            "routed": routed,
            "abstained": abstained,
            "corrected": corrected,
            "accuracy": _rate(routed - corrected, routed),
        },
        "chatbot": {
            "conversations": total,
            "with_ticket": with_ticket,
            "deflected": total - with_ticket,
            "deflection_rate": _rate(total - with_ticket, total),
        },
    }


# --- The chatbot's conversations: the caller's own, nobody else's -------------------------------


def conversations_for(*, user: User) -> QuerySet[Conversation]:
    """The caller's conversations, latest first (someone else's never: not even an admin's)."""
    return Conversation.objects.filter(user=user).order_by("-updated_at", "-id")


def conversation_detail(*, user: User, conversation_id: str) -> dict:
    """One of the caller's conversations with its turns (404 for anyone else's). Citations are
    checked again against what the caller may read now (one query for the whole conversation):
    a source hidden since it was cited loses its citation."""
    from ai_assist.answering.citations import checked_citations, only_listed
    from ai_assist.audience import Text, audience_for
    from ai_assist.ml.passages import Passage

    conversation = Conversation.objects.filter(pk=conversation_id, user=user).first()
    if conversation is None:
        raise NotFound("No such conversation.")
    messages = list(conversation.messages.order_by("created_at", "id"))
    cited = [
        (c["n"], Passage(id=c["id"], kind=c["kind"], title=c.get("title", ""), text="", score=0.0))
        for message in messages
        for c in message.citations or []
    ]
    audience = audience_for(Text.CHAT, writer=user)
    readable = {(c["kind"], c["id"]): c for c in checked_citations(audience=audience, cited=cited)}
    shown = []
    for message in messages:
        citations = [
            {**readable[(c["kind"], c["id"])], "n": c["n"]}
            for c in message.citations or []
            if (c["kind"], c["id"]) in readable
        ]
        # An answer's own words are kept; the marker of a citation that no longer passes is not.
        text = only_listed(message.text, citations) if message.role == ChatMessage.Role.ASSISTANT else message.text
        shown.append(
            {
                "id": message.pk,
                "role": message.role,
                "text": text,
                "citations": citations,
                "path": message.path,
                "suggestion_id": message.suggestion_id,
                "created_at": message.created_at,
            }
        )
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "ticket_id": conversation.ticket_id,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": shown,
    }
