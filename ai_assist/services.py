"""Writes of the AI app. Every Suggestion (routing, similar tickets, chat answers, drafts,
summaries, articles drafted by the AI) and every review of one (a person's verdict, a lead's
routing correction) is written here and nowhere else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ai_assist import policies
from ai_assist.ml.textdiff import word_edit_distance
from ai_assist.models import Conversation, Suggestion, SuggestionFeedback
from helpdesk import events, metrics
from helpdesk.errors import Invalid, NotAllowed

if TYPE_CHECKING:
    from accounts.models import Department, User
    from tickets.models import Ticket

INPUT_TEXT_CHARS = 2_000  # what the log keeps of a long text that was asked about


def clipped(text: str) -> str:
    """A long input as the log keeps it."""
    return text[:INPUT_TEXT_CHARS]


# What a person had the AI write for a ticket or the knowledge base: audited (suggestion.created).
AUDITED_KINDS = frozenset(
    {Suggestion.Kind.DRAFT, Suggestion.Kind.SUMMARY, Suggestion.Kind.ARTICLE, Suggestion.Kind.GAP}
)


def suggestion_record(
    *,
    kind: Suggestion.Kind,
    actor: User | None,
    inputs: dict[str, Any],
    output: dict[str, Any] | None = None,
    ticket: Ticket | None = None,
    department: Department | None = None,
    confidence: float | None = None,
    abstained: bool = False,
    model: str = "",
    latency_ms: float = 0.0,
    error: str = "",
    path: str = "",
    sources: list[dict[str, Any]] | None = None,
    conversation: Conversation | None = None,
) -> Suggestion:
    """Log one AI output: who asked (None: the system), about which ticket (None: a preview),
    what went in and came out, which model answered, how long it took and, when it failed, why.
    For routing, also the department proposed with its confidence and whether it abstained; for
    answers, how it was produced (`path`: llm, extractive, fallback) and what was retrieved.

    What a person had the AI write for a ticket or the knowledge base (AUDITED_KINDS) is also an
    event, for the audit log; routing is audited as the ticket's `ticket.routed`, previews and
    searches change nothing, and chat answers belong to the asker's conversation (docs/events.md)."""
    # /metrics: latency by kind and path, and the answers that fell back (helpdesk.metrics).
    metrics.AI_LATENCY.labels(str(kind), path or "none").observe(max(latency_ms, 0.0) / 1000)
    if path == "fallback":  # ai_assist.ml.passages.FALLBACK
        metrics.AI_FALLBACKS.labels(str(kind)).inc()
    with transaction.atomic():
        suggestion = Suggestion.objects.create(
            kind=kind,
            actor=actor,
            ticket=ticket,
            department=department,
            confidence=confidence,
            abstained=abstained,
            inputs=inputs,
            output=output or {},
            model=model[:120],  # the fields' lengths
            path=path[:16],
            sources=sources or [],
            conversation=conversation,
            latency_ms=round(latency_ms, 2),
            error=error[:500],
        )
        if kind in AUDITED_KINDS and actor is not None:
            events.publish(
                events.SuggestionCreated(
                    actor_id=actor.pk, path=suggestion.path, model=suggestion.model, **_suggestion_facts(suggestion)
                )
            )
    return suggestion


def _suggestion_facts(suggestion: Suggestion) -> dict[str, Any]:
    """What every suggestion event says about the suggestion (events.SuggestionEvent)."""
    ticket = suggestion.ticket
    article_id = (suggestion.output or {}).get("article")
    return {
        "target_id": suggestion.pk,
        "kind": str(suggestion.kind),
        "ticket_id": ticket.pk if ticket is not None else None,
        "department_id": ticket.department_id if ticket is not None else None,
        "article_id": str(article_id) if article_id else None,
    }


# --- Reviews of suggestions -------------------------------------------------------------------

# The kinds whose output is a text a person may edit before using it.
TEXT_KINDS = frozenset(
    {
        Suggestion.Kind.CHAT,
        Suggestion.Kind.DRAFT,
        Suggestion.Kind.SUMMARY,
        Suggestion.Kind.ARTICLE,
        Suggestion.Kind.GAP,
    }
)
REVIEW_VERDICTS = frozenset(
    {SuggestionFeedback.Verdict.ACCEPTED, SuggestionFeedback.Verdict.EDITED, SuggestionFeedback.Verdict.REJECTED}
)


def suggestion_text(suggestion: Suggestion) -> str:
    """The text a suggestion offered (a draft, a summary, an answer); "" for routing and search."""
    output = suggestion.output or {}
    return str(output.get("text") or output.get("answer") or "")


