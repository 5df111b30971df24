"""The ground stage: what an AI text may stand on, decided for its audience (ai_assist.audience).

- `find` (chat answers and draft replies): the published articles every reader of the audience
  may read, ranked hybrid (ai_assist.retrieval); when none answers, the public answers of the
  resolved tickets every reader may open (none for an audience that may open none), ranked over
  the ticket corpus. The extractive answerer (ai_assist.ml.answer) decides whether anything
  answers.
- `require_ticket` (draft replies, summaries, articles from tickets): the ticket a text is about
  passes the same audience check, or does not exist for the asker.
- `usable` (gap drafts): the items of a group that the audience may draw on, in their form.

`ai_assist.audience` decides the audience and checks sources; this stage is where every text asks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai_assist import retrieval
from ai_assist.audience import TICKET, Audience, Form, SourceUse, allowed_sources
from ai_assist.ml.answer import Answerer, Source, units_of
from ai_assist.ml.passages import Answer, Passage, ScoredUnit
from helpdesk.errors import NotFound

ANSWERER = Answerer()
SOURCES = 10  # ranked articles kept (and logged) per question
TICKET_SOURCES = 3


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

    @property
    def sources(self) -> list[Source]:
        return [*self.articles, *self.tickets]


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
    the ticket corpus), each as its public answers (tickets.selectors.public_staff_answers: never
    an internal note), and only those the audience check passes now."""
    from tickets.models import Ticket
    from tickets.selectors import public_staff_answers

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
        units = units_of("\n\n".join(public_staff_answers(ticket)))
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


def require_ticket(audience: Audience, ticket, form: Form = Form.VERBATIM) -> None:
    """The ticket a text is about must pass the audience check (the view found it through the
    caller's scope; this is the same rule asked once more, as every AI text asks it)."""
    if (TICKET, ticket.pk) not in allowed_sources(audience, [SourceUse(TICKET, ticket.pk, form)]):
        raise NotFound("No such ticket.")


def usable(audience: Audience, uses: list[SourceUse]) -> set[tuple[str, str]]:
    """The (kind, id) of `uses` that `audience` may draw on, each in its form."""
    return set(allowed_sources(audience, uses))
