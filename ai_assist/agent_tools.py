"""Agent tools: a reply drafted to the requester, a summary for an agent taking over, and
an article drafted from a resolved ticket. Each is logged as a Suggestion (ai_assist.services).

Each text's audience is decided first (ai_assist.audience), and it draws only on what that
audience may read:
- a draft reply is read by the requester and sent by the agent: it stands on the published
  articles both may read and the resolved tickets both may open (ai_assist.grounding, as the
  chatbot finds them), never on another requester's ticket; the ticket itself is shown to a model
  as its public thread only, so an internal note can never be quoted into it;
- a summary is read by the staff member who asked: the thread as they may read it
  (tickets.selectors.comments_for: internal notes for staff only), marked as such;
- an article drafted from a resolved ticket is read by everyone of its visibility: the ticket's
  public thread with personal data removed first (ai_assist.ml.personal), the draft saying what was
  removed, written through knowledge.services (which checks that the author may write it).

Generation: the configured chat model (ai_assist.llm) when there is one; when it fails or misses
its deadline, the extractive path answers within the same request (`path` = "fallback"); with no
model, the extractive path (`path` = "extractive"). Citations `[n]` point at the retrieved
passages; after generation, a number that names no retrieved passage is removed from the text, and
every citation is checked again against the audience (ai_assist.grounding.cite).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from accounts.models import User
from ai_assist import embeddings, grounding, llm, services
from ai_assist.audience import TICKET, Form, SourceUse, Text, allowed_sources, audience_for, scrubber
from ai_assist.llm import EXTRACTIVE, FALLBACK, LLM
from ai_assist.ml import personal
from ai_assist.ml import thread as threads
from ai_assist.models import Suggestion
from helpdesk.errors import NotFound

logger = logging.getLogger(__name__)

QUERY_CHARS = 2_000
EXTRACTIVE_MODEL = "extractive-thread-v1"  # ai_assist.ml.thread; drafts name the answerer

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


# --- Sources ---------------------------------------------------------------------------------


def _ticket_allowed(audience, ticket, form: Form = Form.VERBATIM) -> None:
    """The ticket a tool writes about must pass the audience check (the view found it through the
    caller's scope; this is the same rule asked once more, as every AI text asks it)."""
    if (TICKET, ticket.pk) not in allowed_sources(audience, [SourceUse(TICKET, ticket.pk, form)]):
        raise NotFound("No such ticket.")


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
    audience = audience_for(Text.DRAFT_REPLY, writer=actor, requester=ticket.requester)
    _ticket_allowed(audience, ticket)
    question = question[:QUERY_CHARS]
    found = grounding.find(
        audience=audience, question=question, vector=embeddings.embed_one(question), exclude_ticket=ticket.pk
    )
    answer = found.answer
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
    answerer = grounding.ANSWERER.name
    if answer.composed.answered:
        generated = _generate(messages, extractive=extractive, extractive_model=answerer)
    else:
        generated = _Generated(extractive(), EXTRACTIVE, answerer)
    if generated.path == LLM:
        text, cited = grounding.keep_citations(generated.text, passages)
    else:
        text, cited = generated.text, [(c.n, c.passage) for c in answer.composed.citations]
    text, citations = grounding.cite(audience=audience, text=text, cited=cited)
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.DRAFT,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "question": services.clipped(question), "reason": answer.reason},
        output={"text": text, "citations": citations, "answered": bool(citations)},
        sources=found.logged(),
        model=generated.model,
        path=generated.path,
        error=generated.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return Written(text=text, path=generated.path, suggestion=suggestion, citations=citations)


def summarise_ticket(*, actor: User, ticket) -> Written:
    """A short summary of `ticket`'s thread as `actor` may read it, for an agent taking over."""
    started = time.perf_counter()
    _ticket_allowed(audience_for(Text.SUMMARY, writer=actor), ticket)
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
    _ticket_allowed(audience_for(Text.ARTICLE, writer=actor, visibility=visibility), ticket, Form.SCRUBBED)
    # Everyone of `visibility` reads the article: personal data leaves before any model sees the thread.
    scrub = personal.Tally(scrubber(ticket.requester, ticket.assignee))
    public = threads.without_people(thread_for(reader=actor, ticket=ticket).public(), scrub)
    extractive_draft = threads.article_from_thread(public)
    messages = [("system", ARTICLE_PROMPT), ("human", threads.as_text(public))]
    generated = _generate(messages, extractive=lambda: extractive_draft.body)
    draft = _article_from_markdown(generated.text, extractive_draft) if generated.path == LLM else extractive_draft
    body = f"{scrub(draft.body)}\n\n_{personal.note(scrub.removed)}_"
    article = kb_services.article_create(
        actor=actor,
        title=scrub(draft.title),
        body=body,
        summary=scrub(draft.summary),
        category=category,
        visibility=visibility,
        change_note=f"Drafted by the AI ({generated.path}) from a resolved ticket, personal data removed.",
    )
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.ARTICLE,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "visibility": visibility},
        output={"article": article.pk, "title": article.title, "text": body, "removed": dict(scrub.removed)},
        model=generated.model,
        path=generated.path,
        error=generated.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return article, suggestion
