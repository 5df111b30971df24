"""What a grounded answer stands on, for chat answers and draft replies alike: the sources an
audience may read (ai_assist.audience), ranked; the extractive answerer's decision over them; and
the citations of the text written from them, checked against the same audience.

1. `find`: the published articles the audience's readers may all read, ranked hybrid over their
   units (ai_assist.retrieval.articles); when none answers, the public answers by staff of the
   resolved tickets every reader may open (none for an audience that may open none), ranked over
   the ticket corpus. The extractive answerer (ai_assist.ml.answer) decides whether anything
   answers.
2. `keep_citations`: the markers [n] of a model's text that name a passage it was shown; any other
   marker is removed.
3. `cite`: every citation checked with `audience.allowed_sources` against the database as it is now;
   the marker of one that did not pass is removed from the text, so a text never says [2] with no
   citation 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from django.urls import reverse

from ai_assist import retrieval
from ai_assist.audience import TICKET, Audience, SourceUse, allowed_sources
from ai_assist.ml.answer import Answer, Answerer, ScoredUnit, Source, units_of
from ai_assist.ml.compose import Passage

ANSWERER = Answerer()
SOURCES = 10  # ranked articles kept (and logged) per question
TICKET_SOURCES = 3
_MARKER = re.compile(r"\s?\[(\d{1,2})\]")


@dataclass
class Found:
    """What one question found for an audience, before anything is written."""

    answer: Answer
    articles: list[Source]
    tickets: list[Source]

    def logged(self) -> list[dict]:
        """The ranked sources as a suggestion logs them."""
        return [
            {"kind": s.passage.kind, "id": s.passage.id, "title": s.passage.title, "score": round(s.passage.score, 4)}
            for s in [*self.articles, *self.tickets]
        ]


def find(*, audience: Audience, question: str, vector: np.ndarray, exclude_ticket: str | None = None) -> Found:
    """The sources `audience` may read that answer `question`, and the answerer's decision."""
    articles = retrieval.article_corpus().rank(
        reader=audience.article_reader(), question=question, embedding=vector, limit=SOURCES
    )
    answer = ANSWERER.answer(question, articles)
    tickets: list[Source] = []
    if not answer.composed.answered:
        tickets = [
            source
            for source in ticket_sources(audience=audience, question=question, vector=vector)
            if source.passage.id != exclude_ticket
        ]
        if tickets:
            from_tickets = ANSWERER.answer(question, tickets)
            if from_tickets.composed.answered:
                answer = from_tickets
    return Found(answer, articles, tickets)


def ticket_sources(*, audience: Audience, question: str, vector, limit: int = TICKET_SOURCES) -> list[Source]:
    """Resolved tickets every reader of `audience` may open that match the question (hybrid over
    the ticket corpus), each as the staff's public replies that resolved it (never an internal
    note), and only those the audience check passes now."""
    from tickets.models import Ticket

    scope = audience.ticket_scope()
    if scope is None:
        return []
    found = retrieval.ticket_corpus().rank(scope=scope, question=question.lower(), embedding=vector, limit=limit)
    allowed = allowed_sources(audience, [SourceUse(TICKET, p.id) for p in found]) if found else {}
    found = [p for p in found if (TICKET, p.id) in allowed]
    if not found:
        return []
    tickets = Ticket.objects.filter(pk__in=[p.id for p in found]).only("id", "comments", "requester").in_bulk()
    sources = []
    for passage in found:
        ticket = tickets.get(passage.id)
        if ticket is None:
            continue
        replies = [
            c["body"] for c in ticket.comments if not c["internal"] and c["author"] != ticket.requester_id and c["body"]
        ]
        units = units_of("\n\n".join(replies))
        if not units:
            continue
        # The ticket as a whole matched (its vector is of its whole public text): every unit of its
        # answer carries that match; the first replies come first.
        scored = tuple(
            ScoredUnit(n, text, block, float(passage.score) - n * 1e-3, float(passage.score))
            for n, (text, block) in enumerate(units)
        )
        text = "\n".join(text for text, _ in units)
        sources.append(Source(Passage(passage.id, "ticket", passage.title, text, float(passage.score)), scored))
    return sources


# --- Citations --------------------------------------------------------------------------------


def citation_url(kind: str, object_id: str) -> str:
    if kind == "article":
        return reverse("kb-article-detail", kwargs={"pk": object_id})
    return reverse("ticket-detail", kwargs={"pk": object_id})


def keep_citations(text: str, passages: list[Passage]) -> tuple[str, list[tuple[int, Passage]]]:
    """The markers [n] of a model's text that name a passage it was shown, in order of first use;
    any other marker is removed from the text."""
    cited: dict[int, Passage] = {}

    def check(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= len(passages):
            cited.setdefault(n, passages[n - 1])
            return match.group(0)
        return ""

    return _MARKER.sub(check, text), list(cited.items())


def checked_citations(*, audience: Audience, cited: list[tuple[int, Passage]]) -> list[dict]:
    """The citations `audience` may read now, as the API shows them: [{n, kind, id, title, url}]."""
    if not cited:
        return []
    allowed = allowed_sources(audience, [SourceUse(p.kind, p.id) for _, p in cited])
    return [
        {"n": n, "kind": p.kind, "id": p.id, "title": allowed[(p.kind, p.id)], "url": citation_url(p.kind, p.id)}
        for n, p in cited
        if (p.kind, p.id) in allowed
    ]


def cite(*, audience: Audience, text: str, cited: list[tuple[int, Passage]]) -> tuple[str, list[dict]]:
    """The text and its checked citations; the marker of a citation that did not pass is removed."""
    citations = checked_citations(audience=audience, cited=cited)
    dropped = {n for n, _ in cited} - {c["n"] for c in citations}
    if dropped:
        text = _MARKER.sub(lambda m: "" if int(m.group(1)) in dropped else m.group(0), text)
    return text, citations
