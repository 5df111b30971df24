"""The chatbot: grounded answers for everyone signed in, over what the asker may read.

One turn (`ask`, or `ask_stream` for server-sent events):
1. the conversation is the asker's own (another's is a 404) or a new one; a follow-up that does
   not stand alone ("and on my phone?") is read together with the previous question (`condense`);
2. retrieval for the answer's audience, the asker (ai_assist.audience), visibility first: the
   published articles the asker may read and, when none answers, the public answers of resolved
   tickets the asker may see (the pipeline's ground stage, ai_assist.answering.ground, shared with
   draft replies);
3. the extractive answerer (ai_assist.ml.answer) decides whether anything answers: if nothing
   does, the honest no-answer, with no citation, and an offer to open a ticket (deflection);
4. writing (ai_assist.answering.write, the one fallback policy): the configured chat model writes
   from the passages the answerer chose, told to claim nothing outside them; a number naming no
   passage is removed, and an answer citing nothing is not used. A model that fails or misses its
   deadline gives way to the extractive answer in the same request (`path` = "fallback"); with no
   model configured the extractive answer is the answer (`path` = "extractive");
5. every citation checked against the audience now (ai_assist.answering.citations: the marker of
   one that fails is removed from the text, streamed or not), both turns stored, and the answer
   logged as a Suggestion (inputs, ranked sources, output, path, model, latency).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from ai_assist import embeddings, services
from ai_assist.answering import citations, ground, write
from ai_assist.answering.ground import ANSWERER, Found
from ai_assist.audience import Audience, Text, audience_for
from ai_assist.ml.answer import Source, terms_of
from ai_assist.ml.passages import Answer, Passage, Written
from ai_assist.models import ChatMessage, Conversation, Suggestion
from helpdesk import events
from helpdesk.errors import Conflict, NotFound

QUESTION_CHARS = 2_000
PASSAGE_UNITS = 8  # units of a source shown to a model
OFFER_TITLE_CHARS = 120
FOLLOW_UP_TERMS = 3  # a message with fewer content words than this leans on the previous question
_REFERS_BACK = re.compile(r"\b(it|its|that|this|these|those|they|them|there|same|also|else|instead|too)\b", re.I)

CHAT_PROMPT = (
    "You are the IT helpdesk assistant of this company, answering an employee. Use only the numbered "
    "passages below: every statement must come from one of them and carry its number in square brackets, "
    "like [1]. Never add facts, names, links or steps that are not in the passages. If the passages do not "
    "answer the question, say so in one sentence, with no citation. Be brief: a short lead-in, then the "
    "answer (numbered steps when the passages give steps)."
)


@dataclass
class ChatAnswer:
    conversation: Conversation
    suggestion: Suggestion
    text: str
    citations: list[dict]
    path: str
    answered: bool
    offer: dict | None
    sources: list[dict] = field(default_factory=list)  # ranked, as logged: [{kind, id, title, score}]


@dataclass
class _Turn:
    """What one question found, before any model writes."""

    user: User
    audience: Audience
    message: str
    question: str  # condensed with the previous turn when it does not stand alone
    conversation: Conversation
    found: Found
    started: float

    @property
    def answer(self) -> Answer:
        return self.found.answer


# --- Conversations ---------------------------------------------------------------------------


def conversation_for(*, user: User, conversation_id: str) -> Conversation:
    """The asker's own conversation; anyone else's does not exist for them."""
    conversation = Conversation.objects.filter(pk=conversation_id, user=user).first()
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def conversation_start(*, user: User, title: str) -> Conversation:
    """A new conversation of `user`, titled by its first question. Audited as
    `conversation.started` (who, when; not the question, which is the asker's own); the turns
    themselves are the conversation's content, not events (docs/events.md)."""
    with transaction.atomic():
        conversation = Conversation.objects.create(user=user, title=title[:200])
        events.publish(events.ConversationStarted(target_id=conversation.pk, actor_id=user.pk))
    return conversation


def condense(message: str, previous: str | None) -> str:
    """The question to retrieve with: the message alone when it stands alone, else read with the
    previous question ("How do I reset my password?" + "and on my phone?")."""
    if not previous:
        return message
    if len(set(terms_of(message))) >= FOLLOW_UP_TERMS and not _REFERS_BACK.search(message):
        return message
    return f"{previous} {message}"


def _previous_question(conversation: Conversation) -> str | None:
    last = (
        ChatMessage.objects.filter(conversation=conversation, role=ChatMessage.Role.USER)
        .order_by("-created_at", "-id")
        .values_list("text", flat=True)
        .first()
    )
    return last


# --- Retrieval -------------------------------------------------------------------------------


def _prepare(*, user: User, message: str, conversation_id: str | None) -> _Turn:
    started = time.perf_counter()
    message = message.strip()[:QUESTION_CHARS]
    if conversation_id:
        conversation = conversation_for(user=user, conversation_id=conversation_id)
        previous = _previous_question(conversation)
    else:
        conversation = conversation_start(user=user, title=message)
        previous = None
    question = condense(message, previous)
    audience = audience_for(Text.CHAT, writer=user)
    found = ground.find(audience=audience, question=question, vector=embeddings.embed_one(question))
    return _Turn(user, audience, message, question, conversation, found, started)


# --- Writing ---------------------------------------------------------------------------------


def _passage_text(passage: Passage, sources: list[Source]) -> str:
    """What a model reads of a source: its best units, in their order."""
    source = next(s for s in sources if s.passage is passage)
    best = sorted(source.units, key=lambda u: -u.score)[:PASSAGE_UNITS]
    lines = [u.text for u in sorted(best, key=lambda u: u.position)]
    return "\n".join(lines)


def model_messages(turn: _Turn) -> list[tuple[str, str]]:
    numbered = "\n\n".join(
        f"[{n}] {p.title}\n{_passage_text(p, turn.found.sources)}" for n, p in enumerate(turn.answer.passages, start=1)
    )
    return [("system", CHAT_PROMPT), ("human", f"Passages:\n\n{numbered}\n\nQuestion: {turn.message}")]


def _writing(turn: _Turn) -> dict:
    """The write stage's arguments for this turn: the extractive answer and the model's passages."""
    composed = turn.answer.composed

    def extractive(path: str, error: str) -> Written:
        return Written(composed.text, path, ANSWERER.name, [(c.n, c.passage) for c in composed.citations], error)

    return {
        "extractive": extractive,
        "answered": composed.answered,
        "passages": turn.answer.passages,
        "must_cite": True,
    }


# --- Storing the turn ------------------------------------------------------------------------


def offer_for(turn: _Turn) -> dict:
    """The ticket the chatbot offers when it has no answer: prefilled from the conversation."""
    asked = list(
        ChatMessage.objects.filter(conversation=turn.conversation, role=ChatMessage.Role.USER)
        .order_by("created_at", "id")
        .values_list("text", flat=True)
    )
    first_line = turn.message.splitlines()[0] if turn.message else turn.conversation.title
    title = first_line[:OFFER_TITLE_CHARS].strip() or "Question for the helpdesk"
    questions = "\n".join(f"- {text}" for text in asked) or f"- {turn.message}"
    description = (
        f"{turn.message}\n\nAsked the helpdesk assistant first; it found no answer in the knowledge base.\n"
        f"Questions in that conversation:\n{questions}"
    )
    return {"title": title, "description": description[:20_000]}


def _finish(turn: _Turn, written: Written) -> ChatAnswer:
    text, cited = citations.cite(audience=turn.audience, written=written)
    if written.cited and not cited:  # everything it cited became unreadable meanwhile
        text, answered = ANSWERER.no_answer, False
    else:
        answered = turn.answer.composed.answered
    now = timezone.now()
    ChatMessage.objects.create(conversation=turn.conversation, role=ChatMessage.Role.USER, text=turn.message)
    offer = None if answered else offer_for(turn)
    sources = turn.found.logged()
    suggestion = services.suggestion_record(
        kind=Suggestion.Kind.CHAT,
        actor=turn.user,
        inputs={
            "message": services.clipped(turn.message),
            "question": services.clipped(turn.question),
            "conversation": turn.conversation.pk,
        },
        output={
            "answer": text,
            "citations": [{k: c[k] for k in ("n", "kind", "id", "title")} for c in cited],
            "answered": answered,
            "reason": turn.answer.reason,
            "offer": offer,
        },
        sources=sources,
        path=written.path,
        model=written.model,
        latency_ms=(time.perf_counter() - turn.started) * 1000,
        error=written.error,
        conversation=turn.conversation,
    )
    ChatMessage.objects.create(
        conversation=turn.conversation,
        role=ChatMessage.Role.ASSISTANT,
        text=text,
        citations=[{k: c[k] for k in ("n", "kind", "id", "title")} for c in cited],
        path=written.path,
        suggestion=suggestion,
        created_at=max(timezone.now(), now),
    )
    Conversation.objects.filter(pk=turn.conversation.pk).update(updated_at=timezone.now())
    return ChatAnswer(turn.conversation, suggestion, text, cited, written.path, answered, offer, sources)


# --- Entry points ----------------------------------------------------------------------------


def ask(*, user: User, message: str, conversation_id: str | None = None) -> ChatAnswer:
    """Answer one question in a conversation of `user` (a new one without `conversation_id`)."""
    turn = _prepare(user=user, message=message, conversation_id=conversation_id)
    return _finish(turn, write.write(model_messages(turn), **_writing(turn)))


def ask_stream(*, user: User, message: str, conversation_id: str | None = None) -> Iterator[tuple[str, dict]]:
    """The same turn as (event, data) pairs for server-sent events: `start` (the conversation),
    `token` (text as it comes), `replace` (the text so far is replaced: by the extractive answer
    when the model failed or cited nothing after it began, or by the checked text when the citation
    check removed a marker already sent), and `done` (the whole answer, its checked citations,
    path, suggestion and the ticket offer)."""
    turn = _prepare(user=user, message=message, conversation_id=conversation_id)
    yield "start", {"conversation_id": turn.conversation.pk}
    shown = ""
    stream = write.write_stream(model_messages(turn), **_writing(turn))
    while True:
        try:
            event, data = next(stream)
        except StopIteration as done:
            written: Written = done.value
            break
        shown = data["text"] if event == "replace" else shown + data["text"]
        yield event, data
    answer = _finish(turn, written)
    if answer.text != shown:
        yield "replace", {"text": answer.text}
    yield "done", answer_payload(answer)


def answer_payload(answer: ChatAnswer) -> dict:
    """The API's shape of an answer."""
    return {
        "answer": answer.text,
        "citations": answer.citations,
        "conversation_id": answer.conversation.pk,
        "suggestion_id": answer.suggestion.pk,
        "path": answer.path,
        "answered": answer.answered,
        "offer": answer.offer,
    }


def open_ticket(*, user: User, conversation_id: str, title: str = "", description: str = ""):
    """Open the ticket a conversation offered (prefilled from it unless given), through the
    tickets service, and link it to the conversation: that conversation did not deflect."""
    from tickets import services as ticket_services

    conversation = conversation_for(user=user, conversation_id=conversation_id)
    if conversation.ticket_id:
        raise Conflict("A ticket was already opened from this conversation.")
    offer = _offer_of(conversation)
    ticket = ticket_services.ticket_create(
        requester=user,
        title=(title or offer["title"]).strip(),
        description=(description or offer["description"]).strip(),
    )
    # Conditional: two clicks at once link one ticket (the other stays, an ordinary ticket).
    with transaction.atomic():
        linked = Conversation.objects.filter(pk=conversation.pk, ticket__isnull=True).update(
            ticket=ticket, updated_at=F("updated_at")
        )
        if linked:
            events.publish(
                events.ConversationTicketOpened(
                    target_id=conversation.pk,
                    actor_id=user.pk,
                    ticket_id=ticket.pk,
                    changes={"ticket": [None, ticket.pk]},
                )
            )
    return ticket


def _offer_of(conversation: Conversation) -> dict:
    last = (
        Suggestion.objects.filter(conversation=conversation, kind=Suggestion.Kind.CHAT)
        .order_by("-created_at", "-id")
        .values_list("output", flat=True)
        .first()
    )
    if last and last.get("offer"):
        return last["offer"]
    return {
        "title": conversation.title[:OFFER_TITLE_CHARS],
        "description": f"{conversation.title}\n\nAsked the helpdesk assistant first.",
    }
