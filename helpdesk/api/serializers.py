"""Serializer building blocks shared by every app's API."""

from __future__ import annotations

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Rejects body fields it does not accept, instead of silently dropping them."""

    def to_internal_value(self, data):
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
