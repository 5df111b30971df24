"""Writes to the knowledge base. Each checks the policy, changes one document with a conditional
update through helpdesk.outbox (compare-and-set on `revision`, and on `version` for content or
`status` for publishing), which stamps the article with the write's event and stores the event,
then writes what derives from it (the version row, tag rows).

No multi-row transaction is needed: the article document is the truth. Its version row is written
right after the article by the writer, and any later writer first re-creates the row of the
version it read if a crash lost it (`_ensure_version_row`), so history has no holes; the outbox
does the same for the event's row. Tag rows are re-synced on every content write and by
`manage.py kb_reindex`. On SQL databases each write is one transaction all the same.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from helpdesk import events, files, outbox
from helpdesk.db import new_object_id
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.tags import normalise_tags
from knowledge import documents, policies
from knowledge.models import Article, ArticleTag, ArticleVersion, Category, Status, Visibility
from knowledge.search.base import strip_sentinels

MAX_BODY_CHARS = documents.MAX_BODY_CHARS
CONTENT_FIELDS = ("title", "summary", "body", "category", "tags", "visibility")
SLUG_ATTEMPTS = 5
WRITE_ATTEMPTS = 5


def _require_writer(actor: User) -> None:
    if not policies.can_write(actor):
        raise NotAllowed("Only leads and admins write the knowledge base.")


# --- Cleaning ---------------------------------------------------------------------------------


def tags_text(tags: list[str]) -> str:
    return "|" + "|".join(tags) + "|" if tags else ""


def _clean_text(value: str, *, field: str, required: bool = False, limit: int | None = None) -> str:
    value = strip_sentinels(str(value or "")).replace("\r\n", "\n").replace("\x00", "").strip()
    if field == "title":
        value = " ".join(value.split())
    if required and not value:
        raise Invalid(f"The {field} may not be blank.", errors={field: ["This field may not be blank."]})
    if limit is not None and len(value) > limit:
        raise Invalid(f"The {field} is too long.", errors={field: [f"At most {limit} characters."]})
    return value


@dataclass(frozen=True)
class Content:
    """What a version holds."""

    title: str
    summary: str
    body: str
    category: Category | None
    tags: list[str]
    visibility: int

    @classmethod
    def of(cls, source: Article | ArticleVersion) -> Content:
        return cls(
            title=source.title,
            summary=source.summary,
            body=source.body,
            category=source.category,
            tags=list(source.tags),
            visibility=int(source.visibility),
        )

    def fields(self) -> dict:
        return {
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "category": self.category,
            "tags": self.tags,
            "tags_text": tags_text(self.tags),
            "visibility": self.visibility,
        }

    def changed_from(self, other: Content) -> list[str]:
        changed = []
        for name in CONTENT_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if name == "category":
                mine, theirs = getattr(mine, "pk", None), getattr(theirs, "pk", None)
            if mine != theirs:
                changed.append(name)
        return changed


def _content(
    *,
    title: str,
    body: str,
    summary: str = "",
    category: Category | None = None,
    tags: Iterable[str] = (),
    visibility: int = Visibility.EVERYONE,
) -> Content:
    if category is not None and not isinstance(category, Category):
        raise Invalid("No such category.", errors={"category": ["No such category."]})
    if int(visibility) not in Visibility.values:
        raise Invalid("Unknown visibility.", errors={"visibility": [f"One of: {', '.join(Visibility.api_names())}."]})
    return Content(
        title=_clean_text(title, field="title", required=True, limit=200),
        summary=_clean_text(summary, field="summary", limit=500),
        body=_clean_text(body, field="body", required=True, limit=MAX_BODY_CHARS),
        category=category,
        tags=normalise_tags(tags),
        visibility=int(visibility),
    )


# --- Categories -------------------------------------------------------------------------------


def _check_parent(category: Category | None, parent: Category | None) -> None:
    if parent is None:
        return
    if category is not None and parent.pk == category.pk:
        raise Invalid("A category cannot be its own parent.", errors={"parent": ["Choose another category."]})
    if parent.parent_id is not None:
        raise Invalid(
            "Categories nest one level deep.", errors={"parent": ["Choose a top-level category as the parent."]}
        )
    if category is not None and Category.objects.filter(parent=category).exists():
        raise Invalid(
            "This category has categories under it, so it cannot go under another.",
            errors={"parent": ["Move its subcategories first."]},
        )


def _unique_category(**fields) -> None:
    for name in ("name", "slug"):
        if (
            name in fields
            and Category.objects.filter(**{f"{name}__iexact": fields[name]}).exclude(pk=fields.get("pk")).exists()
        ):
            raise Invalid(f"A category with this {name} exists.", errors={name: ["Already taken."]})


def category_create(
    *, actor: User, name: str, slug: str = "", parent: Category | None = None, description: str = ""
) -> Category:
    _require_writer(actor)
    name = _clean_text(name, field="name", required=True, limit=80)
    slug = slugify(slug or name)[:90] or new_object_id()
    _check_parent(None, parent)
    _unique_category(name=name, slug=slug)
    try:
        with transaction.atomic():
            category = Category.objects.create(name=name, slug=slug, parent=parent, description=description.strip())
            events.publish(_category_event(events.CategoryCreated, category, actor=actor))
            return category
    except IntegrityError:
        raise Invalid("A category with this name or slug exists.", errors={"name": ["Already taken."]}) from None


CATEGORY_FIELDS = ("name", "slug", "parent_id", "description")


def _category_event(
    kind: type[events.CategoryEvent], category: Category, *, actor: User, before: Category | None = None
) -> events.CategoryEvent:
    changes = {}
    if before is not None:
        for name in CATEGORY_FIELDS:
            if getattr(before, name) != getattr(category, name):
                changes[name.removesuffix("_id")] = [getattr(before, name), getattr(category, name)]
    return kind(
        target_id=category.pk,
        actor_id=actor.pk,
        category_name=category.name,
        slug=category.slug,
        parent_id=category.parent_id,
        changes=changes,
    )


def category_update(*, actor: User, category: Category, **changes) -> Category:
    _require_writer(actor)
    if "name" in changes:
        changes["name"] = _clean_text(changes["name"], field="name", required=True, limit=80)
    if "slug" in changes:
        changes["slug"] = slugify(changes["slug"])[:90]
        if not changes["slug"]:
            raise Invalid("The slug may not be blank.", errors={"slug": ["Letters, digits and hyphens."]})
    if "description" in changes:
        changes["description"] = (changes["description"] or "").strip()
    if "parent" in changes:
        _check_parent(category, changes["parent"])
    _unique_category(pk=category.pk, **{k: v for k, v in changes.items() if k in ("name", "slug")})
    before = Category.objects.get(pk=category.pk)
    try:
        with transaction.atomic():
            Category.objects.filter(pk=category.pk).update(**changes, updated_at=timezone.now())
            category.refresh_from_db()
            events.publish(_category_event(events.CategoryUpdated, category, actor=actor, before=before))
    except IntegrityError:
        raise Invalid("A category with this name or slug exists.", errors={"name": ["Already taken."]}) from None
    return category


def category_delete(*, actor: User, category: Category) -> None:
    _require_writer(actor)
    if Category.objects.filter(parent=category).exists():
        raise Conflict("The category has categories under it; move or delete them first.", code="category_in_use")
    if Article.objects.filter(category=category).exists():
        raise Conflict("Articles are filed under this category; move them first.", code="category_in_use")
    with transaction.atomic():
        events.publish(_category_event(events.CategoryDeleted, category, actor=actor))
        category.delete()


# --- Articles ---------------------------------------------------------------------------------


def _changed_values(name: str, article: Article):
    if name == "body":  # the text itself is in the version rows; the log names the versions
        return f"version {article.version}"
    if name == "category":
        return article.category_id
    if name == "visibility":
        return Visibility(article.visibility).api_name
    if name == "tags":
        return list(article.tags)
    return getattr(article, name)


def _event(
    kind: type[events.ArticleEvent], before: Article, *, actor: User, changed: Iterable[str] = (), **extra
) -> Callable[[Article], events.ArticleEvent]:
    """The event of a write, from the article as the write leaves it (`after`): what every article
    event carries, and the `changed` fields before and after."""

    def build(after: Article) -> events.ArticleEvent:
        changes = {}
        for name in changed:
            old, new = _changed_values(name, before), _changed_values(name, after)
            if old != new:
                changes[name] = [old, new]
        return kind(
            target_id=after.pk,
            actor_id=actor.pk,
            title=after.title,
            slug=after.slug,
            status=after.status,
            visibility=int(after.visibility),
            category_id=after.category_id,
            version=after.version,
            changes=changes,
            **extra,
        )

    return build


def _write(
    article: Article,
    *,
    fields: dict,
    event: Callable[[Article], Callable[[Article], events.ArticleEvent]],
    version: int | None = None,
    statuses: tuple[str, ...] | None = None,
) -> Article:
    """helpdesk.outbox.compare_and_set on the article's revision, and on its content `version` or
    `status` when given. A write that only lost a race to one that left those as they were (a
    publish beside an edit) is tried again; Conflict when they changed (the article is refreshed)."""
    when: dict = {}
    if version is not None:
        when["version"] = version
    if statuses is not None:
        when["status__in"] = statuses
    for _ in range(WRITE_ATTEMPTS):
        try:
            return outbox.compare_and_set(article, fields=fields, event=event(copy.copy(article)), when=when)
        except Conflict:
            article.refresh_from_db()
            if (version is not None and article.version != version) or (
                statuses is not None and article.status not in statuses
            ):
                raise
    raise Conflict("The article is too busy right now; try again.", code="busy")


def _free_slug(wanted: str, *, exclude: str | None = None) -> str:
    base = slugify(wanted)[:200].strip("-") or "article"
    slug = base
    taken = Article.objects.filter(slug=slug).exclude(pk=exclude).exists()
    while taken:
        slug = f"{base}-{new_object_id()[-6:]}"
        taken = Article.objects.filter(slug=slug).exists()
    return slug


def article_create(
    *,
    actor: User,
    title: str,
    body: str,
    summary: str = "",
    category: Category | None = None,
    tags: Iterable[str] = (),
    visibility: int = Visibility.EVERYONE,
    slug: str = "",
    change_note: str = "",
    article_id: str | None = None,
    attachments: list[dict] | None = None,
) -> Article:
    """A new draft with version 1. Leads and admins only."""
    _require_writer(actor)
    content = _content(title=title, body=body, summary=summary, category=category, tags=tags, visibility=visibility)
    wanted_slug = slugify(slug)[:220] if slug else ""
    if slug and (not wanted_slug or Article.objects.filter(slug=wanted_slug).exists()):
        raise Invalid("Another article has this slug.", errors={"slug": ["Already taken."]})
    note = _clean_text(change_note, field="change_note", limit=500) or "Created."
    now = timezone.now()
    with transaction.atomic():  # on SQL: the article, its event, first version and tags together
        for attempt in range(SLUG_ATTEMPTS):
            article = Article(
                id=article_id or new_object_id(),
                slug=wanted_slug or _free_slug(content.title),
                author=actor,
                updated_by=actor,
                change_note=note,
                attachments=[files.validate_attachment_element(a, extra=("role",)) for a in attachments or []],
                created_at=now,
                updated_at=now,
                **content.fields(),
            )
            try:
                outbox.insert(article, event=_event(events.ArticleCreated, article, actor=actor))
                break
            except IntegrityError:  # another writer took the slug between the check and the insert
                if wanted_slug:
                    raise Invalid("Another article has this slug.", errors={"slug": ["Already taken."]}) from None
                if attempt == SLUG_ATTEMPTS - 1:
                    raise Conflict("Could not find a free slug; try again.", code="busy") from None
        _record_version(article, number=1, content=content, author=actor, note=note, at=now)
        _sync_tags(article)
    return article


def article_update(
    *, actor: User, article: Article, version: int, change_note: str = "", slug: str | None = None, **changes
) -> Article:
    """Change the content (a new version) and/or the slug, if nobody changed it since `version`."""
    _require_writer(actor)
    unknown = set(changes) - set(CONTENT_FIELDS)
    if unknown:
        raise Invalid(f"Not an article field: {', '.join(sorted(unknown))}.")
    if version != article.version:
        raise Conflict("The article changed since you read it; reload it and try again.", code="stale_version")
    current = Content.of(article)
    wanted = _content(**{**current.__dict__, **changes})
    changed = wanted.changed_from(current)
    extra: dict = {}
    if slug is not None and slugify(slug) != article.slug:
        new_slug = slugify(slug)[:220]
        if not new_slug or Article.objects.filter(slug=new_slug).exclude(pk=article.pk).exists():
            raise Invalid("Another article has this slug.", errors={"slug": ["Already taken."]})
        extra["slug"] = new_slug
    elif slug is None:
        extra.update(_slug_following_title(article, wanted.title))
    if not changed:
        if extra:
            event = partial(_event, events.ArticleUpdated, actor=actor, changed=["slug"], fields=("slug",))
            article = _write(article, fields={**extra, "updated_at": timezone.now()}, event=event, version=version)
        return article
    note = _clean_text(change_note, field="change_note", limit=500)
    event = partial(
        _event,
        events.ArticleUpdated,
        actor=actor,
        changed=[*changed, *sorted(extra)],
        fields=tuple(changed + sorted(extra)),
    )
    return _new_version(article, actor=actor, content=wanted, note=note, expected_version=version, event=event, **extra)


def article_revert(*, actor: User, article: Article, number: int, change_note: str = "") -> Article:
    """A new version with the content of version `number` (history is never rewritten)."""
    _require_writer(actor)
    old = ArticleVersion.objects.select_related("category").filter(article=article, number=number).first()
    if old is None:
        raise Invalid("The article has no such version.", errors={"version": [f"No version {number}."]})
    content = Content.of(old)
    changed = content.changed_from(Content.of(article))
    extra = _slug_following_title(article, content.title)
    note = _clean_text(change_note, field="change_note", limit=500) or f"Reverted to version {number}."
    event = partial(
        _event,
        events.ArticleUpdated,
        actor=actor,
        changed=[*changed, *extra],
        fields=(*changed, *extra),
        reverted_to=number,
    )
    return _new_version(
        article, actor=actor, content=content, note=note, expected_version=article.version, event=event, **extra
    )


def _slug_following_title(article: Article, title: str) -> dict:
    """Until an article is first published its slug follows its title, so that a published slug
    never carries a draft's title (which may name a person or quote a ticket)."""
    if article.published_at is not None or title == article.title:
        return {}
    return {"slug": _free_slug(title, exclude=article.pk)}


