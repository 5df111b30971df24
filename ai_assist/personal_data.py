"""The AI's part of a person's export and erasure (helpdesk.personal_data; decision 0027).

Export: their chatbot conversations with every message, the suggestions they asked for (chat
answers, similar-ticket searches, routing previews, drafts...), the suggestions made about their
tickets (routing, drafts, summaries), and their reviews of suggestions.

Erasure:
- the vector index: their tickets' vectors go (the ticket corpus), and stay out: indexing skips the
  tickets of an erased requester (ai_assist.retrieval.tickets), so neither the next event nor a
  `manage.py reindex` brings them back;
- their conversations and messages are deleted (text and all), and so are this process's
  question vectors of those messages (ai_assist.gaps keeps them by message id);
- what they typed to the AI elsewhere: the inputs of their chat answers, similar-ticket searches and
  routing previews are replaced, a chat answer keeps only whether it answered and what it cited,
  their own text in reviews of chat answers goes, and a knowledge-gap outline that quoted one of
  their questions says "[erased]" there instead; their address and name go from any suggestion by
  them or about their tickets.
Suggestions stay (the AI log's counts, latency and reviews), and so do the suggestions about their
tickets: those read the tickets, which the organisation keeps.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q

from ai_assist.ml.thread import clip, scrub
from ai_assist.models import ChatMessage, Conversation, Suggestion, SuggestionFeedback
from helpdesk import personal_data
from helpdesk.personal_data import ERASED, Subject

# What replaces the inputs of a suggestion the person typed (a chat question, a search, a preview).
ERASED_INPUTS = {"erased": True}
# Their own words: the AI log keeps the rest of these suggestions.
TYPED_KINDS = (Suggestion.Kind.CHAT, Suggestion.Kind.SIMILAR, Suggestion.Kind.ROUTE)
CHAT_OUTPUT_KEPT = ("answered", "citations")  # a chat answer's output without their words in it
# How a knowledge-gap outline quotes a question (ai_assist.ml.gaps.outline): its points and title.
GAP_QUOTE_CHARS = (160, 200)


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


SUGGESTION_FIELDS = (
    "id",
    "kind",
    "ticket_id",
    "actor_id",
    "department_id",
    "confidence",
    "abstained",
    "inputs",
    "output",
    "model",
    "path",
    "sources",
    "conversation_id",
    "latency_ms",
    "error",
    "created_at",
)


def _rows(queryset, fields) -> list[dict[str, Any]]:
    return [
        {key: _when(value) if key.endswith("_at") else value for key, value in row.items()}
        for row in queryset.values(*fields)
    ]


def _their_tickets(user_id: str) -> list[str]:
    """The ids of the tickets they requested (ids first, so no query below needs a join)."""
    from tickets.models import Ticket

    return list(Ticket.objects.filter(requester_id=user_id).values_list("pk", flat=True))


def export_ai(subject: Subject) -> dict[str, Any]:
    me = subject.user_id
    conversations = _rows(
        Conversation.objects.filter(user_id=me).order_by("created_at", "id"),
        ("id", "title", "ticket_id", "created_at", "updated_at"),
    )
    messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(
        ChatMessage.objects.filter(conversation_id__in=[c["id"] for c in conversations]).order_by("created_at", "id"),
        ("id", "conversation_id", "role", "text", "citations", "path", "suggestion_id", "created_at"),
    ):
        messages[row.pop("conversation_id")].append(row)
    return {
        "conversations": [{**c, "messages": messages.get(c["id"], [])} for c in conversations],
        "suggestions_asked": _rows(
            Suggestion.objects.filter(actor_id=me).order_by("created_at", "id"), SUGGESTION_FIELDS
        ),
        "suggestions_about_their_tickets": _rows(
            Suggestion.objects.filter(ticket_id__in=_their_tickets(me))
            .exclude(actor_id=me)
            .order_by("created_at", "id"),
            SUGGESTION_FIELDS,
        ),
        "reviews": _rows(
            SuggestionFeedback.objects.filter(user_id=me).order_by("created_at", "id"),
            ("id", "suggestion_id", "verdict", "final_text", "comment", "edit_distance", "created_at"),
        ),
    }


def _drop_from_index(subject: Subject) -> int:
    """Their tickets' vectors (first: if the index is down the erasure stops here, and a retry does it)."""
    from ai_assist import retrieval

    ids = _their_tickets(subject.user_id)
    if not ids:
        return 0
    corpus = retrieval.ticket_corpus()
    held = corpus.collection().get(ids=ids, include=[])["ids"]
    corpus.delete(held)
    return len(held)


