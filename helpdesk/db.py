"""Model building blocks that keep one code base honest on SQLite, PostgreSQL and MongoDB."""

from bson import ObjectId
from django.db import models


def new_object_id() -> str:
    """A 24-hex-character id, generated in Python, that reads like a MongoDB ObjectId."""
    return str(ObjectId())


class ObjectIdPrimaryKey(models.CharField):
    """String primary key for every model of ours: the same on all three databases."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("max_length", 24)
        kwargs.setdefault("default", new_object_id)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("primary_key", "max_length", "default", "editable"):
            kwargs.pop(key, None)
        return name, path, args, kwargs
