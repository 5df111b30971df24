"""Agent tools: a reply drafted to the requester, a summary for an agent taking a ticket over, and
an article drafted from a resolved ticket. Each is logged as a Suggestion (ai_assist.services).

What each may read is decided here, before anything is ranked or written:
- a draft reply is grounded in the published articles the agent may read that its requester may
  read too, and in the public answers of resolved tickets the agent may see (tickets.policies.
  retrieval_scope, narrowed to resolved ones), ranked as the chatbot ranks (ai_assist.chat); the
  ticket itself is shown to a model as its public thread only, so an internal note can never be
  quoted into a text meant for the requester;
- a summary reads the thread as its reader may (tickets.selectors.comments_for: internal notes
  for staff only), marked as such;
- an article reads a resolved ticket's public thread only, and becomes a draft through
  knowledge.services (which checks that the author may write the knowledge base).

Generation: the configured chat model (ai_assist.llm) when there is one; when it fails or misses
its deadline, the extractive path answers within the same request (`path` = "fallback"); with no
model, the extractive path (`path` = "extractive"). Citations `[n]` point at the retrieved
passages; after generation, a number that names no retrieved passage is removed from the text, and
every citation is checked again to exist and be readable by the asker.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse

from accounts.models import User
from ai_assist import embeddings, llm, retrieval, services
from ai_assist.ml import thread as threads
from ai_assist.ml.compose import Passage
from ai_assist.models import Suggestion

logger = logging.getLogger(__name__)

QUERY_CHARS = 2_000
EXTRACTIVE = "extractive"
LLM = "llm"
FALLBACK = "fallback"
EXTRACTIVE_MODEL = "extractive-thread-v1"  # ai_assist.ml.thread; drafts name the answerer
_MARKER = re.compile(r"\s?\[(\d{1,2})\]")

DRAFT_PROMPT = (
    "You are a helpdesk agent writing a reply to the person who opened the ticket below. Use only the "
    "numbered passages: cite every statement taken from one with its number in square brackets, like [1]. "
    "Do not invent steps, names or facts that are not in the passages. If they do not answer the question, "
    "write a short, polite holding reply that says we are looking into it, with no citation. Greet the "
    "requester by name, keep it under 200 words, and sign with the agent's name."
)
SUMMARY_PROMPT = (
    "Summarise this helpdesk ticket for an agent who takes it over, in at most 120 words and in plain text: "
    "the issue in one sentence, its state, what was already tried and by whom, and the open question that "
    "still needs an answer. Use only the thread below."
)
ARTICLE_PROMPT = (
    "Turn this resolved helpdesk ticket into a short knowledge-base article in Markdown for other employees "
    "with the same problem. The first line is '# ' and a title; then the sections '## Problem' and "
    "'## Solution'. Use only the ticket's thread: no facts that are not in it. Leave out names, e-mail "
    "addresses, phone numbers and anything else personal."
)


@dataclass
class Written:
    """What an agent tool returns: the text, its checked citations and how it was made."""

    text: str
    path: str
    suggestion: Suggestion
    citations: list[dict] = field(default_factory=list)


# --- Reading the ticket ---------------------------------------------------------------------


def _name(user: User | None) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.email


def _first_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.first_name or user.get_full_name() or user.email.split("@")[0]


def thread_for(*, reader: User, ticket) -> threads.Thread:
    """The ticket's thread as `reader` may read it (internal notes for staff only)."""
    from tickets import selectors as ticket_selectors
    from tickets.models import Status

    comments = ticket_selectors.comments_for(user=reader, ticket=ticket)
    return threads.Thread(
        title=ticket.title,
        description=ticket.description,
        requester=_name(ticket.requester),
        status=ticket.get_status_display(),
        priority=ticket.get_priority_display().lower(),
        resolved=ticket.status in (Status.RESOLVED, Status.CLOSED),
        assignee=_name(ticket.assignee) if ticket.assignee_id else "",
        department=ticket.department.name if ticket.department_id else "",
        messages=tuple(
            threads.Message(
                author=_name(comment["author"]),
                from_requester=comment["author"] is not None and comment["author"].pk == ticket.requester_id,
                body=comment["body"],
                internal=bool(comment["internal"]),
            )
            for comment in comments
        ),
    )


# --- Retrieval ------------------------------------------------------------------------------


def resolved_scope(user: User):
    """The resolved (or closed) tickets `user` may see: tickets.policies' retrieval scope,
    narrowed, with its own key for the corpus's cached candidate masks."""
    from tickets.models import Status
    from tickets.policies import TicketScope, retrieval_scope

    scope = retrieval_scope(user)
    return TicketScope(scope.q & Q(status__in=(Status.RESOLVED, Status.CLOSED)), f"{scope.key}:resolved")


