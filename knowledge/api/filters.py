"""Query parameters of the article and category lists."""

from __future__ import annotations

from django_filters import rest_framework as filters

from helpdesk.tags import split_tags
from knowledge import selectors
from knowledge.models import Article, Category, Status, Visibility


class ArticleFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Status.choices, help_text="Repeat for several. Only leads and admins see drafts and archived ones."
    )
    visibility = filters.ChoiceFilter(
        choices=[(name, name) for name in Visibility.api_names()], method="filter_visibility"
    )
    category = filters.CharFilter(method="filter_category", help_text="A category id; subcategories included.")
    tags = filters.CharFilter(method="filter_tags", max_length=1100, help_text="Comma-separated; all must be present.")
    author = filters.CharFilter(method="filter_author", help_text="A user id, or `me`.")
    slug = filters.CharFilter(field_name="slug")
    q = filters.CharFilter(
        method="filter_title",
        max_length=200,
        help_text="Words that must all be in the title (ranked search: kb/search/).",
    )
    ordering = filters.OrderingFilter(
        fields=(("updated_at", "updated_at"), ("published_at", "published_at"), ("title", "title")),
        help_text="updated_at, published_at, title; prefix - for descending. Default: -updated_at.",
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def filter_visibility(self, queryset, name, value):
        return queryset.filter(visibility=Visibility.from_api_name(value)) if value else queryset

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_id__in=selectors.category_and_children(value)) if value else queryset

    def filter_tags(self, queryset, name, value):
        for tag in split_tags(value):
            queryset = queryset.filter(tags_text__icontains=f"|{tag}|")
        return queryset

    def filter_author(self, queryset, name, value):
        if value == "me":
            value = self.request.user.pk
        return queryset.filter(author_id=value) if value else queryset

    def filter_title(self, queryset, name, value):
        for word in value.split()[:8]:
            queryset = queryset.filter(title__icontains=word)
        return queryset

    @property
    def qs(self):
        queryset = super().qs
        ordering = list(queryset.query.order_by) or ["-updated_at"]
        return queryset.order_by(*ordering, "-id")  # a unique tie-break keeps pages stable


class CategoryFilter(filters.FilterSet):
    parent = filters.CharFilter(method="filter_parent", help_text="A category id, or `none` for top-level ones.")
    slug = filters.CharFilter(field_name="slug")

    class Meta:
        model = Category
        fields: list[str] = []

    def filter_parent(self, queryset, name, value):
        if value == "none":
            return queryset.filter(parent__isnull=True)
        return queryset.filter(parent_id=value) if value else queryset
