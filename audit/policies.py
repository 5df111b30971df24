"""Who may read which audit entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import Role
from audit.models import KNOWLEDGE_BASE, TRIAGE

if TYPE_CHECKING:
    from accounts.models import User


def can_read_log(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role >= Role.LEAD


def visible_entries(user: User) -> Q:
    """Admins: everything. Leads: what happened to their department's tickets (moves out of it
    included), to triage tickets, and to the knowledge base they write. Others: nothing."""
    if user.role >= Role.ADMIN:
        return Q()
    if user.role >= Role.LEAD:
        shared = [TRIAGE, KNOWLEDGE_BASE]
        if not user.department_id:
            return Q(department_id__in=shared)
        return Q(department_id__in=[user.department_id, *shared]) | Q(previous_department_id=user.department_id)
    return Q(pk__in=[])
