"""The AI's consumers of domain events (helpdesk.dispatch). Registered in AiAssistConfig.ready().

- `ai.routing` (ticket.created): a new ticket with no department is routed, as a job (in-process
  without a broker); routing never blocks or undoes the creation, and leaves the ticket in triage
  when it abstains or fails.
- `ai.index.tickets` (every ticket event that changes what the index holds): re-index the ticket
  as it is now, or drop it when it is deleted or gone.
- `ai.index.kb` (article published, updated, archived, deleted): re-chunk and re-index the article,
  or drop it.

The outbox delivers each event after the commit, at least once, and retries a consumer that
raises; all three are idempotent (they look at the current rows, never at the event's history).
`manage.py reindex` still repairs any drift.
"""

from __future__ import annotations

import logging

from django.conf import settings

from helpdesk import dispatch, events

logger = logging.getLogger(__name__)

TICKET_INDEX_EVENTS = (
    events.TicketCreated,
    events.TicketUpdated,
    events.CommentAdded,
    events.TicketRouted,
    events.TicketAssigned,
    events.TicketStatusChanged,
    events.TicketDeleted,
    events.TicketRestored,
    events.TicketImported,
)
ARTICLE_EVENTS = (events.ArticlePublished, events.ArticleUpdated, events.ArticleArchived, events.ArticleDeleted)


def route_new_ticket(event: events.Event) -> None:
    assert isinstance(event, events.TicketCreated)
    if not settings.AI_AUTO_ROUTE or event.department_id is not None:
        return
    from ai_assist import tasks

    try:
        tasks.route_new_ticket.delay(event.target_id)
    except Exception:  # the broker is down: the outbox retries; meanwhile the ticket waits in triage
        logger.warning("Could not queue routing of ticket %s; it stays in triage until a retry", event.target_id)
        raise


def index_ticket(event: events.Event) -> None:
    from ai_assist import retrieval
    from tickets.models import Ticket

    current = Ticket.objects.filter(pk=event.target_id).first()
    if current is None:
        retrieval.ticket_corpus().delete([event.target_id])
    else:
        retrieval.ticket_corpus().changed(current)  # deleted: dropped; under import_tickets: batched


def index_article(event: events.Event) -> None:
    from ai_assist import retrieval
    from knowledge.models import Article

    current = Article.objects.select_related("category").filter(pk=event.target_id).first()
    if current is None:
        retrieval.article_corpus().remove(event.target_id)
    else:
        retrieval.article_corpus().upsert(current)  # unpublished (archived, draft): its chunks are removed


def connect() -> None:
    dispatch.register("ai.routing", route_new_ticket, events=[events.TicketCreated])
    dispatch.register("ai.index.tickets", index_ticket, events=TICKET_INDEX_EVENTS)
    dispatch.register("ai.index.kb", index_article, events=ARTICLE_EVENTS)
