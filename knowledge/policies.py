"""Who may read and write the knowledge base. The API, admin, search and the AI all ask here.

Visibility is the lowest role that may read an article; drafts and archived articles are for
leads and admins only. Every read path narrows with `visible_articles` (or, for search, the
same two facts: `readable_statuses` and the caller's role as the highest visibility).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import Role
from knowledge.models import Status

if TYPE_CHECKING:
    from accounts.models import User
    from knowledge.models import Article


def can_write(user: User) -> bool:
    """Leads and admins create, edit, publish, archive, revert and delete articles and categories."""
    return user.is_authenticated and user.role >= Role.LEAD


def readable_statuses(user: User) -> tuple[str, ...]:
    if user.role >= Role.LEAD:
        return tuple(Status.values)
    return (Status.PUBLISHED,)


def max_visibility(user: User) -> int:
    return int(user.role)


def visible_articles(user: User, prefix: str = "") -> Q:
    """The articles the user may read, as a filter (`prefix` for a related model, e.g. "article__")."""
    scope = Q(**{f"{prefix}visibility__lte": max_visibility(user)})
    statuses = readable_statuses(user)
    if len(statuses) < len(Status.values):
        scope &= Q(**{f"{prefix}status__in": statuses})
    return scope


def reads_unpublished_versions(user: User) -> bool:
    """A version that was never published is a draft: only those who may edit the article read it
    (docs/decisions/0023-article-history.md)."""
    return can_write(user)


def visible_versions(user: User) -> Q:
    """Of an article the user may read, the versions the user may read: for readers, the versions
    that were once published (never a draft), of a visibility the user may read (a version written
    while the article was for agents stays hidden from employees); for editors, every version."""
    scope = Q(visibility__lte=max_visibility(user))
    if not reads_unpublished_versions(user):
        scope &= Q(published_at__isnull=False)
    return scope


# --- What the AI reads (ai_assist's index, chatbot and drafts ask here) ------------------------


def ai_reads(article: Article) -> bool:
    """The AI reads published articles only: never a draft or an archived article, whoever asks
    (a lead may open a draft in the editor; the chatbot still never quotes it)."""
    return article.status == Status.PUBLISHED


def articles_ai_reads() -> Q:
    """`ai_reads` as a filter: the articles the AI's index holds."""
    return Q(status=Status.PUBLISHED)


def ai_readable_articles(user: User) -> Q:
    """What the AI may read of the knowledge base for `user`: the articles it reads at all, of
    a visibility `user` may read, as the user may."""
    return ai_readable_at(max_visibility(user))


def ai_readable_at(visibility: int) -> Q:
    """What the AI may read for everyone of role `visibility` and above (an article's readers)."""
    return articles_ai_reads() & Q(visibility__lte=visibility)