def _new_version(
    article: Article,
    *,
    actor: User,
    content: Content,
    note: str,
    expected_version: int,
    event: Callable[[Article], Callable[[Article], events.ArticleEvent]],
    **extra,
) -> Article:
    _ensure_version_row(article)
    now = timezone.now()
    number = expected_version + 1
    fields = {
        **content.fields(),
        **extra,
        "version": number,
        "updated_by": actor,
        "change_note": note,
        "updated_at": now,
    }
    with transaction.atomic():  # on SQL: the article, its event, the version row and tags together
        article = _write(article, fields=fields, event=event, version=expected_version)
        # An edit of a published article is live at once: that version is published.
        published_at = now if article.status == Status.PUBLISHED else None
        _record_version(
            article, number=number, content=content, author=actor, note=note, at=now, published_at=published_at
        )
        _sync_tags(article)
    return article


def _record_version(
    article: Article, *, number: int, content: Content, author: User | None, note: str, at, published_at=None
) -> ArticleVersion | None:
    """Write the row of a version this writer made (or re-creates); a row already there is the same."""
    try:
        with transaction.atomic():  # a savepoint on SQL databases, so the failure is contained
            return ArticleVersion.objects.create(
                article=article,
                number=number,
                title=content.title,
                summary=content.summary,
                body=content.body,
                category=content.category,
                category_name=content.category.name if content.category else "",
                tags=content.tags,
                visibility=content.visibility,
                author=author,
                change_note=note,
                created_at=at,
                published_at=published_at,
            )
    except IntegrityError:
        return None


