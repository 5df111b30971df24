"""Helpers shared by the apps' Django admin modules (this module registers no model).

Bulk actions apply a service to each selected row and report what it refused; tag fields edit a
list of labels as "a, b" text, normalised by the one tag rule (helpdesk.tags); long text is cut
in list columns, so a list stays one line per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import Truncator

from helpdesk.errors import DomainError
from helpdesk.tags import split_tags

# More refusals than this are summed up rather than listed: the page stays readable.
MAX_REFUSALS_SHOWN = 10


def apply_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: Iterable[Any],
    *,
    verb: str,
    noun: str,
    change: Callable[[Any], object],
) -> None:
    """Apply `change` (a call of a service) to each row; one message for the successes and one
    per row a service refused, with the service's reason (a DomainError's detail)."""
    done, refused = 0, []
    for row in rows:
        try:
            change(row)
            done += 1
        except DomainError as error:
            refused.append(f"{row}: {error.detail}")
    model_admin.message_user(request, f"{verb} {done} {noun}(s).", messages.SUCCESS if done else messages.WARNING)
    for reason in refused[:MAX_REFUSALS_SHOWN]:
        model_admin.message_user(request, f"Skipped {reason}", messages.WARNING)
    if len(refused) > MAX_REFUSALS_SHOWN:
        model_admin.message_user(request, f"… and {len(refused) - MAX_REFUSALS_SHOWN} more skipped.", messages.WARNING)


class DeletesThroughService:
    """A ModelAdmin mixin: deleting one row or a selection goes through the app's service (its
    rules, and the audit log hears it); a refusal is a message, never a half-done bulk delete."""

    delete_noun = "row"

    def delete_through_service(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            self.delete_through_service(request, obj)
        except DomainError as error:
            self.message_user(request, f"Not deleted: {error.detail}", messages.ERROR)  # type: ignore[attr-defined]

    def delete_queryset(self, request: HttpRequest, queryset: Iterable[Any]) -> None:
        apply_each(
            self,  # type: ignore[arg-type]
            request,
            queryset,
            verb="Deleted",
            noun=self.delete_noun,
            change=lambda obj: self.delete_through_service(request, obj),
        )


def short_text(text: str, *, chars: int = 60, tooltip: str | None = None, css_class: str = "") -> str:
    """Text for a list column, cut to `chars`; the whole of it, or `tooltip`, shows on hover.

    A list whose change_list.html extends admin/one_line_change_list.html also cuts it to the
    column's width, so every row stays one line (the ticket list, the AI suggestion log)."""
    classes = f"short-text {css_class}".strip()
    shown = Truncator(text).chars(chars)
    return format_html('<span class="{}" title="{}">{}</span>', classes, text if tooltip is None else tooltip, shown)


class TagsField(forms.CharField):
    """A list of tags edited as comma-separated text ("vpn, wi-fi"); cleans to the normalised list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Comma-separated, e.g. “vpn, wi-fi”.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(tag) for tag in value)
        return value

    # The stubs say CharField.to_python returns str; this field cleans to the list of tags.
    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            value = ", ".join(str(tag) for tag in value)
        try:
            return split_tags(super().to_python(value) or "")
        except DomainError as error:
            raise forms.ValidationError(error.detail, code=error.code) from error
