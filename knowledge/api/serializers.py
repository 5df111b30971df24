"""Request and response shapes of the knowledge-base API. What a caller may see is decided before
serialization (selectors, policies); these classes only shape it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.api.serializers import AttachmentOut, PersonOut, StrictSerializer
from helpdesk.tags import MAX_TAG_LENGTH, MAX_TAGS, split_tags
from knowledge import policies, selectors
from knowledge.models import Article, ArticleVersion, Category, Status, Visibility
from knowledge.services import MAX_BODY_CHARS


class VisibilityField(serializers.ChoiceField):
    """`everyone`, `agents` or `leads` in the API; the role value in the database."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The lowest role that may read it: everyone, agents or leads.")
        super().__init__(choices=Visibility.api_names(), **kwargs)

    def to_internal_value(self, data):
        return Visibility.from_api_name(super().to_internal_value(data)).value

    def to_representation(self, value):
        return Visibility(value).api_name


class CategoryBriefOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()


class CategoryOut(serializers.ModelSerializer):
    parent = CategoryBriefOut(allow_null=True)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles in it that you may read.")

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "description", "article_count", "created_at", "updated_at"]
        read_only_fields = fields


class CategoryIn(StrictSerializer):
    name = serializers.CharField(max_length=80)
    slug = serializers.SlugField(max_length=90, required=False, help_text="Made from the name if left out.")
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True, default=None, help_text="A top-level one."
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CategoryPatchIn(StrictSerializer):
    name = serializers.CharField(max_length=80, required=False)
    slug = serializers.SlugField(max_length=90, required=False)
    parent = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False, allow_null=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ArticleAttachmentOut(AttachmentOut):
    role = serializers.CharField(help_text="`source`: the document the article was imported from.")


class ArticleListOut(serializers.ModelSerializer):
    """A row of the list: no body, no attachments."""

    category = CategoryBriefOut(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    visibility = VisibilityField()
    status = serializers.CharField(help_text="draft, published or archived.")
    author = PersonOut()

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "slug",
            "summary",
            "category",
            "tags",
            "visibility",
            "status",
            "author",
            "version",
            "published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


LIST_COLUMNS = [
    *(f for f in ArticleListOut.Meta.fields if f not in ("category", "author")),
    "category__id",
    "category__name",
    "category__slug",
    "author__id",
    "author__email",
    "author__first_name",
    "author__last_name",
]


class ArticleActionsOut(serializers.Serializer):
    can_edit = serializers.BooleanField()
    can_publish = serializers.BooleanField()
    can_archive = serializers.BooleanField()


class ArticleOut(ArticleListOut):
    attachments = serializers.SerializerMethodField()
    change_note = serializers.CharField(help_text="The note of the latest version.")
    actions = serializers.SerializerMethodField(help_text="What you may do with it (for UIs).")

    class Meta(ArticleListOut.Meta):
        fields = [
            *ArticleListOut.Meta.fields[:4],
            "body",
            *ArticleListOut.Meta.fields[4:],
            "change_note",
            "attachments",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(ArticleAttachmentOut(many=True))
    def get_attachments(self, article) -> list[dict]:
        attachments = selectors.attachments_for(user=self.context["request"].user, article=article)
        return ArticleAttachmentOut(attachments, many=True).data

    @extend_schema_field(ArticleActionsOut)
    def get_actions(self, article) -> dict:
        writer = policies.can_write(self.context["request"].user)
        return {
            "can_edit": writer,
            "can_publish": writer and article.status != Status.PUBLISHED,
            "can_archive": writer and article.status != Status.ARCHIVED,
        }


class TagsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS, **kwargs)


class ArticleIn(StrictSerializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=MAX_BODY_CHARS, help_text="Markdown.")
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True, default=None
    )
    tags = TagsField(required=False, default=list)
    visibility = VisibilityField(required=False, help_text="everyone (default), agents or leads.")
    slug = serializers.SlugField(max_length=220, required=False, help_text="Made from the title if left out.")
    change_note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ArticlePatchIn(StrictSerializer):
    version = serializers.IntegerField(
        min_value=1, help_text="The version you read; if the article changed since, 409 and nothing changes."
    )
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=MAX_BODY_CHARS, required=False)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False, allow_null=True)
    tags = TagsField(required=False)
    visibility = VisibilityField(required=False)
    slug = serializers.SlugField(max_length=220, required=False)
    change_note = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="Why; shown in the history."
    )


