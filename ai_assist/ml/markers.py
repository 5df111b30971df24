"""Citation markers, the one parser: "[n]" in a text names the n-th passage it was written from.

Pure code (no Django): the extractive answerer (ai_assist.ml.answer) writes its markers with
`cite`; the citation check (ai_assist.answering.citations) reads and removes them with
`numbers_in` and `keep_only`. No other module parses a marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NUMBERED = r"\[(\d{1,2})\]"  # the grammar: one or two digits in square brackets
# A marker with the one space before it, so that removing it leaves "portal." and not "portal ."
MARKER = re.compile(r"\s?" + _NUMBERED)
_WITH_ANY_SPACE = re.compile(r"\s*" + _NUMBERED)  # a quoted unit's own marks, however spaced


def numbers_in(text: str) -> list[int]:
    """The numbers the markers of `text` name, in order of first use."""
    return list(dict.fromkeys(int(m.group(1)) for m in MARKER.finditer(text or "")))


def keep_only(text: str, keep: Callable[[int], bool]) -> str:
    """`text` without the markers whose number `keep` refuses."""
    return MARKER.sub(lambda m: m.group(0) if keep(int(m.group(1))) else "", text or "")


def without_markers(text: str) -> str:
    """`text` with no marker at all (a quoted sentence before it is cited again)."""
    return _WITH_ANY_SPACE.sub("", text or "")


def cite(text: str, n: int) -> str:
    """A quoted unit cited [n]: any marker it carried removed first."""
    return f"{without_markers(text).rstrip()} [{n}]"
