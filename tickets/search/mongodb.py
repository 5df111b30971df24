"""MongoDB: a weighted text index on the tickets collection (migration 0008), queried with `$text`
and ranked by `{$meta: "textScore"}` through django-mongodb-backend's raw_aggregate.

A tickets.policies Q cannot be spliced into a hand-written pipeline, so the text search takes the
best `limit x OVERFETCH` matches of tickets not deleted, and the scope then keeps those it allows,
in the same order, through the ORM (one query on their ids). Nothing outside the scope is returned.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from tickets.models import Ticket

TEXT_INDEX = {
    "keys": [("title", "text"), ("public_text", "text")],
    "name": "tickets_ticket_text",
    "weights": {"title": 4, "public_text": 1},
    "default_language": "english",
}
OVERFETCH = 4


def ranked_pipeline(terms: tuple[str, ...], *, limit: int) -> list[dict]:
    return [
        {"$match": {"$text": {"$search": " ".join(terms)}, "deleted_at": None}},
        {"$addFields": {"score": {"$meta": "textScore"}}},
        {"$sort": {"score": -1, "_id": 1}},
        {"$limit": limit},
        {"$project": {"_id": 1, "score": 1}},
    ]


class MongoTicketSearch:
    vendor = "mongodb"

    def ranked(self, terms: tuple[str, ...], scope_q: Q, *, limit: int) -> list[tuple[str, float]]:
        if not terms or limit <= 0:
            return []
        from django_mongodb_backend.queryset import MongoQuerySet

        rows = MongoQuerySet(model=Ticket).raw_aggregate(ranked_pipeline(terms, limit=limit * OVERFETCH))
        found = [(str(row.pk), float(row.score)) for row in rows]
        allowed = set(Ticket.objects.filter(scope_q, pk__in=[pk for pk, _ in found]).values_list("id", flat=True))
        return [(pk, score) for pk, score in found if pk in allowed][:limit]

    def rebuild(self) -> None:
        """MongoDB keeps the text index itself; make sure it exists."""
        collection = connection.get_collection(Ticket._meta.db_table)
        options = {key: value for key, value in TEXT_INDEX.items() if key != "keys"}
        collection.create_index(TEXT_INDEX["keys"], **options)
