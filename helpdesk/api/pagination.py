"""Page-number pagination: `count, next, previous, results`; `page_size` up to 100. Lists that grow
without bound add a keyset cursor (KeysetPagination, decision 0021)."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property, partial

from django.core import signing
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from helpdesk.errors import Invalid

# Where a list's count is cached, and the cache key of the data generation it is valid for.
CountKeys = tuple[str, str]


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class CachedCountPaginator(Paginator):
    """A paginator whose (exact) count comes from the shared cache when it can.

    Counting is the one part of a list whose cost grows with the table. The count is stored with
    the data generation it was taken at (a number every write bumps: `generation_key`), and used
    only while that generation is current, so a cached count is never stale, only reused. Both
    are read in one round trip to the cache.
    """

    def __init__(self, *args, count_keys: CountKeys | None, count_seconds: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_keys = count_keys
        self.count_seconds = count_seconds

    @cached_property
    def count(self) -> int:
        if self.count_keys is None:
            return self._count_rows()
        key, generation_key = self.count_keys
        found = cache.get_many([key, generation_key])
        generation = found.get(generation_key, 0)
        cached = found.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        count = self._count_rows()
        cache.set(key, (generation, count), self.count_seconds)
        return count

    def _count_rows(self) -> int:
        return super().count


class CachedCountPagination(PageNumberPagination):
    """For views that define `count_cache_keys(request) -> CountKeys | None` (see CachedCountPaginator)."""

    count_seconds = 60

    def paginate_queryset(self, queryset, request, view=None):
        # DRF only calls django_paginator_class(queryset, page_size): a partial serves (stubs want a type).
        self.django_paginator_class = partial(  # type: ignore[assignment]
            CachedCountPaginator, count_keys=view.count_cache_keys(request), count_seconds=self.count_seconds
        )
        return super().paginate_queryset(queryset, request, view)


class KeysetPaginator(CachedCountPaginator):
    """CachedCountPaginator that refuses pages past `max_offset` rows (OFFSET costs what it skips)
    and counts no further than one row past them: page numbers cannot reach beyond, so a count of
    a million rows would be paid for nothing, on every write's first read (the 1M bench: a 5.6x
    slower first page). `count` is then `max_offset + 1`, which the response shows as capped."""

    def __init__(self, *args, max_offset: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_offset = max_offset

    def _count_rows(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return self.object_list[: self.max_offset + 1].count()
        return min(len(self.object_list), self.max_offset + 1)  # a list in memory (a ticket's comments)

    def page(self, number):
        number = self.validate_number(number)
        if (number - 1) * self.per_page >= self.max_offset:
            raise Invalid(
                f"Page numbers reach the first {self.max_offset:,} rows; go deeper with `cursor` "
                "(start with `?cursor=` and follow `next`).",
                code="page_too_deep",
            )
        return super().page(number)


class KeysetPagination(CachedCountPagination):
    """Page numbers for shallow pages, a keyset cursor for any depth (decision 0021).

    Page-number form (no `cursor` parameter): `count, next, previous, results`, the count cached
    as CachedCountPagination does, pages up to `max_offset` rows deep (then 400 `page_too_deep`).

    Cursor form (`?cursor=` to start, then the `next`/`previous` links): `next, previous,
    results`, no count. The position is the last row's (`keyset_field`, `id`), the order's unique
    tie-break, compared with plain ORM lookups (one index range scan on SQLite and PostgreSQL, an
    index bound on MongoDB; no OFFSET), so every page costs what the first does and rows written
    during a walk never shift it. Only for the orders that index serves: `-keyset_field, -id`
    and `keyset_field, id`; any other order is a 400 `cursor_unsupported_ordering`. The cursor is
    signed (a tampered or foreign one is a 400 `invalid_cursor`).
    """

    cursor_query_param = "cursor"
    keyset_field = "created_at"
    max_offset = 10_000
    cursor_salt = "helpdesk.api.pagination.cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.cursor_mode = self.cursor_query_param in request.query_params
        self.order = self._keyset_order(queryset)
        if self.cursor_mode:
            return self._paginate_by_cursor(queryset, request)
        self.django_paginator_class = partial(  # type: ignore[assignment]
            KeysetPaginator,
            count_keys=view.count_cache_keys(request),
            count_seconds=self.count_seconds,
            max_offset=self.max_offset,
        )
        rows = super(CachedCountPagination, self).paginate_queryset(queryset, request, view)
        self.rows = rows or []
        return rows

    # --- the order and the position ----------------------------------------------------------

    def _keyset_order(self, queryset) -> str | None:
        """'-' (newest first) or '+' when the queryset is ordered by the keyset, else None."""
        if not isinstance(queryset, QuerySet):
            return None  # a list in memory (a ticket's comments): page numbers only
        order = tuple(queryset.query.order_by)
        field = self.keyset_field
        if order in ((f"-{field}", "-id"), (f"-{field}", "-pk")):
            return "-"
        if order in ((field, "id"), (field, "pk")):
            return "+"
        return None

    def cursor_after(self, row, *, order: str = "-") -> str:
        """The `cursor` of the page that follows `row` in `order` ('-' newest first, '+' oldest first)."""
        self.order = order
        return self._encode(row, "n")

    def _encode(self, row, direction: str) -> str:
        value = getattr(row, self.keyset_field)
        return signing.dumps([self.order, value.isoformat(), str(row.pk), direction], salt=self.cursor_salt)

    def _decode(self, token: str) -> tuple[datetime, str, str]:
        try:
            order, value, pk, direction = signing.loads(token, salt=self.cursor_salt)
            position = datetime.fromisoformat(value)
        except (signing.BadSignature, TypeError, ValueError):
            raise Invalid("The cursor is not one this list issued.", code="invalid_cursor") from None
        if order != self.order or direction not in ("n", "p") or position.tzinfo is None:
            raise Invalid("The cursor belongs to another order of this list.", code="invalid_cursor")
        return position, str(pk), direction

    def _after(self, queryset, position: datetime, pk: str, forward: bool):
        """Rows after the position in the walking direction; the redundant bound on the field
        alone lets every database start an index range scan there."""
        field = self.keyset_field
        below = (self.order == "-") == forward
        op = "lt" if below else "gt"
        bound = "lte" if below else "gte"
        beyond = Q(**{f"{field}__{op}": position}) | Q(**{field: position, f"pk__{op}": pk})
        return queryset.filter(Q(**{f"{field}__{bound}": position}) & beyond)

    # --- the cursor form ---------------------------------------------------------------------

    def _paginate_by_cursor(self, queryset, request):
        if self.order is None:
            raise Invalid(
                f"`cursor` walks the default order only (`ordering` {self.keyset_field} or -{self.keyset_field}).",
                code="cursor_unsupported_ordering",
            )
        size = self.get_page_size(request) or self.page_size or 25
        token = request.query_params.get(self.cursor_query_param) or ""
        self.rows, self.next_token, self.previous_token = [], None, None
        if not token:  # the first page
            rows = list(queryset[: size + 1])
            more_before = False
            more_after = len(rows) > size
            rows = rows[:size]
        else:
            position, pk, direction = self._decode(token)
            forward = direction == "n"
            if forward:
                rows = list(self._after(queryset, position, pk, forward=True)[: size + 1])
                more_after, more_before = len(rows) > size, True
                rows = rows[:size]
            else:
                rows = list(self._after(queryset, position, pk, forward=False).reverse()[: size + 1])
                more_before, more_after = len(rows) > size, True
                rows = rows[:size][::-1]
        if rows and more_after:
            self.next_token = self._encode(rows[-1], "n")
        if rows and more_before:
            self.previous_token = self._encode(rows[0], "p")
        self.rows = rows
        return rows

    def _cursor_link(self, token: str | None) -> str | None:
        if token is None:
            return None
        assert self.request is not None  # set by paginate_queryset
        url = self.request.build_absolute_uri()
        return replace_query_param(remove_query_param(url, self.page_query_param), self.cursor_query_param, token)

    def get_next_link(self):
        if self.cursor_mode:
            return self._cursor_link(self.next_token)
        link = super().get_next_link()
        if link is None or self.page is None or self.page.end_index() < self.max_offset or self.order is None:
            return link  # the next page is within reach of page numbers (or the order has no cursor)
        return self._cursor_link(self.cursor_after(self.rows[-1], order=self.order))  # past the cap: by cursor

    def get_previous_link(self):
        if self.cursor_mode:
            return self._cursor_link(self.previous_token)
        return super().get_previous_link()

    def get_paginated_response(self, data):
        if self.cursor_mode:
            return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})
        assert self.page is not None  # set by paginate_queryset in the page-number form
        counted = self.page.paginator.count
        return Response(
            {
                "count": min(counted, self.max_offset),
                "count_capped": counted > self.max_offset,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["required"] = ["next", "previous", "results"]
        described["properties"]["count"]["description"] = (
            f"Page-number form only (absent with `cursor`): the rows in the list, counted up to {self.max_offset:,}."
        )
        described["properties"] = {
            "count": described["properties"]["count"],
            "count_capped": {
                "type": "boolean",
                "example": False,
                "description": f"Page-number form only: true when there are more than {self.max_offset:,} rows "
                "(then `count` says the cap; walk them with `cursor`).",
            },
            **{k: v for k, v in described["properties"].items() if k != "count"},
        }
        return described

    def get_schema_operation_parameters(self, view):
        if getattr(view, "action", "list") != "list":  # the other paginated actions list memory: no cursor
            return super().get_schema_operation_parameters(view)
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Keyset pagination for any depth: send it empty for the first page, then follow "
                    "`next`/`previous`. No `count` in this form; the default order (or `created_at`) only. "
                    f"Page numbers reach the first {self.max_offset:,} rows."
                ),
                "schema": {"type": "string"},
            },
        ]