def _mark_published(article: Article, *, at) -> None:
    """Stamp the version the article shows as published, once (the stamp of its first time live
    stays). The one change a version row ever takes, a conditional update."""
    ArticleVersion.objects.filter(article=article, number=article.version, published_at__isnull=True).update(
        published_at=at
    )


def _ensure_version_row(article: Article) -> None:
    """If the row of the version we read is missing (its writer crashed after the article's
    update), re-create it from the article, which holds exactly that version's content."""
    if not ArticleVersion.objects.filter(article=article, number=article.version).exists():
        _record_version(
            article,
            number=article.version,
            content=Content.of(article),
            author=article.updated_by,
            note=article.change_note,
            at=article.updated_at,
            published_at=article.updated_at if article.status == Status.PUBLISHED else None,
        )


def _sync_tags(article: Article) -> None:
    """Make the ArticleTag rows equal the article's tags (idempotent; rows are derived)."""
    wanted = set(article.tags)
    have = set(ArticleTag.objects.filter(article=article).values_list("tag", flat=True))
    if have - wanted:
        ArticleTag.objects.filter(article=article, tag__in=have - wanted).delete()
    for tag in sorted(wanted - have):
        try:
            with transaction.atomic():  # a savepoint on SQL databases, so the failure is contained
                ArticleTag.objects.create(article=article, tag=tag)
        except IntegrityError:
            continue  # another writer synced it meanwhile


