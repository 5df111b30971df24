"""Reads of the knowledge base, always narrowed to what the asking user may see."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from helpdesk import files
from helpdesk.errors import Invalid, NotFound
from knowledge import policies, search
from knowledge.models import Article, ArticleTag, ArticleVersion, Category, Status, Visibility

DOWNLOAD_KIND = "kb"


# --- Categories -------------------------------------------------------------------------------


def categories_for(*, user: User) -> QuerySet[Category]:
    """Every category (names are not secret), with the number of articles in it the user may read."""
    return Category.objects.select_related("parent").annotate(
        article_count=Count("articles", filter=policies.visible_articles(user, prefix="articles__"))
    )


def category_for(*, user: User, category_id: str) -> Category:
    return get_object_or_404(categories_for(user=user), pk=category_id)


def category_and_children(category_id: str) -> tuple[str, ...]:
    """A category's id and its subcategories' ids (filters include the subcategories)."""
    children = Category.objects.filter(parent_id=category_id).values_list("id", flat=True)
    return (category_id, *children)


# --- Articles ---------------------------------------------------------------------------------


def articles_for(*, user: User) -> QuerySet[Article]:
    return Article.objects.filter(policies.visible_articles(user))


def article_for(*, user: User, article_id: str) -> Article:
    """The article, or 404 when it does not exist or the user may not read it."""
    return get_object_or_404(articles_for(user=user).select_related("category", "author"), pk=article_id)


def attachments_for(*, user: User, article: Article) -> list[dict]:
    """Attachment metadata with download links signed for this user (who could read the article)."""
    return files.attachments_with_links(
        article.attachments, owner_id=article.pk, user_id=user.pk, kind=DOWNLOAD_KIND, url_name="kb-attachment-download"
    )


def attachment_for_download(*, article_id: str, attachment_id: str) -> dict:
    """The file a signed link names, while its article exists."""
    article = Article.objects.filter(pk=article_id).only("id", "attachments").first()
    if article is None:
        raise NotFound("No such attachment.")
    return files.attachment_in(article.attachments, attachment_id)


# --- Versions ---------------------------------------------------------------------------------


def versions_for(*, user: User, article: Article) -> QuerySet[ArticleVersion]:
    """The versions of an article the user may read whose own visibility the user may read."""
    return (
        ArticleVersion.objects.filter(article=article)
        .filter(policies.visible_versions(user))
        .select_related("author")
        .order_by("-number")
    )


def version_for(*, user: User, article: Article, number: int) -> tuple[ArticleVersion, ArticleVersion | None]:
    """One version and the one before it that the user may read (for the diff), or 404."""
    shown = versions_for(user=user, article=article).select_related("author", "category")
    version = get_object_or_404(shown, number=number)
    return version, shown.filter(number__lt=number).first()


def version_changes(version: ArticleVersion, previous: ArticleVersion | None) -> dict:
    """What changed from `previous` (None: from nothing): each field's before and after, and a
    unified diff of the body."""

    def value(v: ArticleVersion | None, name: str):
        if v is None:
            return None if name in ("category", "visibility") else ([] if name == "tags" else "")
        if name == "category":
            return {"id": v.category_id, "name": v.category_name} if v.category_id or v.category_name else None
        if name == "visibility":
            return _visibility_name(v.visibility)
        return getattr(v, name)

    fields = {}
    for name in ("title", "summary", "category", "tags", "visibility"):
        before, after = value(previous, name), value(version, name)
        if before != after:
            fields[name] = {"from": before, "to": after}
    old_body = previous.body if previous else ""
    body_diff = "".join(
        difflib.unified_diff(
            _lines(old_body),
            _lines(version.body),
            fromfile=f"version {previous.number}" if previous else "(none)",
            tofile=f"version {version.number}",
        )
    )
    return {
        "previous": previous.number if previous else None,
        "changed": sorted([*fields, *(["body"] if old_body != version.body else [])]),
        "fields": fields,
        "body": body_diff,
    }


def _lines(text: str) -> list[str]:
    return [line + "\n" for line in text.split("\n")] if text else []


def _visibility_name(value: int) -> str:
    return Visibility(value).api_name


def changed_fields(*, page: Sequence[ArticleVersion], visible: QuerySet[ArticleVersion]) -> dict[int, list[str]]:
    """For a page of versions, the fields each changed from the version before it that the reader
    may see (`visible`); one query for the version just below the page."""
    ordered = sorted(page, key=lambda v: v.number)
    if not ordered:
        return {}
    previous = visible.filter(number__lt=ordered[0].number).first()
    result = {}
    for version in ordered:
        result[version.number] = version_changes(version, previous)["changed"]
        previous = version
    return result


# --- Tags -------------------------------------------------------------------------------------


def tags_for(*, user: User, status: str | None = None) -> QuerySet:
    """Tags of the articles the user may read, with how many articles carry each."""
    rows = ArticleTag.objects.filter(policies.visible_articles(user, prefix="article__"))
    if status:
        rows = rows.filter(article__status=status)
    return rows.values("tag").annotate(count=Count("id")).order_by("-count", "tag")


# --- Search -----------------------------------------------------------------------------------


def search_scope_for(
    *, user: User, status: str | None = None, category: str | None = None, tags: Sequence[str] = ()
) -> search.Scope:
    """What a search may return: published articles by default (leads and admins may ask for drafts
    or archived ones), at most the user's visibility, in the category and its subcategories."""
    readable = policies.readable_statuses(user)
    wanted = (status,) if status else (Status.PUBLISHED,)
    return search.Scope(
        statuses=tuple(s for s in wanted if s in readable),
        max_visibility=policies.max_visibility(user),
        category_ids=category_and_children(category) if category else None,
        tags=tuple(tags),
    )


