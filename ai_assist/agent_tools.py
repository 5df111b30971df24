"""Agent tools: a reply drafted to the requester, a summary for an agent taking over, and
an article drafted from a resolved ticket. Each is logged as a Suggestion (ai_assist.services).

Each text's audience is decided first (ai_assist.audience), and it draws only on what that
audience may read:
- a draft reply is read by the requester and sent by the agent: it stands on the published
  articles both may read and the resolved tickets both may open (ai_assist.answering.ground, as
  the chatbot finds them), never on another requester's ticket; the ticket itself is shown to a model
  as its public thread only, so an internal note can never be quoted into it;
- a summary is read by the staff member who asked: the thread as they may read it
  (tickets.selectors.comments_for: internal notes for staff only), marked as such;
- an article drafted from a resolved ticket is read by everyone of its visibility: the ticket's
  public thread with personal data removed first (ai_assist.ml.personal), the draft saying what was
  removed, written through knowledge.services (which checks that the author may write it).

Each goes through the answer pipeline (ai_assist.answering): the ground stage's audience check,
the write stage's one fallback policy (the configured model, else the extractive text: `path`
"llm", "fallback" or "extractive"), and the citation check: a marker [n] stands only where it
names a retrieved passage the audience may read now, in every text, a summary and an article
included (they cite nothing, so any marker a model wrote in them is removed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.models import User
from ai_assist import embeddings, services
from ai_assist.answering import citations, ground, write
from ai_assist.audience import Form, Text, audience_for, scrubber
from ai_assist.ml import personal
from ai_assist.ml import thread as threads
from ai_assist.ml.passages import LLM, Written
from ai_assist.models import Suggestion

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
class Drafted:
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

    comments = ticket_selectors.comments_for(user=reader, ticket=ticket)
    return threads.Thread(
        title=ticket.title,
        description=ticket.description,
        requester=_name(ticket.requester),
        status=ticket.get_status_display(),
        priority=ticket.get_priority_display().lower(),
        resolved=ticket_selectors.is_resolved(ticket),
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


# --- Writing --------------------------------------------------------------------------------


def _extractive(text: Callable[[], str], model: str = EXTRACTIVE_MODEL, cited: list | None = None) -> write.Extractive:
    """The write stage's extractive text: `text()` made only when it is used."""

    def written(path: str, error: str) -> Written:
        return Written(text(), path, model, list(cited or []), error)

    return written


def _uncited(text: str) -> str:
    """A text that cites nothing keeps no marker (ai_assist.answering.citations)."""
    return citations.only_listed(text, [])


# --- The tools ------------------------------------------------------------------------------


def draft_reply(*, actor: User, ticket) -> Drafted:
    """A reply to the requester of `ticket` (one `actor` may see; the view found it through
    tickets.selectors), grounded in what `actor` may read, logged as a draft suggestion. When
    nothing answers, an honest holding reply, and no model is asked to write one."""
    started = time.perf_counter()
    public = thread_for(reader=actor, ticket=ticket).public()  # never an internal note, whoever asks
    asked = threads.open_question(public)
    question = ticket.title if not asked or asked == ticket.title else f"{ticket.title}. {asked}"
    audience = audience_for(Text.DRAFT_REPLY, writer=actor, requester=ticket.requester)
    ground.require_ticket(audience, ticket)
    question = question[:QUERY_CHARS]
    found = ground.find(
        audience=audience, question=question, vector=embeddings.embed_one(question), exclude_ticket=ticket.pk
    )
    answer = found.answer
    passages = list(answer.passages)

    def reply() -> str:
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
    cited = [(c.n, c.passage) for c in answer.composed.citations]
    written = write.write(
        messages,
        extractive=_extractive(reply, ground.ANSWERER.name, cited),
        answered=answer.composed.answered,
        passages=passages,
    )
    text, checked = citations.cite(audience=audience, written=written)
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.DRAFT,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "question": services.clipped(question), "reason": answer.reason},
        output={"text": text, "citations": checked, "answered": bool(checked)},
        sources=found.logged(),
        model=written.model,
        path=written.path,
        error=written.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return Drafted(text=text, path=written.path, suggestion=suggestion, citations=checked)


def summarise_ticket(*, actor: User, ticket) -> Drafted:
    """A short summary of `ticket`'s thread as `actor` may read it, for an agent taking over."""
    started = time.perf_counter()
    ground.require_ticket(audience_for(Text.SUMMARY, writer=actor), ticket)
    thread = thread_for(reader=actor, ticket=ticket)
    notes = "Internal notes are marked; they are for staff." if any(m.internal for m in thread.messages) else ""
    messages = [("system", f"{SUMMARY_PROMPT} {notes}".strip()), ("human", threads.as_text(thread))]
    written = write.write(messages, extractive=_extractive(lambda: threads.summarise(thread).text))
    text = _uncited(written.text)
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.SUMMARY,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "messages": len(thread.messages), "internal_notes": bool(notes)},
        output={"text": text},
        model=written.model,
        path=written.path,
        error=written.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return Drafted(text=text, path=written.path, suggestion=suggestion)


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
    from tickets.selectors import is_resolved

    if not is_resolved(ticket):
        raise Invalid(
            "Only a resolved or closed ticket becomes an article: its solution is known.",
            code="ticket_not_resolved",
            errors={"ticket": ["The ticket is not resolved."]},
        )
    started = time.perf_counter()
    ground.require_ticket(audience_for(Text.ARTICLE, writer=actor, visibility=visibility), ticket, Form.SCRUBBED)
    # Everyone of `visibility` reads the article: personal data leaves before any model sees the thread.
    scrub = personal.Tally(scrubber(ticket.requester, ticket.assignee))
    public = threads.without_people(thread_for(reader=actor, ticket=ticket).public(), scrub)
    extractive_draft = threads.article_from_thread(public)
    messages = [("system", ARTICLE_PROMPT), ("human", threads.as_text(public))]
    written = write.write(messages, extractive=_extractive(lambda: extractive_draft.body))
    draft = _article_from_markdown(written.text, extractive_draft) if written.path == LLM else extractive_draft
    body = f"{scrub(_uncited(draft.body))}\n\n_{personal.note(scrub.removed)}_"
    article = kb_services.article_create(
        actor=actor,
        title=scrub(draft.title),
        body=body,
        summary=scrub(draft.summary),
        category=category,
        visibility=visibility,
        change_note=f"Drafted by the AI ({written.path}) from a resolved ticket, personal data removed.",
    )
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.ARTICLE,
        actor=actor,
        ticket=ticket,
        inputs={"ticket": ticket.pk, "visibility": visibility},
        output={"article": article.pk, "title": article.title, "text": body, "removed": dict(scrub.removed)},
        model=written.model,
        path=written.path,
        error=written.error,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return article, suggestion