MOVES = {
    Status.PUBLISHED: (Status.DRAFT, Status.ARCHIVED),
    Status.ARCHIVED: (Status.DRAFT, Status.PUBLISHED),
}


def _move(
    article: Article, *, actor: User, to: Status, kind: type[events.ArticlePublished | events.ArticleArchived]
) -> Article:
    _require_writer(actor)
    now = timezone.now()
    fields: dict = {"status": to, "updated_at": now}
    if to == Status.PUBLISHED:
        fields.update(published_at=now, archived_at=None)
    else:
        fields["archived_at"] = now

    def event(before: Article) -> Callable[[Article], events.ArticleEvent]:
        return _event(kind, before, actor=actor, changed=["status"], previous_status=before.status)

    if article.status not in MOVES[to]:
        raise Conflict(f"The article is {article.status}; it cannot become {to}.", code="invalid_transition")
    _ensure_version_row(article)
    try:
        with transaction.atomic():  # on SQL: the article, its event and the version's stamp together
            article = _write(article, fields=fields, event=event, statuses=MOVES[to])
            if to == Status.PUBLISHED:
                _mark_published(article, at=now)
            return article
    except Conflict:  # moved meanwhile (the article is refreshed)
        raise Conflict(f"The article is {article.status}; it cannot become {to}.", code="invalid_transition") from None


