"""Reads of the audit log, always narrowed to what the asking user may read."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from audit import policies
from audit.models import AuditEntry


def entries_for(*, user: User) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(policies.visible_entries(user)).select_related("actor")
