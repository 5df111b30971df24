"""The knowledge-gap report: what people asked recently that no article answers well, grouped,
each group with an article outline, and turned into a draft article on request.

What a reader's report is made of, decided before anything is grouped:
- tickets created in the window that the reader may see (tickets.policies.retrieval_scope: a
  lead's department and triage; an admin's all), with the vector the index holds for them;
- chatbot questions of the window, for readers who may read them (ai_assist.policies.
  sees_chat_questions: admins); a lead's report is built without them, so no group, outline or
  size of theirs holds a question they may not read.

An item is weak when the best unit (sentence or step) of a published article its asker may read
has a cosine below WEAK_BELOW, or (a question) the chatbot gave the honest no-answer. The grouping and the outline
are ai_assist.ml.gaps (pure code). No article title, id or score is ever shown: only sizes, the
reader's own items, words and outlines.

Ids are the representative's (a ticket's or a chat message's id): stable while the data moves
little; `POST .../kb-gaps/{id}/draft/` finds the group again by any member's id, or says 404
when the gap has closed meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from accounts.models import User
from ai_assist import embeddings, policies, retrieval, services
from ai_assist.answering import ground
from ai_assist.answering.citations import only_listed
from ai_assist.audience import Form, SourceUse, Text, audience_for, scrubber
from ai_assist.ml import gaps, personal
from ai_assist.models import ChatMessage, Suggestion
from helpdesk.errors import NotFound

DAYS = 30
MAX_TICKETS = 2_000  # the newest in the window
MAX_QUESTIONS = 1_000
# MiniLM cosine of the best article unit (a sentence or a step): on the intranet QA set, 94% of
# answerable questions reach it with a unit of their article; with that article removed, 53% fall below.
WEAK_BELOW = 0.55
BLOCK = 64  # items per Chroma query
VECTORS_KEPT = 20_000
MATCHES_KEPT = 50_000
GAP_MODEL = "gap-clusters-v1"


@dataclass(frozen=True)
class Member:
    """What the report shows of an item: for a ticket its title, for a question its text."""

    kind: str
    id: str
    text: str
    created_at: datetime
    status: str = ""


@dataclass
class GapReport:
    clusters: list[gaps.GapCluster]  # largest first
    members: dict[str, Member]  # what may be shown of each item, by id


# Question vectors by chat message id (a message's text never changes).
_question_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
_vectors_lock = threading.Lock()
# Best matches by (article index generation, item id, visibility level, the item's vector).
_matches: OrderedDict[tuple[str, str, int, int], float] = OrderedDict()
_matches_lock = threading.Lock()


def _question_vectors_for(messages: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    with _vectors_lock:
        known = {mid: _question_vectors[mid] for mid, _ in messages if mid in _question_vectors}
    missing = [(mid, text) for mid, text in messages if mid not in known]
    if missing:
        vectors = embeddings.embedder().embed([text for _, text in missing])
        with _vectors_lock:
            for (mid, _), vector in zip(missing, vectors, strict=True):
                _question_vectors[mid] = known[mid] = np.asarray(vector, dtype=np.float32)
            while len(_question_vectors) > VECTORS_KEPT:
                _question_vectors.popitem(last=False)
    return known


def forget_questions(message_ids) -> None:
    """Drop this process's vectors of these chat messages (an erasure deleted them; other processes
    never look theirs up again, the messages being gone)."""
    with _vectors_lock:
        for message_id in message_ids:
            _question_vectors.pop(message_id, None)


def best_matches(ids: list[str], vectors: np.ndarray, visibilities: list[int]) -> np.ndarray:
    """For each item, the best cosine of an article unit of a visibility its asker may read (0
    when there is none): one query of Chroma's HNSW index per block of items of one level. Kept
    per item until the article index changes, so a report is paid for once."""
    corpus = retrieval.article_corpus()
    best = np.zeros(len(vectors), dtype=np.float32)
    if not len(vectors):
        return best
    generation = corpus.generation()
    # The item's vector is part of the key: a ticket edited since has another.
    keys = [
        (generation, item_id, level, hash(vector.tobytes()))
        for item_id, level, vector in zip(ids, visibilities, vectors, strict=True)
    ]
    with _matches_lock:
        known = {i: _matches[key] for i, key in enumerate(keys) if key in _matches}
    todo = np.asarray([i for i in range(len(keys)) if i not in known], dtype=np.int64)
    levels = np.asarray(visibilities)
    for level in set(levels[todo].tolist()) if len(todo) else ():
        rows = todo[levels[todo] == level]
        for start in range(0, len(rows), BLOCK):
            part = rows[start : start + BLOCK]
            best[part] = corpus.best_cosines(vectors[part], level)
    for i, value in known.items():
        best[i] = value
    with _matches_lock:
        for i in todo.tolist():
            _matches[keys[i]] = float(best[i])
        while len(_matches) > MATCHES_KEPT:
            _matches.popitem(last=False)
    return best


def _ticket_items(reader: User, since: datetime) -> tuple[list[gaps.GapItem], dict[str, Member]]:
    from knowledge.policies import max_visibility
    from tickets.models import Ticket
    from tickets.policies import retrieval_scope
    from tickets.selectors import is_resolved, public_staff_answers

    tickets = list(
        Ticket.objects.filter(retrieval_scope(reader).q, created_at__gte=since)
        .select_related("requester")
        .only("id", "title", "status", "created_at", "comments", "requester_id", "requester__role")
        .order_by("-created_at", "-id")[:MAX_TICKETS]
    )
    vector_of = retrieval.ticket_corpus().vectors([ticket.pk for ticket in tickets])
    indexed = [ticket for ticket in tickets if ticket.pk in vector_of]  # not indexed yet: next time
    if not indexed:
        return [], {}
    vectors = np.asarray([vector_of[ticket.pk] for ticket in indexed], dtype=np.float32)
    matches = best_matches(
        [ticket.pk for ticket in indexed], vectors, [max_visibility(ticket.requester) for ticket in indexed]
    )
    items, members = [], {}
    for ticket, vector, match in zip(indexed, vectors, matches.tolist(), strict=True):
        answers = tuple(public_staff_answers(ticket)) if is_resolved(ticket) else ()
        items.append(
            gaps.GapItem(
                id=ticket.pk, kind="ticket", text=ticket.title, vector=vector, best_match=match, answers=answers
            )
        )
        members[ticket.pk] = Member("ticket", ticket.pk, ticket.title, ticket.created_at, ticket.status)
    return items, members


def _question_items(since: datetime) -> tuple[list[gaps.GapItem], dict[str, Member]]:
    from knowledge.policies import max_visibility

    questions = list(
        ChatMessage.objects.filter(role=ChatMessage.Role.USER, created_at__gte=since)
        .select_related("conversation__user")
        .order_by("-created_at", "-id")[:MAX_QUESTIONS]
    )
    if not questions:
        return [], {}
    # The answer to each question: the first assistant message after it in its conversation.
    replies: dict[str, list[tuple[datetime, str, bool]]] = {}
    for conversation_id, created_at, message_id, citations in (
        ChatMessage.objects.filter(
            conversation_id__in={q.conversation_id for q in questions},
            role=ChatMessage.Role.ASSISTANT,
            created_at__gte=since,
        )
        .order_by("created_at", "id")
        .values_list("conversation_id", "created_at", "id", "citations")
    ):
        replies.setdefault(conversation_id, []).append((created_at, message_id, bool(citations)))

    def unanswered(question: ChatMessage) -> bool:
        later = [cited for at, _, cited in replies.get(question.conversation_id, []) if at >= question.created_at]
        return bool(later) and not later[0]

    vectors_by_id = _question_vectors_for([(q.pk, q.text) for q in questions])
    vectors = np.asarray([vectors_by_id[q.pk] for q in questions], dtype=np.float32)
    matches = best_matches([q.pk for q in questions], vectors, [max_visibility(q.conversation.user) for q in questions])
    items, members = [], {}
    for question, vector, match in zip(questions, vectors, matches.tolist(), strict=True):
        items.append(
            gaps.GapItem(
                id=question.pk,
                kind="question",
                text=question.text,
                vector=vector,
                best_match=match,
                unanswered=unanswered(question),
            )
        )
        members[question.pk] = Member("question", question.pk, question.text, question.created_at)
    return items, members


def gap_report(*, reader: User, days: int = DAYS) -> GapReport:
    """The reader's knowledge gaps of the last `days` days, largest first."""
    since = timezone.now() - timedelta(days=days)
    items, members = _ticket_items(reader, since)
    if policies.sees_chat_questions(reader):
        question_items, question_members = _question_items(since)
        items += question_items
        members.update(question_members)
    return GapReport(clusters=gaps.cluster(gaps.weak(items, below=WEAK_BELOW)), members=members)


