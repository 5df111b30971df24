"""The simplest table a list endpoint can serve: a handful of columns, one index for its order."""

from django.db import models


class PlainRow(models.Model):
    id = models.BigAutoField(primary_key=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, default="new")
    priority = models.CharField(max_length=16, default="medium")
    requester_email = models.EmailField(max_length=254)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="plainrow_created")]

    def __str__(self) -> str:
        return self.title
