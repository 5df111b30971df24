"""Turns domain events into audit entries. Connected in AuditConfig.ready()."""

from __future__ import annotations

from audit.models import AuditEntry
from helpdesk import events

TICKET_EVENTS = (
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.escalated",
    "ticket.deleted",
    "ticket.restored",
    "ticket.routed",
    "comment.added",
    "attachment.added",
)
ARTICLE_EVENTS = (
    "article.created",
    "article.updated",
    "article.published",
    "article.archived",
    "article.deleted",
)


def record_ticket_event(*, name: str, ticket, actor=None, **payload) -> None:
    details: dict = {"title": ticket.title, "status": ticket.status, "version": ticket.version}
    if name == "ticket.updated":
        details["fields"] = payload.get("fields", [])
    elif name == "ticket.assigned":
        details.update(assignee=ticket.assignee_id, previous=payload.get("previous"))
    elif name == "ticket.status_changed":
        details["previous"] = payload.get("previous")
    elif name == "ticket.routed":
        details.update(
            department=ticket.department_id, confidence=payload.get("confidence"), reason=payload.get("reason")
        )
    elif name == "ticket.escalated":
        details["reason"] = payload.get("reason", "")
    elif name == "comment.added":
        comment = payload["comment"]
        details.update(comment=comment["id"], internal=comment["internal"])
    elif name == "attachment.added":
        attachment = payload["attachment"]
        details.update(attachment=attachment["id"], name=attachment["name"], sha256=attachment["sha256"])
    AuditEntry.objects.create(
        actor=actor,
        action=name,
        object_type="ticket",
        object_id=ticket.pk,
        department_id=ticket.department_id or "",
        details=details,
    )


def record_article_event(*, name: str, actor=None, article=None, **payload) -> None:
    if article is None:  # article.deleted: the article is gone, its id and title travel in the event
        details: dict = {"title": payload.get("title", "")}
        article_id = payload["article_id"]
    else:
        details = {"title": article.title, "status": article.status, "version": article.version}
        article_id = article.pk
    if name == "article.updated":
        details["fields"] = payload.get("fields", [])
        if payload.get("reverted_to") is not None:
            details["reverted_to"] = payload["reverted_to"]
    elif name in ("article.published", "article.archived"):
        details["previous"] = payload.get("previous")
    AuditEntry.objects.create(
        actor=actor, action=name, object_type="article", object_id=article_id, department_id="", details=details
    )


def connect() -> None:
    for name in TICKET_EVENTS:
        events.subscribe(name, record_ticket_event)
    for name in ARTICLE_EVENTS:
        events.subscribe(name, record_article_event)
