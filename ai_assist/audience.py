"""Who reads each AI text, and what it may draw on (ARCHITECTURE §6 "Audience", decision 0024).

Every AI text is written for an audience decided first, by `audience_for`, and every source it
draws on is checked against that audience, by `allowed_sources`; chat answers, draft replies,
summaries, articles drafted from tickets and gap drafts all call both. Retrieval uses the same
audience to narrow what it ranks (`article_reader`, `ticket_scope`), and `allowed_sources` checks
again what was found, against the database as it is now.

The audiences:
- a chat answer: the person asking;
- a draft reply: the ticket's requester, and the agent who sends it (so it holds what both may
  read): articles both may read, and the resolved tickets both may open (for an employee their
  own). Another requester's ticket is never quoted nor cited; the agent-facing similar-tickets
  list is a separate, agent-only tool;
- a summary: the staff member who asked (internal notes included, marked);
- an article drafted from a ticket, and a gap draft: everyone who will read the article at its
  visibility, so no one person. No ticket may be quoted as written; a ticket the writer may see is
  drawn on only with personal data removed (ai_assist.ml.personal), and a chatbot question only
  through words several questions share, never its sentence.

How a source may be used is its `Form`: VERBATIM (quoted as written), SCRUBBED (personal data
removed first, by `scrubber()`), KEYWORDS (only words several sources share).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import User
from ai_assist.ml.personal import Scrubber

if TYPE_CHECKING:
    from tickets.policies import TicketScope


class Text(StrEnum):
    CHAT = "chat"
    DRAFT_REPLY = "draft_reply"
    SUMMARY = "summary"
    ARTICLE = "article"  # drafted from a ticket
    GAP = "gap"  # drafted from a knowledge gap


class Form(StrEnum):
    VERBATIM = "verbatim"
    SCRUBBED = "scrubbed"
    KEYWORDS = "keywords"


ARTICLE, TICKET, QUESTION = "article", "ticket", "question"


@dataclass(frozen=True)
class Audience:
    """Who will read one AI text. `readers`: the people it is written for, when they are known;
    `visibility`: for an article, the lowest role that will read it (everyone of that role and
    above, so no one person); `writer`: who asked for it."""

    text: Text
    writer: User
    readers: tuple[User, ...] = ()
    visibility: int | None = None

    @property
    def is_public(self) -> bool:
        """Read by a group (an article's readers) rather than by known people."""
        return self.visibility is not None

    def article_reader(self) -> User:
        """Articles are read by role: the reader of the lowest role reads what every reader may."""
        return min(self.readers, key=lambda user: user.role)

    def ticket_scope(self) -> TicketScope | None:
        """The resolved tickets every reader may open, as the AI's retrieval scope (None: the
        audience may not read any ticket as written)."""
        from tickets.policies import TicketScope, retrieval_scope
        from tickets.selectors import resolved

        if self.is_public or not self.readers:
            return None
        scopes = [retrieval_scope(reader) for reader in {reader.pk: reader for reader in self.readers}.values()]
        q = resolved()
        for scope in scopes:
            q &= scope.q
        return TicketScope(q, "&".join(scope.key for scope in scopes) + ":resolved")


def audience_for(text: Text, *, writer: User, requester: User | None = None, visibility: int | None = None) -> Audience:
    """The audience of an AI text, decided before anything is retrieved or written."""
    if text in (Text.CHAT, Text.SUMMARY):
        return Audience(text, writer, readers=(writer,))
    if text == Text.DRAFT_REPLY:
        if requester is None:
            raise ValueError("A draft reply is written for the ticket's requester.")
        return Audience(text, writer, readers=(requester, writer))
    if visibility is None:
        raise ValueError("A drafted article is read by everyone of its visibility.")
    return Audience(text, writer, visibility=int(visibility))


@dataclass(frozen=True)
class SourceUse:
    """One source an AI text draws on, and how."""

    kind: str  # ARTICLE, TICKET or QUESTION
    id: str
    form: Form = Form.VERBATIM


def allowed_sources(audience: Audience, uses: Iterable[SourceUse]) -> dict[tuple[str, str], str]:
    """The uses `audience` allows, as {(kind, id): title} (a question's title is ""), read from
    the database as it is now (one query per kind):
    - an article, verbatim, when the AI reads it (published) at a visibility every reader may read;
    - a ticket, verbatim, when every reader may open it (a public audience: never); scrubbed, for a
      public audience, when the writer may open it;
    - a chatbot question, only as keywords, for a public audience, when the writer may read
      people's questions (ai_assist.policies.sees_chat_questions)."""
    from ai_assist import policies
    from ai_assist.models import ChatMessage
    from knowledge.models import Article
    from knowledge.policies import ai_readable_articles, ai_readable_at
    from tickets.models import Ticket
    from tickets.policies import visible_tickets

    uses = list(uses)
    allowed: dict[tuple[str, str], str] = {}
    articles = {u.id for u in uses if u.kind == ARTICLE and u.form == Form.VERBATIM}
    if articles:
        readable = (
            ai_readable_at(audience.visibility)
            if audience.is_public
            else _all(ai_readable_articles(reader) for reader in audience.readers)
        )
        for pk, title in Article.objects.filter(readable, pk__in=articles).values_list("id", "title"):
            allowed[(ARTICLE, pk)] = title
    form = Form.SCRUBBED if audience.is_public else Form.VERBATIM
    tickets = {u.id for u in uses if u.kind == TICKET and u.form == form}
    if tickets:
        openers = (audience.writer,) if audience.is_public else audience.readers
        scope = _all(visible_tickets(reader) for reader in openers)
        for pk, title in Ticket.objects.filter(scope, pk__in=tickets).values_list("id", "title"):
            allowed[(TICKET, pk)] = title
    questions = {u.id for u in uses if u.kind == QUESTION and u.form == Form.KEYWORDS}
    if questions and audience.is_public and policies.sees_chat_questions(audience.writer):
        for pk in ChatMessage.objects.filter(pk__in=questions, role=ChatMessage.Role.USER).values_list("id", flat=True):
            allowed[(QUESTION, pk)] = ""
    return allowed


def _all(filters: Iterable[Q]) -> Q:
    combined = Q()
    for q in filters:
        combined &= q
    return combined


def scrubber(*people: User | None) -> Scrubber:
    """What makes a source SCRUBBED: removes personal data (ai_assist.ml.personal), knowing the
    names of `people` and of everyone with an account."""
    from accounts.selectors import people_names

    names = [*people_names(), *(f"{p.first_name} {p.last_name}" for p in people if p is not None)]
    return Scrubber(names)