class RevertIn(StrictSerializer):
    version = serializers.IntegerField(min_value=1, help_text="The version whose content becomes the new version.")
    change_note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class VersionListOut(serializers.ModelSerializer):
    author = PersonOut(allow_null=True)
    visibility = VisibilityField()
    changed = serializers.SerializerMethodField(help_text="Fields changed from the version before it.")

    class Meta:
        model = ArticleVersion
        fields = ["number", "title", "visibility", "author", "change_note", "created_at", "published_at", "changed"]
        read_only_fields = fields

    def get_changed(self, version) -> list[str]:
        return self.context.get("changed", {}).get(version.number, [])


class DiffOut(serializers.Serializer):
    previous = serializers.IntegerField(allow_null=True, help_text="The version compared with (null: none).")
    changed = serializers.ListField(child=serializers.CharField())
    fields = serializers.DictField(
        help_text='{field: {"from": …, "to": …}} for title, summary, category, tags, visibility.'
    )
    body = serializers.CharField(help_text="A unified diff of the Markdown body.")


class VersionOut(VersionListOut):
    category = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField())
    diff = serializers.SerializerMethodField()

    class Meta(VersionListOut.Meta):
        fields = [
            "number",
            "title",
            "summary",
            "body",
            "category",
            "tags",
            "visibility",
            "author",
            "change_note",
            "created_at",
            "published_at",
            "diff",
        ]
        read_only_fields = fields

    @extend_schema_field(CategoryBriefOut(allow_null=True))
    def get_category(self, version) -> dict | None:
        if not version.category_id and not version.category_name:
            return None
        slug = version.category.slug if version.category_id else ""
        return {"id": version.category_id, "name": version.category_name, "slug": slug}

    @extend_schema_field(DiffOut)
    def get_diff(self, version) -> dict:
        return selectors.version_changes(version, self.context.get("previous"))


_DATETIME = serializers.DateTimeField()


class SearchHitOut(serializers.Serializer):
    """One hit. Built straight from the row dict (selectors.SearchResults): a search page is hot."""

    id = serializers.CharField()
    title = serializers.CharField()
    slug = serializers.CharField()
    summary = serializers.CharField()
    category = CategoryBriefOut(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    visibility = VisibilityField()
    status = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    score = serializers.FloatField(help_text="Relevance within this answer (higher is better).")
    all_words = serializers.BooleanField(help_text="Every searched word is in the article.")
    title_html = serializers.CharField(help_text="The title, HTML-escaped, hits in <mark>.")
    snippet_html = serializers.CharField(help_text="A passage of the body, HTML-escaped, hits in <mark>.")

    def to_representation(self, hit: dict) -> dict:
        row = hit["article"]
        category = row["category_id"]
        return {
            "id": row["id"],
            "title": row["title"],
            "slug": row["slug"],
            "summary": row["summary"],
            "category": {"id": category, "name": row["category__name"], "slug": row["category__slug"]}
            if category
            else None,
            "tags": row["tags"],
            "visibility": Visibility(row["visibility"]).api_name,
            "status": row["status"],
            "published_at": _DATETIME.to_representation(row["published_at"]) if row["published_at"] else None,
            "updated_at": _DATETIME.to_representation(row["updated_at"]),
            "score": hit["score"],
            "all_words": hit["all_words"],
            "title_html": hit["title_html"],
            "snippet_html": hit["snippet_html"],
        }


class SearchIn(serializers.Serializer):
    """Query parameters of the search (validated, not a body)."""

    q = serializers.CharField(max_length=200, help_text="Words to look for; articles with every word rank first.")
    category = serializers.CharField(
        max_length=24, required=False, help_text="A category id; its subcategories are included."
    )
    tags = serializers.CharField(max_length=1100, required=False, help_text="Comma-separated; all must be present.")
    status = serializers.CharField(
        required=False, help_text="published (default); leads and admins also draft or archived."
    )

    def validate_status(self, value: str) -> str:
        if value not in Status.values:
            raise serializers.ValidationError(f"One of: {', '.join(Status.values)}.")
        return value

    def validate_tags(self, value: str) -> list[str]:
        return split_tags(value)


class TagsQueryIn(serializers.Serializer):
    """Query parameters of the tag list."""

    status = serializers.ChoiceField(choices=Status.values, required=False, help_text="Only articles in this status.")


class TagOut(serializers.Serializer):
    tag = serializers.CharField()
    count = serializers.IntegerField(help_text="Articles you may read that carry it.")


class DocumentIn(StrictSerializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False, help_text=".md, .txt, .html, .pdf or .docx")
    title = serializers.CharField(max_length=200, required=False, help_text="Default: from the document.")
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False, allow_null=True)
    tags = serializers.CharField(max_length=1100, required=False, help_text="Comma-separated.")
    visibility = VisibilityField(required=False, help_text="everyone (default), agents or leads.")

    def validate_tags(self, value: str) -> list[str]:
        return split_tags(value)
