"""Schemas of the elements embedded in a ticket document (validated in code on every write)."""

from __future__ import annotations

from datetime import datetime

from helpdesk.db import new_object_id
from helpdesk.errors import Invalid

MAX_COMMENT_LENGTH = 20_000


def new_comment(*, author_id: str, body: str, internal: bool, created_at: datetime) -> dict:
    """A comment element: {id, author, body, internal, created_at}."""
    body = (body or "").strip()
    if not body:
        raise Invalid("A comment needs some text.", errors={"body": ["This field may not be blank."]})
    if len(body) > MAX_COMMENT_LENGTH:
        raise Invalid("The comment is too long.", errors={"body": [f"At most {MAX_COMMENT_LENGTH} characters."]})
    return validate_comment(
        {
            "id": new_object_id(),
            "author": author_id,
            "body": body,
            "internal": bool(internal),
            "created_at": created_at.isoformat(),
        }
    )


def validate_comment(element: dict) -> dict:
    expected = {"id": str, "author": str, "body": str, "internal": bool, "created_at": str}
    if set(element) != set(expected) or any(not isinstance(element[k], t) for k, t in expected.items()):
        raise ValueError(f"Not a valid comment element: {sorted(element)}")
    datetime.fromisoformat(element["created_at"])
    return element


def participants(comments: list[dict], attachments: list[dict]) -> str:
    """`|id|id|`: who wrote a comment or added a file (Ticket.participants), so that a query finds a
    person's tickets with `participants__contains=f"|{id}|"`, never by looking inside the arrays."""
    ids = sorted({c["author"] for c in comments} | {a["uploaded_by"] for a in attachments if a.get("uploaded_by")})
    return f"|{'|'.join(ids)}|" if ids else ""