def gap_for(*, reader: User, gap_id: str, days: int = DAYS) -> tuple[gaps.GapCluster, GapReport]:
    report = gap_report(reader=reader, days=days)
    found = gaps.find(report.clusters, gap_id)
    if found is None:
        raise NotFound(
            "No such knowledge gap now: articles or tickets changed since the report. Reload the report.",
            code="gap_not_found",
        )
    return found, report


def gap_draft(*, actor: User, gap_id: str, visibility: int, days: int = DAYS, category=None):
    """A draft article for one gap of `actor`'s report, through knowledge.services (leads and
    admins). Everyone of `visibility` will read it (ai_assist.audience): its tickets are drawn on
    with personal data removed, its chatbot questions only counted by the words they share.
    Returns (article, suggestion)."""
    from knowledge import services as kb_services

    started = time.perf_counter()
    found, _ = gap_for(reader=actor, gap_id=gap_id, days=days)
    audience = audience_for(Text.GAP, writer=actor, visibility=visibility)
    forms = {"ticket": Form.SCRUBBED, "question": Form.KEYWORDS}
    allowed = ground.usable(audience, [SourceUse(item.kind, item.id, forms[item.kind]) for item in found.items])
    items = [item for item in found.items if (item.kind, item.id) in allowed]
    if not items:
        raise NotFound("No such knowledge gap now. Reload the report.", code="gap_not_found")
    scrub = personal.Tally(scrubber())
    keywords = [word for word in found.keywords if not scrub.scrubber.is_name(word)]
    outline = gaps.draft_outline(items, keywords, scrub)
    instructions = (
        "Outlined by the AI from a group of recent questions that no article answered well. "
        "Write the answer under each heading, check it, then publish."
    )
    # The outline quotes people's words: a "[2]" among them would read as a citation, and it cites nothing.
    body = f"{only_listed(outline.markdown(), [])}\n_{instructions}_\n\n_{personal.note(scrub.removed)}_\n"
    summary = f"What people ask about {', '.join(keywords[:3])}." if keywords else ""
    article = kb_services.article_create(
        actor=actor,
        title=outline.title,
        body=body,
        summary=summary,
        category=category,
        visibility=visibility,
        change_note=f"Drafted by the AI from a knowledge gap ({found.size} items).",
    )
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.GAP,
        actor=actor,
        inputs={"gap": found.id, "days": days, "items": [{"kind": i.kind, "id": i.id} for i in items]},
        output={"article": article.pk, "title": article.title, "text": body, "removed": dict(scrub.removed)},
        model=GAP_MODEL,
        path="extractive",
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return article, suggestion