def feedback_record(
    *,
    actor: User,
    suggestion: Suggestion,
    verdict: str,
    final_text: str = "",
    comment: str = "",
) -> tuple[SuggestionFeedback, bool]:
    """Record `actor`'s review of a suggestion they may review (ai_assist.selectors.
    suggestion_for_review found it): accepted, edited (with the text actually used, whose
    distance in words from the suggestion is kept) or rejected. One review per person: a second
    one replaces the first (people accept a draft, then edit it before sending). Returns the
    review and whether it is new."""
    if not policies.may_review(actor, suggestion):
        raise NotAllowed("You may not review this suggestion.")
    if verdict not in REVIEW_VERDICTS:
        raise Invalid("Give accepted, edited or rejected.", errors={"verdict": ["Not a verdict you can give."]})
    final_text = (final_text or "").strip()
    edit_distance = None
    if verdict == SuggestionFeedback.Verdict.EDITED:
        if suggestion.kind not in TEXT_KINDS:
            raise Invalid(
                "Only a text (a draft, a summary, an answer) can be edited; accept or reject this one.",
                errors={"verdict": ["This suggestion has no text to edit."]},
            )
        if not final_text:
            raise Invalid("Give the text you used.", errors={"final_text": ["Required when the verdict is edited."]})
        edit_distance = word_edit_distance(suggestion_text(suggestion), final_text)
    elif final_text:
        raise Invalid(
            "A final text goes with the verdict edited only.", errors={"final_text": ["Only with verdict edited."]}
        )
    values = {
        "verdict": verdict,
        "final_text": final_text,
        "comment": (comment or "").strip(),
        "edit_distance": edit_distance,
        "corrected_department": None,
        "created_at": timezone.now(),
    }
    # A unique (suggestion, user) pair instead of a transaction: portable to MongoDB, and two
    # racing reviews by one person leave one row (the later update wins).
    try:
        with transaction.atomic():
            review = SuggestionFeedback.objects.create(suggestion=suggestion, user=actor, **values)
            _publish_review(suggestion, actor_id=actor.pk, before=NO_REVIEW, review=review)
            return review, True
    except IntegrityError:
        pass
    with transaction.atomic():
        mine = SuggestionFeedback.objects.filter(suggestion=suggestion, user=actor)
        before = _review_facts(mine)
        mine.update(**values)
        review = mine.get()
        _publish_review(suggestion, actor_id=actor.pk, before=before, review=review)
    return review, False


REVIEW_FACTS = ("verdict", "edit_distance", "corrected_department_id")
NO_REVIEW = (None, None, None)


def _review_facts(reviews) -> tuple:
    """The REVIEW_FACTS of the one review in `reviews` (a queryset), or NO_REVIEW."""
    return reviews.values_list(*REVIEW_FACTS).first() or NO_REVIEW


def _publish_review(suggestion: Suggestion, *, actor_id: str, before: tuple, review: SuggestionFeedback | None) -> None:
    """suggestion.reviewed, with what changed of the review's REVIEW_FACTS (None after: withdrawn)."""
    after = tuple(getattr(review, name) for name in REVIEW_FACTS) if review is not None else NO_REVIEW
    changes = {
        name.removesuffix("_id"): [old, new]
        for name, old, new in zip(REVIEW_FACTS, before, after, strict=True)
        if old != new
    }
    events.publish(
        events.SuggestionReviewed(
            actor_id=actor_id,
            verdict=after[0],
            edit_distance=after[1],
            changes=changes,
            **_suggestion_facts(suggestion),
        )
    )


def routing_correction_record(
    *, actor_id: str, ticket_id: str, from_department_id: str | None, to_department_id: str | None
) -> SuggestionFeedback | None:
    """A person moved a ticket the AI had routed (not abstained) to another department: the
    routing was wrong, and `train_router` learns from the ticket's department as it is now.
    Recorded as a `corrected` review by that person, with where the ticket went; a later move
    updates the corrections of that routing, and a move back to the AI's department withdraws
    them (it was right after all). Idempotent: the outbox may deliver an event twice. Returns
    the correction, or None when the AI did not route the ticket or nothing was corrected."""
    routed = (
        Suggestion.objects.filter(ticket_id=ticket_id, kind=Suggestion.Kind.ROUTE, actor__isnull=True, abstained=False)
        .exclude(department__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if routed is None:
        return None
    corrections = SuggestionFeedback.objects.filter(suggestion=routed, verdict=SuggestionFeedback.Verdict.CORRECTED)
    if from_department_id != routed.department_id and not corrections.exists():
        return None  # it had left the AI's department without a correction (e.g. a person routed it before)
    if to_department_id == routed.department_id:
        with transaction.atomic():
            withdrawn = list(corrections.values_list(*REVIEW_FACTS))
            if withdrawn:
                corrections.delete()
                _publish_review(routed, actor_id=actor_id, before=withdrawn[0], review=None)
        return None
    values = {
        "verdict": SuggestionFeedback.Verdict.CORRECTED,
        "corrected_department_id": to_department_id,
        "final_text": "",
        "edit_distance": None,
        "created_at": timezone.now(),
    }
    mine = SuggestionFeedback.objects.filter(suggestion=routed, user_id=actor_id)
    with transaction.atomic():
        before = _review_facts(mine)
        corrections.update(corrected_department_id=to_department_id)
        try:
            with transaction.atomic():
                review = SuggestionFeedback.objects.create(suggestion=routed, user_id=actor_id, **values)
        except IntegrityError:
            mine.update(**values)
            review = mine.get()
        _publish_review(routed, actor_id=actor_id, before=before, review=review)
    return review
