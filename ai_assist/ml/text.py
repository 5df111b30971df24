"""Text preparation shared by every model: one way to join, normalise and tokenise a ticket."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[^\W_]+(?:['_][^\W_]+)*")  # letters and digits of any script


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
