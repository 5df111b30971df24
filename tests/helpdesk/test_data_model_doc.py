"""docs/data-model.md documents every model, every field and the embedded element schemas."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps

from helpdesk.files import ATTACHMENT_FIELDS
from tickets.schemas import new_comment

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
PROJECT_APPS = {"accounts", "tickets", "knowledge", "ai_assist", "audit", "notifications", "intake", "helpdesk"}


def sections() -> dict[str, str]:
    """Each `### Title` or `#### Title` heading's first word mapped to the text under it."""
    parts = re.split(r"^#{3,4} ", DOC.read_text(), flags=re.MULTILINE)
    return {part.split()[0]: part for part in parts[1:]}


def documented_names(section: str) -> set[str]:
    """Names written as `code` in the first column of the section's table rows."""
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return names


def test_every_model_and_field_is_documented():
    doc = sections()
    missing = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        name = model.__name__
        if name not in doc or f"`{model._meta.db_table}`" not in doc[name].splitlines()[0]:
            missing.append(f"{model._meta.label}: no section '### {name} (`{model._meta.db_table}`)'")
            continue
        fields = {field.name for field in model._meta.get_fields() if field.concrete}
        missing += [f"{model._meta.label}.{field}" for field in sorted(fields - documented_names(doc[name]))]
    assert not missing, "docs/data-model.md lacks: " + ", ".join(missing)


def test_the_embedded_comment_and_attachment_schemas_are_documented():
    doc = sections()
    comment = new_comment(author_id="a" * 24, body="hello", internal=False, created_at=datetime.now(UTC))
    assert set(comment) <= documented_names(doc["Comment"])
    assert set(ATTACHMENT_FIELDS) | {"role"} <= documented_names(doc["Attachment"])
