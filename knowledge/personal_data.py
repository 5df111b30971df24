"""The knowledge base's part of a person's export (helpdesk.personal_data; decision 0027).

Articles are the organisation's content: the export lists what the person wrote (articles they
started or last changed, versions they made), by reference; erasure leaves them, and their author
is then shown as the erased account, "Erased user".
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from helpdesk import personal_data
from helpdesk.personal_data import Subject
from knowledge.models import Article, ArticleVersion


def export_articles(subject: Subject) -> dict[str, Any]:
    me = subject.user_id
    articles = (
        Article.objects.filter(Q(author_id=me) | Q(updated_by_id=me))
        .order_by("created_at", "id")
        .values("id", "title", "status", "author_id", "updated_by_id", "created_at", "updated_at")
    )
    versions = (
        ArticleVersion.objects.filter(author_id=me)
        .order_by("created_at", "id")
        .values("article_id", "number", "title", "change_note", "created_at")
    )
    return {
        "articles": [
            {**row, "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat()}
            for row in articles
        ],
        "versions": [{**row, "created_at": row["created_at"].isoformat()} for row in versions],
    }


def register() -> None:
    personal_data.register("knowledge", export=export_articles)
