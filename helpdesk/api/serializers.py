"""Serializer building blocks shared by every app's API."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

# The widest integer column of every database we run on (64-bit signed): a number outside it is
# refused here, with the field's name, instead of overflowing in the database driver.
MAX_INTEGER = 2**63 - 1
NUL_MESSAGE = "Text may not contain NUL characters (U+0000)."


def fields_with_nul(data, prefix: str = "") -> list[str]:
    """The names ("tags.2", "title") of every string in `data` (keys included) that holds a NUL."""
    found = []
    stack = [(prefix, data)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(name or "non_field_errors")
        elif isinstance(value, dict):  # a JSON object, or a QueryDict (form fields, each a list)
            if hasattr(value, "lists"):
                items = [(key, values[0] if len(values) == 1 else values) for key, values in value.lists()]
            else:
                items = list(value.items())
            for key, item in items:
                key = str(key)
                if "\x00" in key:
                    found.append(f"{name}.{key!r}" if name else repr(key))
                    continue
                stack.append((f"{name}.{key}" if name else key, item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{name}.{index}" if name else str(index), item) for index, item in enumerate(value))
        elif getattr(value, "name", None) and "\x00" in str(value.name):  # an uploaded file's name
            found.append(name or "non_field_errors")
    return sorted(set(found))


class StrictSerializer(serializers.Serializer):
    """The base of every request body: rejects fields it does not accept (instead of silently
    dropping them), NUL characters in any text (PostgreSQL cannot store them) and integers wider
    than a database column, each as a 400 naming the field."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.IntegerField):
                if field.max_value is None:
                    field.max_value = MAX_INTEGER
                    field.validators.append(MaxValueValidator(MAX_INTEGER))
                if field.min_value is None:
                    field.min_value = -MAX_INTEGER - 1
                    field.validators.append(MinValueValidator(-MAX_INTEGER - 1))
        return fields

    def to_internal_value(self, data):
        nul = fields_with_nul(data)
        if nul:
            raise serializers.ValidationError({name: [NUL_MESSAGE] for name in nul})
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["This field is not accepted here."] for name in unknown})
        return super().to_internal_value(data)

    @classmethod
    def validated(cls, data, **kwargs) -> dict:
        """Validate a request body; a ValidationError becomes a 400 problem with `errors`."""
        serializer = cls(data=data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class PersonOut(serializers.Serializer):
    """Someone named in an answer: id and display name (the e-mail when no name is set)."""

    id = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.email


class DepartmentBriefOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class AttachmentOut(serializers.Serializer):
    """A file attached to a ticket or an article, with a download link signed for the caller."""

    id = serializers.CharField()
    name = serializers.CharField(help_text="The uploader's file name, for display only.")
    size = serializers.IntegerField(help_text="Bytes.")
    content_type = serializers.CharField(help_text="Sniffed from the bytes, not taken from the client.")
    uploaded_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    download_url = serializers.CharField(help_text="Signed; works without a token until it expires.")
    download_url_expires_at = serializers.DateTimeField()