def _redact_suggestions(subject: Subject) -> int:
    me = subject.user_id
    changed = 0
    rows = Suggestion.objects.filter(Q(actor_id=me) | Q(ticket_id__in=_their_tickets(me))).values_list(
        "pk", "kind", "actor_id", "inputs", "output", "sources"
    )
    for pk, kind, actor_id, inputs, output, sources in rows:
        new_inputs, new_output = inputs, output
        if actor_id == me and kind in TYPED_KINDS:
            new_inputs = ERASED_INPUTS
            if kind == Suggestion.Kind.CHAT:
                new_output = {key: output[key] for key in CHAT_OUTPUT_KEPT if key in output}
        new = {
            "inputs": subject.scrub(new_inputs),
            "output": subject.scrub(new_output),
            "sources": subject.scrub(sources),
        }
        if new != {"inputs": inputs, "output": output, "sources": sources}:
            changed += Suggestion.objects.filter(pk=pk).update(**new)
    return changed


def _redact_gap_outlines(message_ids: set[str], questions: list[str]) -> int:
    """A gap draft logged before decision 0024 quoted the questions of its group (scrubbed of
    contact details, clipped): where one was theirs, the quote becomes ERASED. The article a lead drafted from it
    is the organisation's content and is not touched (decision 0027)."""
    quotes = {clip(scrub(text), chars) for text in questions for chars in GAP_QUOTE_CHARS} - {""}
    if not message_ids or not quotes:
        return 0
    changed = 0
    for pk, inputs, output in Suggestion.objects.filter(kind=Suggestion.Kind.GAP).values_list("pk", "inputs", "output"):
        if not any(item.get("id") in message_ids for item in (inputs or {}).get("items", [])):
            continue
        new = dict(output)
        for key in ("text", "title"):
            if isinstance(new.get(key), str):
                for quote in sorted(quotes, key=len, reverse=True):
                    new[key] = new[key].replace(quote, ERASED)
        if new != output:
            changed += Suggestion.objects.filter(pk=pk).update(output=new)
    return changed


def erase_ai(subject: Subject) -> dict[str, int]:
    me = subject.user_id
    indexed = _drop_from_index(subject)
    conversations = list(Conversation.objects.filter(user_id=me).values_list("pk", flat=True))
    messages = list(ChatMessage.objects.filter(conversation_id__in=conversations).values_list("pk", "role", "text"))
    from ai_assist import gaps  # its question cache, by message id

    gaps.forget_questions([pk for pk, _, _ in messages])
    suggestions = _redact_suggestions(subject) + _redact_gap_outlines(
        {pk for pk, _, _ in messages}, [text for _, role, text in messages if role == ChatMessage.Role.USER]
    )
    chat_reviews = SuggestionFeedback.objects.filter(user_id=me, suggestion__kind=Suggestion.Kind.CHAT)
    reviews = (
        SuggestionFeedback.objects.filter(pk__in=list(chat_reviews.values_list("pk", flat=True)))
        .exclude(final_text="", comment="")
        .update(final_text="", comment="")
    )
    deleted_messages, _ = ChatMessage.objects.filter(pk__in=[pk for pk, _, _ in messages]).delete()
    deleted_conversations, _ = Conversation.objects.filter(pk__in=conversations).delete()
    return {
        "vector_index_tickets": indexed,
        "ai_assist_conversation": deleted_conversations,
        "ai_assist_chatmessage": deleted_messages,
        "ai_assist_suggestion": suggestions,
        "ai_assist_suggestionfeedback": reviews,
    }


def register() -> None:
    personal_data.register("ai_assist", export=export_ai, erase=erase_ai)
