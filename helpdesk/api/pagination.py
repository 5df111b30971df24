"""Page-number pagination: `count, next, previous, results`; `page_size` up to 100."""

from __future__ import annotations

from functools import cached_property, partial

from django.core.cache import cache
from django.core.paginator import Paginator
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class CachedCountPaginator(Paginator):
    """A paginator whose (exact) count comes from the shared cache when it can.

    Counting is the one part of a list whose cost grows with the table. The key must change
    whenever the answer may: it names the caller's scope, the query and a generation number
    that every write bumps, so a cached count is never stale, only reused.
    """

    def __init__(self, *args, count_key: str | None, count_seconds: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_key = count_key
        self.count_seconds = count_seconds

    @cached_property
    def count(self) -> int:
        if self.count_key is None:
            return super().count
        count = cache.get(self.count_key)
        if count is None:
            count = super().count
            cache.set(self.count_key, count, self.count_seconds)
        return count


class CachedCountPagination(PageNumberPagination):
    """For views that define `count_cache_key(request) -> str | None` (see CachedCountPaginator)."""

    count_seconds = 60

    def paginate_queryset(self, queryset, request, view=None):
        # DRF only calls django_paginator_class(queryset, page_size): a partial serves (stubs want a type).
        self.django_paginator_class = partial(  # type: ignore[assignment]
            CachedCountPaginator, count_key=view.count_cache_key(request), count_seconds=self.count_seconds
        )
        return super().paginate_queryset(queryset, request, view)
