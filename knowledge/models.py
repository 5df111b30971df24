"""Knowledge base: categories, articles, their immutable versions, and the tag index.

An article is one document: its current content, its status and a `version` number that is the
number of its latest ArticleVersion. Writers change it with compare-and-set (no multi-row
transaction: the same code is correct on MongoDB); the version row is written right after and
re-created by the next writer if a crash lost it (knowledge.services). Every write, content or
not (publish, archive, a new slug), also bumps `revision` and stamps the article with its event
(helpdesk.models.EventSourced), from which the outbox re-creates the event's row if a crash lost it.

Queries never look inside JSON: tags are filtered through `tags_text` ("|vpn|wi-fi|", kept by the
services on the same write) and counted through ArticleTag rows. The full-text index is kept by
the database itself (knowledge/search/, docs/decisions/0011-knowledge-base.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Role
from helpdesk.db import ObjectIdPrimaryKey
from helpdesk.models import EventSourced


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Visibility(models.IntegerChoices):
    """The lowest role that may read an article; the values are those of accounts.Role."""

    EVERYONE = Role.EMPLOYEE.value, "Everyone"
    AGENTS = Role.AGENT.value, "Agents"
    LEADS = Role.LEAD.value, "Leads"

    @property
    def api_name(self) -> str:
        return self.name.lower()

    @classmethod
    def from_api_name(cls, name: str) -> Visibility:
        return cls[name.upper()]

    @classmethod
    def api_names(cls) -> list[str]:
        return [visibility.api_name for visibility in cls]


class Category(models.Model):
    """A shelf of articles; one level of nesting (a category under a top-level one)."""

    id = ObjectIdPrimaryKey()
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=90, unique=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="A top-level category; categories nest one level deep.",
    )
    description = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Article(EventSourced):
    event_sequence = "revision"

    id = ObjectIdPrimaryKey()
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    summary = models.CharField(max_length=500, blank=True)
    body = models.TextField(help_text="Markdown.")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="articles")
    tags = models.JSONField(default=list, blank=True, help_text="Lower-case tags; never queried (see tags_text).")
    # "|vpn|wi-fi|": what list and search filter on (icontains "|tag|"), rewritten with `tags`.
    tags_text = models.CharField(max_length=1100, blank=True, default="", editable=False)
    visibility = models.PositiveSmallIntegerField(
        choices=Visibility.choices,
        default=Visibility.EVERYONE,
        db_index=True,
        help_text="The lowest role that reads it.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="articles")
    attachments = models.JSONField(default=list, blank=True, help_text="Embedded; see knowledge.schemas.")

    # The number of the latest ArticleVersion, and what the next one needs if it must be re-created.
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_note = models.CharField(max_length=500, blank=True)
    # Counts every write (content, status, slug): the outbox names each write's event by it.
    revision = models.PositiveIntegerField(default=1, editable=False)

    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "visibility", "-updated_at"], name="article_status_vis_updated"),
            models.Index(fields=["category", "status"], name="article_category_status"),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleVersion(models.Model):
    """One immutable state of an article's content. Its content is never updated; `published_at` is
    stamped once, when the version first goes live. Deleted only with its article.

    A version that was never published is a draft (where personal details sit before a lead cleans
    them): only the article's editors read it (knowledge.policies.visible_versions)."""

    id = ObjectIdPrimaryKey()
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    body = models.TextField()
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category_name = models.CharField(max_length=80, blank=True, help_text="As it was named then.")
    tags = models.JSONField(default=list, blank=True)
    visibility = models.PositiveSmallIntegerField(choices=Visibility.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When this version first went live; empty: never published (editors only)."
    )

    class Meta:
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="article_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Article versions are immutable.")
        super().save(*args, **kwargs)


class ArticleTag(models.Model):
    """One (article, tag) pair: derived from Article.tags by the services, so that tag counts are a
    GROUP BY instead of a walk over every article. Rebuilt by `manage.py kb_reindex`."""

    id = ObjectIdPrimaryKey()
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=50, db_index=True)

    class Meta:
        ordering = ["tag"]
        constraints = [models.UniqueConstraint(fields=["article", "tag"], name="article_tag_unique")]

    def __str__(self) -> str:
        return self.tag