def draft_sources(*, reader: User, requester: User, question: str, exclude_ticket: str | None = None):
    """What a draft may stand on, as the chatbot finds it (ai_assist.chat): the published
    articles both `reader` and the `requester` may read (a reply quotes and cites nothing its
    recipient could not open: an agents-only article is for the agent), ranked hybrid; when
    none answers, the public answers by staff of resolved tickets `reader` may see. The
    extractive answerer decides. Returns (answer, every source ranked), the ticket being answered
    left out."""
    from ai_assist import chat  # chat builds on this module's citation checks

    vector = embeddings.embed_one(question)
    audience = requester if requester.role < reader.role else reader  # visibility is by role
    articles = retrieval.article_corpus().rank(reader=audience, question=question, embedding=vector, limit=chat.SOURCES)
    answer = chat.ANSWERER.answer(question, articles)
    tickets = []
    if not answer.composed.answered:
        tickets = [
            source
            for source in chat.ticket_sources(user=reader, question=question, vector=vector)
            if source.passage.id != exclude_ticket
        ]
        if tickets:
            from_tickets = chat.ANSWERER.answer(question, tickets)
            if from_tickets.composed.answered:
                answer = from_tickets
    return answer, [*articles, *tickets]


def draft_answerer_name() -> str:
    from ai_assist import chat

    return chat.ANSWERER.name


def _source_rows(sources) -> list[dict]:
    return [
        {"kind": s.passage.kind, "id": s.passage.id, "title": s.passage.title, "score": round(s.passage.score, 4)}
        for s in sources
    ]


def citation_url(kind: str, object_id: str) -> str:
    if kind == "article":
        return reverse("kb-article-detail", kwargs={"pk": object_id})
    return reverse("ticket-detail", kwargs={"pk": object_id})


def checked_citations(*, reader: User, cited: list[tuple[int, Passage]]) -> list[dict]:
    """The citations whose article or ticket exists and `reader` may read now, as the API shows
    them: [{n, kind, id, title, url}]."""
    from knowledge.models import Article
    from knowledge.policies import ai_readable_articles
    from tickets.models import Ticket
    from tickets.policies import visible_tickets

    article_ids = {p.id for _, p in cited if p.kind == "article"}
    ticket_ids = {p.id for _, p in cited if p.kind == "ticket"}
    articles = (
        dict(Article.objects.filter(ai_readable_articles(reader), pk__in=article_ids).values_list("id", "title"))
        if article_ids
        else {}
    )
    tickets = (
        dict(Ticket.objects.filter(visible_tickets(reader), pk__in=ticket_ids).values_list("id", "title"))
        if ticket_ids
        else {}
    )
    readable = {"article": articles, "ticket": tickets}
    return [
        {"n": n, "kind": p.kind, "id": p.id, "title": readable[p.kind][p.id], "url": citation_url(p.kind, p.id)}
        for n, p in cited
        if p.id in readable.get(p.kind, {})
    ]


