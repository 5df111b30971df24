"""Who may read which audit entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import Role

if TYPE_CHECKING:
    from accounts.models import User


def visible_entries(user: User) -> Q:
    """Admins: everything. Leads: what happened in their department. Others: nothing."""
    if user.role >= Role.ADMIN:
        return Q()
    if user.role >= Role.LEAD and user.department_id:
        return Q(department_id=user.department_id)
    return Q(pk__in=[])
