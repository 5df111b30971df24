"""Django admin for users and departments.

Admins manage everything. A lead sees the users of their own department and edits its employees
and agents, never raising anyone above agent (accounts.policies decides; this only asks).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied

from accounts import policies
from accounts.models import Department, RevokedToken, User


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "department")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "first_name", "last_name", "role", "department", "is_active", "is_available")
    list_filter = ("role", "department", "is_active", "is_available")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name")}),
        ("Work", {"fields": ("role", "department", "skills", "is_available")}),
        ("Access", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "role", "department", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(policies.admin_editable_users(request.user))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or policies.can_admin_change_user(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return policies.can_manage_users(request.user)  # leads deactivate instead

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            kwargs["choices"] = [(role.value, role.label) for role in policies.roles_assignable_by(request.user)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department" and not policies.can_manage_users(request.user):
            kwargs["queryset"] = Department.objects.filter(pk__in=request.user.department_ids())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not policies.can_admin_change_user(request.user, obj):
            raise PermissionDenied("You may not give this user that role or department.")
        super().save_model(request, obj, form, change)

    def user_change_password(self, request, id, form_url=""):
        if not policies.can_manage_users(request.user):
            raise PermissionDenied("Only admins set other users' passwords.")
        return super().user_change_password(request, id, form_url)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


@admin.register(RevokedToken)
class RevokedTokenAdmin(admin.ModelAdmin):
    list_display = ("jti", "user_id", "reason", "revoked_at", "expires_at")
    list_filter = ("reason",)
    search_fields = ("jti", "user_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
