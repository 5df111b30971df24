"""DRF permission classes of the users and departments API: they ask accounts.policies."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts import policies


class ReadAgentsWriteAdmins(BasePermission):
    """Users API: agents and up read (their department), admins write."""

    message = "Only agents and up may read users, and only admins may change them."

    def has_permission(self, request, view):
        user = request.user
        if request.method in SAFE_METHODS:
            return policies.can_list_users(user)
        return policies.can_manage_users(user)


class ReadAllWriteAdmins(BasePermission):
    """Departments API: everyone signed in reads, admins write."""

    message = "Only admins may change departments."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or policies.can_manage_departments(request.user)


class AdminsOnly(BasePermission):
    """Admins only, whatever the method (a person's data: export and erasure)."""

    message = "Only admins may do this."

    def has_permission(self, request, view):
        return policies.can_manage_users(request.user)
