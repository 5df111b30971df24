"""Text preparation shared by every model: one way to join, normalise and tokenise a ticket; stop
words and a light stemmer for keyword terms; plain text cut into sentences and list steps."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[^\W_]+(?:['_][^\W_]+)*")  # letters and digits of any script
_STEP = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•]|step\s+\d{1,2}\s*[:.)-]?)\s+", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")

_STOP_WORDS = """
a about above after again against all am an and any are as at be because been before being below
between both but by can cannot could did do does doing done down during each either else few for
from further get gets getting got had has have having he her here hers herself him himself his
how i if in into is it its itself just let me might more most must my myself need needs no nor
not now of off on once only or other our ours ourselves out over own please same shall she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up us very want was we were what when where which while who whom why
will with would you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def ticket_text(title: str, body: str) -> str:
    """Title and body as one normalised string (lower case, single spaces)."""
    return normalise(f"{title or ''} {body or ''}")


def normalise(text: str) -> str:
    return _SPACE.sub(" ", (text or "").lower()).strip()


def tokens(text: str) -> list[str]:
    """Word tokens for keyword retrieval (the same rule at indexing and at query time)."""
    return _TOKEN.findall(normalise(text))


def normalised_tokens(text: str) -> list[str]:
    """tokens() of a text that is normalise'd already (the same list, one regex pass less)."""
    return _TOKEN.findall(text)


def stem(word: str) -> str:
    """A light English stemmer: enough to meet "passwords" with "password", "resetting" with "reset"."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + keep
            if keep == "" and suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # "resett" -> "reset"
            break
    return word


def split_units(text: str) -> list[tuple[str, int | None]]:
    """(text, list number or None) per sentence or step, in order. Consecutive step lines form
    one list; a line that continues a step (indented, not a new step) joins it."""
    units: list[tuple[str, int | None]] = []
    lists = 0
    in_list = False
    for raw in (text or "").splitlines():
        line = _HEADING.sub("", raw).strip()
        if not line:
            continue
        if _STEP.match(raw):
            if not in_list:
                lists += 1
                in_list = True
            units.append((_STEP.sub("", raw).strip(), lists))
            continue
        if in_list and raw[:1].isspace() and units:
            step, number = units[-1]
            units[-1] = (f"{step} {line}", number)
            continue
        in_list = False
        units.extend((sentence.strip(), None) for sentence in _SENTENCE_END.split(line) if sentence.strip())
    return units
