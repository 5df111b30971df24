"""Query-parameter filters shared by every app's lists, made safe against odd but well-formed input.

django-filter accepts any ISO 8601 date-time, including ones at the edge of the calendar with a
UTC offset (`0001-01-01T00:00:00+01:00`, `9999-12-31T23:59:59-01:00`). Converting those to UTC,
as every database query does, overflows Python's datetime: a 500. Here they are a 400 instead.
"""

from __future__ import annotations

from datetime import UTC

from django import forms
from django_filters import fields, filters


def _in_utc_range(value):
    if value is not None and value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                "Give a date-time between the years 1 and 9999 in UTC.", code="out_of_range"
            ) from None
    return value


class _IsoDateTimeRangeField(fields.IsoDateTimeRangeField):
    def compress(self, data_list):
        if data_list:
            for value in data_list:
                _in_utc_range(value)
        return super().compress(data_list)


class IsoDateTimeFromToRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    """`<name>_after` / `<name>_before` in ISO 8601; a bound that cannot be expressed in UTC is a 400."""

    field_class = _IsoDateTimeRangeField
