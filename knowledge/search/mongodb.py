"""MongoDB: a weighted text index on the articles collection, queried with `$text` and ranked by
`{$meta: "textScore"}` through django-mongodb-backend's raw_aggregate.

Migration 0002 (MongoDB only) creates the index (`TEXT_INDEX`). MongoDB keeps it on every write.
The scope is part of the first `$match`, with `$text`, so it applies before `$sort` and `$limit`.
`$text` finds documents with any of the words; "all words" is computed per matched document with
case-insensitive word-prefix regexes (MongoDB's text search has no per-term flags), which is the
first sort key. MongoDB has no highlighter outside Atlas, so highlights are made in Python from
the few documents of the page.

Pure functions build the pipelines, so tests check them without a server.
"""

from __future__ import annotations

import re

from django.db import connection

from knowledge.models import Article
from knowledge.search.base import Highlight, Hit, ParsedQuery, Scope, python_highlights, stem

TEXT_INDEX = {
    "keys": [("title", "text"), ("summary", "text"), ("body", "text"), ("tags_text", "text")],
    "name": "knowledge_article_text",
    "weights": {"title": 10, "summary": 4, "body": 1, "tags_text": 5},
    "default_language": "english",
}
SNIPPET_WORDS = 32


def match_stage(query: ParsedQuery, scope: Scope) -> dict:
    match: dict = {
        "$text": {"$search": " ".join(query.terms)},
        "status": {"$in": list(scope.statuses)},
        "visibility": {"$lte": scope.max_visibility},
    }
    if scope.category_ids is not None:
        match["category_id"] = {"$in": list(scope.category_ids)}
    if scope.tags:
        match["$and"] = [{"tags_text": {"$regex": re.escape(f"|{tag}|"), "$options": "i"}} for tag in scope.tags]
    return {"$match": match}


def _has_word(term: str) -> dict:
    """True when the term starts a word in the title, summary, body or tags."""
    pattern = r"(^|[^\p{L}\p{N}])" + re.escape(stem(term))
    return {
        "$or": [
            {"$regexMatch": {"input": f"${name}", "regex": pattern, "options": "i"}}
            for name in ("title", "summary", "body", "tags_text")
        ]
    }


def count_pipeline(query: ParsedQuery, scope: Scope) -> list[dict]:
    return [match_stage(query, scope), {"$count": "n"}]


def ranked_pipeline(query: ParsedQuery, scope: Scope, *, offset: int, limit: int) -> list[dict]:
    all_words = {"$and": [_has_word(term) for term in query.terms]} if query.several else True
    return [
        match_stage(query, scope),
        {"$addFields": {"score": {"$meta": "textScore"}, "all_words": all_words}},
        {"$sort": {"all_words": -1, "score": -1, "_id": 1}},
        {"$skip": offset},
        {"$limit": limit},
        {"$project": {"_id": 1, "score": 1, "all_words": 1}},
    ]


class MongoSearch:
    vendor = "mongodb"
    needs_body = True

    def count(self, query: ParsedQuery, scope: Scope) -> int:
        if not query.terms or scope.empty:
            return 0
        collection = connection.get_collection(Article._meta.db_table)
        result = list(collection.aggregate(count_pipeline(query, scope)))
        return result[0]["n"] if result else 0

    def ranked(self, query: ParsedQuery, scope: Scope, *, offset: int, limit: int) -> list[Hit]:
        if not query.terms or scope.empty:
            return []
        from django_mongodb_backend.queryset import MongoQuerySet

        rows = MongoQuerySet(model=Article).raw_aggregate(ranked_pipeline(query, scope, offset=offset, limit=limit))
        return [Hit(article_id=str(row.pk), score=float(row.score), all_words=bool(row.all_words)) for row in rows]

    def highlights(self, query: ParsedQuery, rows: dict[str, dict]) -> dict[str, Highlight]:
        return python_highlights(query, rows, window=SNIPPET_WORDS)

    def rebuild(self) -> None:
        """MongoDB keeps the text index itself; make sure it exists."""
        ensure_text_index(connection)


def ensure_text_index(conn) -> None:
    collection = conn.get_collection(Article._meta.db_table)
    options = {key: value for key, value in TEXT_INDEX.items() if key != "keys"}
    collection.create_index(TEXT_INDEX["keys"], **options)
