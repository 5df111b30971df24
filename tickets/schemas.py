"""Schemas of the elements embedded in a ticket document (validated in code on every write)."""

from __future__ import annotations

from datetime import datetime

from helpdesk.api.errors import Invalid
from helpdesk.db import new_object_id

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


def new_attachment(
    *,
    attachment_id: str,
    name: str,
    size: int,
    content_type: str,
    sha256: str,
    storage_key: str,
    uploaded_by: str,
    created_at: datetime,
) -> dict:
    """An attachment element: metadata only; the bytes live in storage under `storage_key`."""
    return validate_attachment(
        {
            "id": attachment_id,
            "name": name,
            "size": size,
            "content_type": content_type,
            "sha256": sha256,
            "storage_key": storage_key,
            "uploaded_by": uploaded_by,
            "created_at": created_at.isoformat(),
        }
    )


def validate_attachment(element: dict) -> dict:
    expected = {
        "id": str,
        "name": str,
        "size": int,
        "content_type": str,
        "sha256": str,
        "storage_key": str,
        "uploaded_by": str,
        "created_at": str,
    }
    if set(element) != set(expected) or any(not isinstance(element[k], t) for k, t in expected.items()):
        raise ValueError(f"Not a valid attachment element: {sorted(element)}")
    datetime.fromisoformat(element["created_at"])
    return element
