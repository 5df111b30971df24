"""Extractive writing about one ticket's thread, with no language model: the summary an agent
taking over reads, the reply drafted to the requester around a composed answer, and the article
drafted from a resolved ticket. Also the thread as the text a language model is shown.

What goes in is decided by the caller (ai_assist.agent_tools): a `Thread` holds only the messages
its reader may read, so a summary for staff may hold internal notes (marked as such), and a reply
or an article is built from public messages only; nothing here can reach a message it was not
given. Pure code (no Django).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ai_assist.ml.passages import Composed

SUMMARY_ISSUE_CHARS = 300
SUMMARY_TRIED = 5
SUMMARY_NOTES = 3  # the latest internal notes, for a reader who may read them
QUOTE_CHARS = 220

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Something a person did or asked someone to do to fix it (sentences that are not questions).
_TRIED = re.compile(
    r"\b(?:tri(?:ed|es)|trying|restart\w*|reboot\w*|reset\w*|reinstall\w*|install\w*|clear\w*|check\w*|"
    r"updat\w*|upgrad\w*|replac\w*|ran|rerun|disabl\w*|enabl\w*|reconnect\w*|re-?enrol\w*|remov\w*|delet\w*|"
    r"roll(?:ed)? back|rollback|swap\w*|test\w*|switch\w*|flush\w*|renew\w*|power[- ]cycl\w*|escalat\w*|"
    r"unlock\w*|chang\w*|sent|assign\w*|verif\w*|confirm\w*|applied|apply\w*|patch\w*|configur\w*)\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ()-]{7,}\d(?!\w)")


@dataclass(frozen=True)
class Message:
    """One message of the thread after the description."""

    author: str  # a display name
    from_requester: bool
    body: str
    internal: bool = False


@dataclass(frozen=True)
class Thread:
    title: str
    description: str
    requester: str  # a display name
    status: str
    priority: str
    resolved: bool
    messages: tuple[Message, ...] = ()
    assignee: str = ""
    department: str = ""

    def public(self) -> Thread:
        """The same thread without internal notes: what the requester may read."""
        return replace(self, messages=tuple(m for m in self.messages if not m.internal))


@dataclass(frozen=True)
class Summary:
    text: str
    open_question: str
    tried: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ArticleDraft:
    title: str
    summary: str
    body: str


def sentences(text: str) -> list[str]:
    found: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip(" \t-*•")
        if line:
            found.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return found


def clip(text: str, chars: int) -> str:
    text = " ".join((text or "").split())
    if len(text) <= chars:
        return text
    cut = text[: chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def scrub(text: str) -> str:
    """Contact details out of text meant for an article: e-mail addresses and phone numbers."""
    return _PHONE.sub("[phone number]", _EMAIL.sub("[e-mail address]", text or ""))


def _questions(text: str) -> list[str]:
    return [s for s in sentences(text) if s.endswith("?")]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def without_people(thread: Thread, scrub: Callable[[str], str]) -> Thread:
    """The thread for readers who are not its people: every text through `scrub` (personal data
    out, ai_assist.ml.personal), and each person named only by their part in it."""
    return replace(
        thread,
        title=scrub(thread.title),
        description=scrub(thread.description),
        requester="the requester",
        assignee="an agent" if thread.assignee else "",
        messages=tuple(
            replace(m, author="the requester" if m.from_requester else "an agent", body=scrub(m.body))
            for m in thread.messages
        ),
    )


# --- Summary --------------------------------------------------------------------------------


def open_question(thread: Thread) -> str:
    """What is still to be answered: nothing once resolved; otherwise the requester's latest
    question (their latest message, else the description), or the title when they asked none."""
    if thread.resolved:
        return ""
    for message in reversed(thread.messages):
        if message.from_requester and not message.internal:
            asked = _questions(message.body)
            if asked:
                return clip(asked[-1], QUOTE_CHARS)
    asked = _questions(thread.description)
    return clip(asked[0] if asked else thread.title, QUOTE_CHARS)


def tried(thread: Thread) -> list[str]:
    """The sentences that say what someone did or tried, oldest first, with who said it (an
    internal note marked), at most SUMMARY_TRIED (the latest ones)."""
    found: list[str] = []
    sources = [(thread.requester, thread.description, False)]
    sources += [(m.author, m.body, m.internal) for m in thread.messages]
    for author, body, internal in sources:
        for sentence in sentences(body):
            if sentence.endswith("?") or not _TRIED.search(sentence):
                continue
            where = f"{author}, internal note" if internal else author
            item = f"{clip(sentence, QUOTE_CHARS)} ({where})"
            if item not in found:
                found.append(item)
    return found[-SUMMARY_TRIED:]


def summarise(thread: Thread) -> Summary:
    """A short summary for an agent taking over: the issue, where it stands, what was tried, the
    latest internal notes (when the thread holds any: its reader is staff), the open question."""
    issue = clip(" ".join(sentences(thread.description)[:2]), SUMMARY_ISSUE_CHARS)
    notes = sum(m.internal for m in thread.messages)
    state = [f"{thread.status}, {thread.priority} priority"]
    if thread.assignee:
        state.append(f"assigned to {thread.assignee}" + (f" ({thread.department})" if thread.department else ""))
    elif thread.department:
        state.append(f"in {thread.department}, unassigned")
    else:
        state.append("in triage")
    replies = _plural(len(thread.messages), "message") + " after the description"
    if notes:
        replies += f", {_plural(notes, 'internal note')}"
    state.append(replies)
    public = [m for m in thread.messages if not m.internal]
    if not thread.resolved:
        if public and not public[-1].from_requester:
            state.append(f"waiting for the requester since {public[-1].author}'s reply")
        else:
            state.append("the requester wrote last: waiting for staff")
    did = tried(thread)
    question = open_question(thread)
    lines = [f"Issue: {thread.title}" + (f": {issue}" if issue else "") + f" (opened by {thread.requester})"]
    lines.append("State: " + "; ".join(state) + ".")
    if did:
        lines.append("Tried so far:")
        lines.extend(f"- {item}" for item in did)
    else:
        lines.append("Tried so far: nothing recorded in the thread.")
    notes_given = [m for m in thread.messages if m.internal]
    if notes_given:
        lines.append("Internal notes (staff only):")
        lines.extend(f"- {clip(m.body, QUOTE_CHARS)} ({m.author})" for m in notes_given[-SUMMARY_NOTES:])
    lines.append(f"Open question: {question}" if question else "Open question: none, the ticket is resolved.")
    return Summary(text="\n".join(lines), open_question=question, tried=tuple(did))


# --- Reply draft ----------------------------------------------------------------------------


def reply(*, requester: str, agent: str, composed: Composed) -> str:
    """A reply to the requester around a composed answer (its citations kept as written). When
    nothing answered, an honest holding reply with no claim at all."""
    greeting = f"Hello {requester}," if requester else "Hello,"
    sign_off = f"Best regards,\n{agent}" if agent else "Best regards"
    if not composed.answered:
        body = "Thank you for your message. We are looking into it and will come back to you as soon as we can."
        return f"{greeting}\n\n{body}\n\n{sign_off}"
    lead_in, _, rest = composed.text.partition("\n")
    if len(composed.citations) == 1:
        source = composed.citations[0].passage
        if source.kind == "article":
            lead_in = f"Thank you for your message. Our article “{source.title}” covers this:"
        else:
            lead_in = "Thank you for your message. This is what solved the same problem before:"
    else:
        lead_in = "Thank you for your message. This should help:"
    return f"{greeting}\n\n{lead_in}\n{rest}\n\nPlease let us know if this does not solve it.\n\n{sign_off}"


# --- Article from a resolved ticket ---------------------------------------------------------


def article_from_thread(thread: Thread) -> ArticleDraft:
    """A draft article from a resolved ticket's public thread: the problem in the requester's
    words, then what staff answered. Internal notes are left out even if given; contact details
    are scrubbed. A lead edits and publishes it."""
    public = thread.public()
    answers = [m for m in public.messages if not m.from_requester and m.body.strip()]
    follow_ups = [m for m in public.messages if m.from_requester and m.body.strip()]
    problem = scrub(public.description.strip()) or public.title
    body = ["## Problem", "", problem, ""]
    if follow_ups:
        body += ["### More details from the requester", ""]
        body += [f"- {clip(scrub(m.body), 400)}" for m in follow_ups[:3]]
        body.append("")
    body += ["## Solution", ""]
    if answers:
        for message in answers:
            body += [scrub(message.body.strip()), ""]
    else:
        body += ["_No public answer by staff in the ticket: write the solution here._", ""]
    body.append(
        "_Drafted from a resolved ticket's public thread. Check it and remove personal details before publishing._"
    )
    summary = clip(scrub(" ".join(sentences(public.description)[:1])) or public.title, 280)
    return ArticleDraft(title=clip(public.title, 200), summary=summary, body="\n".join(body))


# --- For a language model -------------------------------------------------------------------


def as_text(thread: Thread, *, limit: int = 12_000) -> str:
    """The thread as a model reads it, internal notes marked (the caller decides whether the
    thread holds any). The newest messages are kept when it is too long."""
    head = [
        f"Title: {thread.title}",
        f"Status: {thread.status}; priority: {thread.priority}",
        f"Description by {thread.requester} (requester):",
        thread.description.strip(),
    ]
    parts: list[str] = []
    for message in thread.messages:
        who = "requester" if message.from_requester else "staff"
        label = "internal note, staff only" if message.internal else "public reply"
        parts.append(f"[{label}] {message.author} ({who}):\n{message.body.strip()}")
    text = "\n".join(head)
    kept: list[str] = []
    room = limit - len(text)
    for part in reversed(parts):
        if len(part) + 2 > room:
            break
        kept.insert(0, part)
        room -= len(part) + 2
    return "\n\n".join([text, *kept])


def numbered_passages(passages: Sequence, *, chars: int = 1_500) -> str:
    """Retrieved passages as a model is shown them: `[n] (kind) title` then the text."""
    return "\n\n".join(
        f"[{n}] ({passage.kind}) {passage.title}\n{clip(passage.text, chars)}" for n, passage in enumerate(passages, 1)
    )
