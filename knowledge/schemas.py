"""Schema of the elements embedded in an article document (validated in code on every write)."""

from __future__ import annotations

from datetime import datetime

ATTACHMENT_FIELDS = {
    "id": str,
    "name": str,
    "size": int,
    "content_type": str,
    "sha256": str,
    "storage_key": str,
    "uploaded_by": str,
    "created_at": str,
    "role": str,
}


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
    role: str = "source",
) -> dict:
    """An attachment element: metadata only; the bytes live in storage under `storage_key`.
    `role` says why it is there (`source`: the document the article was imported from)."""
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
            "role": role,
        }
    )


def validate_attachment(element: dict) -> dict:
    if set(element) != set(ATTACHMENT_FIELDS) or any(
        not isinstance(element[key], kind) for key, kind in ATTACHMENT_FIELDS.items()
    ):
        raise ValueError(f"Not a valid attachment element: {sorted(element)}")
    datetime.fromisoformat(element["created_at"])
    return element
