"""Tags and skills: short lower-case labels. One rule for tickets, articles and agents' skills."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from helpdesk.errors import Invalid

MAX_TAGS = 20
MAX_TAG_LENGTH = 50


def normalise_tags(
    values: Iterable[object], *, field: str = "tags", most: int = MAX_TAGS, longest: int = MAX_TAG_LENGTH
) -> list[str]:
    """Each label lower-cased with its white space folded, once, in the order given.

    Control and private-use characters and `|` (the separator of stored tag text) become spaces;
    blank labels are dropped. A label longer than `longest`, or more than `most` labels, is an
    Invalid error on `field`: nothing is cut silently.
    """
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise Invalid(f"Each of {field} must be text.", errors={field: ["Each entry must be text."]})
        label = " ".join(_printable(value).replace("|", " ").lower().split())
        if not label or label in cleaned:
            continue
        if len(label) > longest:
            raise Invalid(f"One of {field} is too long.", errors={field: [f"Each has at most {longest} characters."]})
        cleaned.append(label)
    if len(cleaned) > most:
        raise Invalid(f"Too many {field}.", errors={field: [f"At most {most}."]})
    return cleaned


def split_tags(text: str, *, field: str = "tags") -> list[str]:
    """Comma-separated labels, as typed in a form or a query string."""
    return normalise_tags((text or "").split(","), field=field)


def _printable(text: str) -> str:
    return "".join(" " if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") else char for char in text)
