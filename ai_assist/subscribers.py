"""Domain events the AI listens to. Connected in AiAssistConfig.ready().

- ticket.created: route it (after the write is committed, as a job; routing never blocks or
  undoes the creation) and index it;
- ticket changes (updated, comment added, routed, assigned, status, deleted, restored, imported):
  re-index that ticket (deleted: drop it);
- article.published / updated / archived (knowledge app): re-chunk and re-index the article.
Index failures are logged and never fail the write (the events module guarantees it too);
`manage.py reindex` repairs any drift.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from helpdesk import events

logger = logging.getLogger(__name__)

TICKET_INDEX_EVENTS = (
    "ticket.created",
    "ticket.updated",
    "comment.added",
    "ticket.routed",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.deleted",
    "ticket.restored",
    "ticket.imported",
)
ARTICLE_EVENTS = ("article.published", "article.updated", "article.archived", "article.deleted")


def on_ticket_created(*, name: str, ticket, **payload) -> None:
    if not settings.AI_AUTO_ROUTE or ticket.department_id is not None:
        return
    from ai_assist import tasks

    ticket_id = ticket.pk

    def enqueue() -> None:
        try:
            tasks.route_new_ticket.delay(ticket_id)
        except Exception:  # a broker hiccup must not fail the request that created the ticket
            logger.exception("Could not queue routing of ticket %s; it stays in triage", ticket_id)

    transaction.on_commit(enqueue)


def on_ticket_changed(*, name: str, ticket, **payload) -> None:
    from ai_assist import index

    ticket_id = ticket.pk

    def reindex() -> None:
        try:
            from tickets.models import Ticket

            current = Ticket.objects.filter(pk=ticket_id).first()
            if current is None:
                index.delete_tickets([ticket_id])
            else:
                index.ticket_changed(current)
        except Exception:
            logger.exception("Indexing ticket %s failed; manage.py reindex repairs the index", ticket_id)

    if index.deferring():
        index.ticket_changed(ticket)
    else:
        transaction.on_commit(reindex)


def on_article_event(*, name: str, article=None, **payload) -> None:
    from ai_assist import index

    article_id = str(payload.get("article_id") or (article.pk if article is not None else ""))

    def reindex() -> None:
        try:
            from knowledge.models import Article

            current = Article.objects.select_related("category").filter(pk=article_id).first()
            if current is None:
                index.remove_article(article_id)
            else:
                index.upsert_article(current)  # unpublished (archived, draft): its chunks are removed
        except Exception:
            logger.exception(
                "Indexing article %s (%s) failed; manage.py reindex --only kb repairs it", article_id, name
            )

    if article_id:
        transaction.on_commit(reindex)


def connect() -> None:
    events.subscribe("ticket.created", on_ticket_created)
    for name in TICKET_INDEX_EVENTS:
        events.subscribe(name, on_ticket_changed)
    for name in ARTICLE_EVENTS:
        events.subscribe(name, on_article_event)