SEARCH_ROW_FIELDS = (
    "id",
    "title",
    "slug",
    "summary",
    "tags",
    "visibility",
    "status",
    "published_at",
    "updated_at",
    "category_id",
    "category__name",
    "category__slug",
)


class SearchResults(Sequence):
    """Ranked results, fetched a page at a time: what DRF's paginator slices. Each page costs a
    constant number of queries (ranked ids, the rows, the highlights), the total one more. Rows are
    plain dicts of the columns a hit shows (a search page is hot: no model instances)."""

    def __init__(self, *, query: search.ParsedQuery, scope: search.Scope):
        self.query, self.scope = query, scope
        self.backend = search.backend()
        self._count: int | None = None

    # No argument, unlike Sequence.count(value): Django's Paginator counts with count(), as on a QuerySet.
    def count(self) -> int:  # type: ignore[override]
        if self._count is None:
            self._count = self.backend.count(self.query, self.scope)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("SearchResults are read a page (a slice) at a time.")
        start, stop = index.start or 0, index.stop if index.stop is not None else self.count()
        if stop <= start:
            return []
        hits = self.backend.ranked(self.query, self.scope, offset=start, limit=stop - start)
        fields = (*SEARCH_ROW_FIELDS, *(("body",) if self.backend.needs_body else ()))
        rows = {row["id"]: row for row in Article.objects.filter(pk__in=[h.article_id for h in hits]).values(*fields)}
        highlights = self.backend.highlights(self.query, rows)
        results = []
        for hit in hits:
            row = rows.get(hit.article_id)
            if row is None:
                continue  # deleted between the two queries
            shown = highlights.get(hit.article_id)
            results.append(
                {
                    "article": row,
                    "score": float(f"{hit.score:.4g}"),
                    "all_words": hit.all_words,
                    "title_html": shown.title if shown else "",
                    "snippet_html": shown.snippet if shown else "",
                }
            )
        return results


def search_hits_for(
    *, user: User, q: str, status: str | None = None, category: str | None = None, tags: Sequence[str] = ()
) -> SearchResults:
    """Ranked hits among the articles the user may read; Invalid when `q` has no word to look for."""
    query = search.parse_query(q)
    if not query.terms:
        raise Invalid("Search for at least one word.", errors={"q": ["No words to search for."]})
    return SearchResults(query=query, scope=search_scope_for(user=user, status=status, category=category, tags=tags))


def ai_keyword_hits(*, user: User, text: str, limit: int) -> list[search.Hit]:
    """The best `limit` articles the AI may read for `user` (policies.ai_readable_articles) that
    match words of `text`, best first, by the database's full-text search: the chatbot's keyword
    leg. The scope is in the search query itself, so nothing else is ranked or counted."""
    query = search.parse_query(text)
    scope = search.Scope(statuses=(Status.PUBLISHED,), max_visibility=policies.max_visibility(user))
    return search.backend().ranked(query, scope, offset=0, limit=limit)
