"""Reads of tickets, always narrowed to what the asking user may see."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from helpdesk import files
from helpdesk.api.errors import NotFound
from tickets import policies
from tickets.models import Ticket

GENERATION_KEY = "tickets:generation"


def generation() -> int:
    """A number that changes whenever any ticket does (see services.tickets_changed)."""
    return cache.get_or_set(GENERATION_KEY, 0, None)


def list_count_key(*, user: User, params: dict[str, list[str]]) -> str:
    """The cache key of a list's count: the caller's scope, the filters, and the data generation."""
    filters = sorted((name, sorted(values)) for name, values in params.items() if name not in ("page", "page_size"))
    scope = f"{user.pk}:{user.role}:{user.department_id}"
    digest = hashlib.sha256(repr((scope, filters)).encode()).hexdigest()[:32]
    return f"tickets:count:{generation()}:{digest}"


def tickets_for(*, user: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(policies.visible_tickets(user))


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


def attachments_for(*, user: User, ticket: Ticket) -> list[dict]:
    """Attachment metadata with a download link signed for this user, issued only because the
    caller could read the ticket (its visibility is checked when the link is issued)."""
    expires_at = timezone.now() + timedelta(seconds=settings.ATTACHMENT_URL_TTL_SECONDS)
    return [
        {
            **attachment,
            "created_at": datetime.fromisoformat(attachment["created_at"]),
            "download_url": download_url(ticket=ticket, attachment_id=attachment["id"], user=user),
            "download_url_expires_at": expires_at,
        }
        for attachment in ticket.attachments
    ]


def attachment_for(*, ticket: Ticket, attachment_id: str) -> dict:
    for attachment in ticket.attachments:
        if attachment["id"] == attachment_id:
            return attachment
    raise NotFound("No such attachment.")


def download_url(*, ticket: Ticket, attachment_id: str, user: User) -> str:
    token = files.sign_download(owner_id=ticket.pk, attachment_id=attachment_id, user_id=user.pk)
    path = reverse("ticket-attachment-download", kwargs={"pk": ticket.pk, "attachment_id": attachment_id})
    return f"{path}?signature={token}"
