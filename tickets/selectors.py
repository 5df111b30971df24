"""Reads of tickets, always narrowed to what the asking user may see."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from helpdesk import files
from helpdesk.errors import NotFound
from tickets import policies
from tickets.models import RESOLVED_STATUSES, Ticket

GENERATION_KEY = "tickets:generation"


def generation() -> int:
    """A number that changes whenever any ticket does (see services.tickets_changed)."""
    return int(cache.get_or_set(GENERATION_KEY, 0, None) or 0)


def list_count_key(*, user: User, params: dict[str, list[str]]) -> str:
    """The cache key of a list's count: the caller's scope and the filters. The count is stored with
    the generation it was taken at (helpdesk.api.pagination.CachedCountPaginator)."""
    filters = sorted(
        (name, sorted(values)) for name, values in params.items() if name not in ("page", "page_size", "cursor")
    )
    digest = hashlib.sha256(repr((policies.visibility_key(user), filters)).encode()).hexdigest()[:32]
    return f"tickets:count:{digest}"


def tickets_for(*, user: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(policies.visible_tickets(user))


def ticket_rows_for(*, user: User, fields: tuple[str, ...]) -> QuerySet:
    """tickets_for as named tuples of `fields`, for lists that render rows rather than models."""
    return _rows_of(fields).filter(policies.visible_tickets(user))


@functools.lru_cache(maxsize=8)
def _rows_of(fields: tuple[str, ...]) -> QuerySet:
    # Setting up the columns and joins of values_list() was a tenth of a list request's CPU; it is
    # done once per process here and cloned by each filter() (this queryset is never evaluated).
    return Ticket.objects.values_list(*fields, named=True)


def ticket_for(*, user: User, ticket_id: str) -> Ticket:
    """The ticket, or 404 when it does not exist or the user may not see it."""
    return get_object_or_404(tickets_for(user=user).select_related("department", "requester", "assignee"), pk=ticket_id)


def comments_for(*, user: User, ticket: Ticket) -> list[dict]:
    """The comments the user may read (employees never see internal notes), authors resolved
    with one query."""
    comments = ticket.comments if policies.sees_internal(user) else [c for c in ticket.comments if not c["internal"]]
    author_ids = {comment["author"] for comment in comments}
    authors = User.objects.only("id", "email", "first_name", "last_name").in_bulk(author_ids) if author_ids else {}
    return [
        {
            **comment,
            "author": authors.get(comment["author"]),
            "created_at": datetime.fromisoformat(comment["created_at"]),
        }
        for comment in comments
    ]


def is_resolved(ticket: Ticket) -> bool:
    """Whether the ticket's solution is known (resolved or closed)."""
    return ticket.status in RESOLVED_STATUSES


def resolved() -> Q:
    """The resolved tickets, as a filter to combine with a scope (tickets.policies)."""
    return Q(status__in=RESOLVED_STATUSES)


def public_staff_answers(ticket: Ticket) -> list[str]:
    """The public answers on a ticket, in order: every non-empty comment that is neither an
    internal note nor the requester's own. Read from a ticket the caller found through its
    reader's scope (for the AI, an answer of a resolved ticket is what solved it)."""
    return [
        c["body"] for c in ticket.comments if not c["internal"] and c["author"] != ticket.requester_id and c["body"]
    ]


DOWNLOAD_KIND = "attachment"


def attachments_for(*, user: User, ticket: Ticket) -> list[dict]:
    """Attachment metadata with a download link signed for this user, issued only because the
    caller could read the ticket (its visibility is checked when the link is issued)."""
    return files.attachments_with_links(
        ticket.attachments,
        owner_id=ticket.pk,
        user_id=user.pk,
        kind=DOWNLOAD_KIND,
        url_name="ticket-attachment-download",
    )


def attachment_for_download(*, ticket_id: str, attachment_id: str) -> dict:
    """The file a signed link names, while its ticket exists (deleted tickets serve nothing)."""
    ticket = Ticket.objects.filter(pk=ticket_id, deleted_at__isnull=True).only("id", "attachments").first()
    if ticket is None:
        raise NotFound("No such attachment.")
    return files.attachment_in(ticket.attachments, attachment_id)


def counts_by_status() -> dict[str, int]:
    """Live tickets per status, over all departments: for /metrics (operators), never for a user.
    One grouped count on the status index."""
    rows = Ticket.objects.filter(deleted_at__isnull=True).values_list("status").annotate(n=Count("pk"))
    return dict(rows.order_by())


def search_tickets(*, scope_q, text: str, limit: int, terms: int = 32) -> list[tuple[str, float]]:
    """(ticket id, keyword score) of the tickets `scope_q` (a tickets.policies Q) allows whose
    public text best matches the words of `text` (the first `terms` that say something), best
    first: the database's full-text index (tickets.search), the scope applied in the same
    statement, before ranking and limiting."""
    from tickets import search

    return search.backend().ranked(search.query_terms(text, limit=terms), scope_q, limit=limit)


def scope_ids(*, scope_q, limit: int) -> dict[str, str | None]:
    """At most `limit` tickets `scope_q` allows, id -> department id (the caller asks for one more
    than it can use, to learn whether the scope is larger)."""
    return dict(Ticket.objects.filter(scope_q).order_by().values_list("id", "department_id")[:limit])


SEARCH_FIELDS = ("id", "title", "description", "public_text", "department_id", "category")


def search_rows(*, scope_q, ids) -> dict[str, tuple]:
    """Of these tickets, those `scope_q` allows, with what search ranks them by:
    id -> (title, description, public_text, department_id, category)."""
    if not ids:
        return {}
    rows = Ticket.objects.filter(scope_q, pk__in=list(ids)).order_by().values_list(*SEARCH_FIELDS)
    return {row[0]: row[1:] for row in rows}


def label_rows(*, scope_q, department_id: str, category: str, limit: int) -> dict[str, tuple]:
    """At most `limit` tickets `scope_q` allows of one department and category (a similar-ticket
    label), as search_rows gives them, in no order: unordered, the read stops at `limit` (ordered
    by date it sorted a large department's every ticket of the label: 63 ms at 100k). The index
    on (department, category) finds them (without it a rare label scanned its department)."""
    rows = (
        Ticket.objects.filter(scope_q, department_id=department_id, category=category)
        .order_by()
        .values_list(*SEARCH_FIELDS)[:limit]
    )
    return {row[0]: row[1:] for row in rows}