def article_publish(*, actor: User, article: Article) -> Article:
    """Draft or archived -> published: readers of its visibility see it, the AI indexes it."""
    return _move(article, actor=actor, to=Status.PUBLISHED, kind=events.ArticlePublished)


def article_archive(*, actor: User, article: Article) -> Article:
    """Draft or published -> archived: only leads and admins see it; it leaves the AI's index."""
    return _move(article, actor=actor, to=Status.ARCHIVED, kind=events.ArticleArchived)


def article_delete(*, actor: User, article: Article) -> None:
    """Delete an article with its versions and stored files (archiving keeps it instead). Its
    article.deleted carries what every article event does."""
    _require_writer(actor)
    keys = [attachment["storage_key"] for attachment in article.attachments]
    outbox.delete(article, event=_event(events.ArticleDeleted, copy.copy(article), actor=actor))
    for key in keys:
        files.delete_stored(key)


# --- Documents --------------------------------------------------------------------------------


def document_import(
    *,
    actor: User,
    uploaded: UploadedFile,
    title: str = "",
    category: Category | None = None,
    tags: Iterable[str] = (),
    visibility: int = Visibility.EVERYONE,
) -> Article:
    """Check and scan the file (as ticket attachments are), keep it, extract its text, and make a
    draft article with the file attached as its source. Nothing is kept when any step says no."""
    _require_writer(actor)
    article_id, attachment_id = new_object_id(), new_object_id()
    key = files.attachment_key(prefix="kb", owner_id=article_id, attachment_id=attachment_id)
    try:
        stored = files.store_upload(uploaded, key=key, allowed_types=documents.allowed_types(uploaded))
    except files.UnsupportedFileType as error:
        raise files.UnsupportedFileType(
            f"Upload a {documents.ACCEPTED} file. {error.detail}", code="unsupported_media_type"
        ) from None
    try:
        uploaded.seek(0)
        extracted = documents.extract(
            uploaded.read(),
            kind=documents.kind_of(content_type=stored.content_type, name=stored.name),
            name=stored.name,
        )
        attachment = files.attachment_element(
            attachment_id=attachment_id, stored=stored, uploaded_by=actor.pk, created_at=timezone.now(), role="source"
        )
        return article_create(
            actor=actor,
            article_id=article_id,
            title=title or extracted.title,
            body=extracted.body,
            summary=extracted.summary,
            category=category,
            tags=tags,
            visibility=visibility,
            change_note=f"Imported from {stored.name}.",
            attachments=[attachment],
        )
    except Exception:
        files.delete_stored(stored.key)
        raise


# --- Repair -----------------------------------------------------------------------------------


def articles_rebuild_derived(*, progress=iter) -> dict:
    """Re-create what derives from articles: missing version rows, tag rows, the search index."""
    from knowledge import search

    healed = tags = 0
    for article in progress(list(Article.objects.select_related("category", "updated_by").order_by("id"))):
        if not ArticleVersion.objects.filter(article=article, number=article.version).exists():
            _ensure_version_row(article)
            healed += 1
        if article.status == Status.PUBLISHED:  # a crash between the publish and its stamp
            _mark_published(article, at=article.published_at or article.updated_at)
        _sync_tags(article)
        tags += len(article.tags)
    search.backend().rebuild()
    return {"articles": Article.objects.count(), "versions_recreated": healed, "tags": tags}