def keep_citations(text: str, passages: list[Passage]) -> tuple[str, list[tuple[int, Passage]]]:
    """The markers [n] of a model's text that name a retrieved passage, in order of first use;
    any other marker is removed from the text."""
    cited: dict[int, Passage] = {}

    def check(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= len(passages):
            cited.setdefault(n, passages[n - 1])
            return match.group(0)
        return ""

    return _MARKER.sub(check, text), list(cited.items())


def _strip_unreadable(text: str, cited: list[tuple[int, Passage]], kept: list[dict]) -> str:
    """Remove the markers of citations that did not pass the readability check."""
    dropped = {n for n, _ in cited} - {c["n"] for c in kept}
    if not dropped:
        return text
    return _MARKER.sub(lambda m: "" if int(m.group(1)) in dropped else m.group(0), text)


# --- Generation -----------------------------------------------------------------------------


@dataclass
class _Generated:
    text: str
    path: str
    model: str
    error: str = ""


def _generate(messages: list[tuple[str, str]], *, extractive, extractive_model: str = EXTRACTIVE_MODEL) -> _Generated:
    """The model's answer, or the extractive one: with no model configured (extractive), or
    when it cannot be built, fails or is too slow (fallback, the reason kept)."""
    try:
        model = llm.current()
        if model is not None:
            completion = model.complete(messages)
            if completion.text.strip():
                return _Generated(completion.text.strip(), LLM, completion.model)
            raise llm.LlmUnavailable(f"{model.name} returned an empty answer")
    except llm.LlmUnavailable as exc:
        logger.warning("The language model did not answer (%s); the extractive path answers", exc)
        return _Generated(extractive(), FALLBACK, extractive_model, error=str(exc)[:500])
    return _Generated(extractive(), EXTRACTIVE, extractive_model)


# --- The tools ------------------------------------------------------------------------------


def draft_reply(*, actor: User, ticket) -> Written:
    """A reply to the requester of `ticket` (one `actor` may see; the view found it through
    tickets.selectors), grounded in what `actor` may read, logged as a draft suggestion. When
    nothing answers, an honest holding reply, and no model is asked to write one."""
    started = time.perf_counter()
    public = thread_for(reader=actor, ticket=ticket).public()  # never an internal note, whoever asks
    asked = threads.open_question(public)
    question = ticket.title if not asked or asked == ticket.title else f"{ticket.title}. {asked}"
    answer, sources = draft_sources(
        reader=actor, requester=ticket.requester, question=question[:QUERY_CHARS], exclude_ticket=ticket.pk
    )
    passages = list(answer.passages)

    def extractive() -> str:
        return threads.reply(
            requester=_first_name(ticket.requester), agent=_first_name(actor), composed=answer.composed
        )

    messages = [
        ("system", DRAFT_PROMPT),
        (
            "human",
            f"Passages:\n{threads.numbered_passages(passages)}\n\n"
            f"Ticket (public thread):\n{threads.as_text(public)}\n\n"
            f"Agent's name: {_first_name(actor)}\nWrite the reply.",
        ),
    ]
    answerer = draft_answerer_name()
    if answer.composed.answered:
        generated = _generate(messages, extractive=extractive, extractive_model=answerer)
    else:
        generated = _Generated(extractive(), EXTRACTIVE, answerer)
    if generated.path == LLM:
        text, cited = keep_citations(generated.text, passages)
    else:
        text, cited = generated.text, [(c.n, c.passage) for c in answer.composed.citations]
    citations = checked_citations(reader=actor, cited=cited)
    text = _strip_unreadable(text, cited, citations)
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.DRAFT,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "question": services.clipped(question), "reason": answer.reason},
        output={"text": text, "citations": citations, "answered": bool(citations)},
        sources=_source_rows(sources),
        model=generated.model,
        path=generated.path,
        error=generated.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return Written(text=text, path=generated.path, suggestion=suggestion, citations=citations)


def summarise_ticket(*, actor: User, ticket) -> Written:
    """A short summary of `ticket`'s thread as `actor` may read it, for an agent taking over."""
    started = time.perf_counter()
    thread = thread_for(reader=actor, ticket=ticket)
    notes = "Internal notes are marked; they are for staff." if any(m.internal for m in thread.messages) else ""
    messages = [("system", f"{SUMMARY_PROMPT} {notes}".strip()), ("human", threads.as_text(thread))]
    generated = _generate(messages, extractive=lambda: threads.summarise(thread).text)
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.SUMMARY,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "messages": len(thread.messages), "internal_notes": bool(notes)},
        output={"text": generated.text},
        model=generated.model,
        path=generated.path,
        error=generated.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return Written(text=generated.text, path=generated.path, suggestion=suggestion)


def _article_from_markdown(text: str, fallback: threads.ArticleDraft) -> threads.ArticleDraft:
    """A model's article: its '# ' title line (else the ticket's title) and the rest as body."""
    lines = text.strip().splitlines()
    title = fallback.title
    if lines and lines[0].startswith("# "):
        title = threads.clip(lines[0][2:].strip(), 200) or fallback.title
        lines = lines[1:]
    body = "\n".join(lines).strip()
    return threads.ArticleDraft(title=title, summary=fallback.summary, body=body or fallback.body)


def article_from_ticket(*, actor: User, ticket, visibility: int, category=None):
    """A draft article from a resolved ticket's public thread, written through
    knowledge.services (leads and admins). Returns (article, suggestion)."""
    from helpdesk.errors import Invalid
    from knowledge import services as kb_services
    from tickets.models import Status

    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise Invalid(
            "Only a resolved or closed ticket becomes an article: its solution is known.",
            code="ticket_not_resolved",
            errors={"ticket": ["The ticket is not resolved."]},
        )
    started = time.perf_counter()
    public = thread_for(reader=actor, ticket=ticket).public()
    extractive_draft = threads.article_from_thread(public)
    messages = [("system", ARTICLE_PROMPT), ("human", threads.as_text(public))]
    generated = _generate(messages, extractive=lambda: extractive_draft.body)
    draft = (
        _article_from_markdown(threads.scrub(generated.text), extractive_draft)
        if generated.path == LLM
        else extractive_draft
    )
    article = kb_services.article_create(
        actor=actor,
        title=draft.title,
        body=draft.body,
        summary=draft.summary,
        category=category,
        visibility=visibility,
        change_note=f"Drafted by the AI ({generated.path}) from ticket {ticket.pk}.",
    )
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.ARTICLE,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "visibility": visibility},
        output={"article": article.pk, "title": article.title, "text": draft.body},
        model=generated.model,
        path=generated.path,
        error=generated.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return article, suggestion
