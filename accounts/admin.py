"""Django admin for users and departments.

Admins manage everything. A lead sees the users of their own department and edits its employees
and agents, never raising anyone above agent and never changing a sign-in email (accounts.policies
decides; this only asks).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import policies, services, two_factor
from accounts.models import CompanyIdentity, Department, RevokedToken, User
from helpdesk.admin import DeletesThroughService, apply_each
from helpdesk.errors import DomainError, NotAllowed


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "department")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class CompanyIdentityInline(admin.TabularInline):
    """The company account bound at the first company sign-in (decision 0031). Deleting it lets the
    next company sign-in with this address bind again (a person's new company account)."""

    model = CompanyIdentity
    extra = 0
    fields = readonly_fields = ("issuer", "subject", "linked_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DeletesThroughService, DjangoUserAdmin):
    delete_noun = "user"

    def get_inlines(self, request, obj):
        return [CompanyIdentityInline] if obj is not None else []  # a new account has no company account yet

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

    actions = ["reset_second_factor"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(policies.admin_editable_users(request.user))

    @admin.action(description="Reset the second factor (a lost phone)")
    def reset_second_factor(self, request, queryset):
        """Through accounts.two_factor.admin_reset: admins only, never themselves, audited."""
        apply_each(
            self,
            request,
            queryset,
            verb="Reset the second factor of",
            noun="user",
            change=lambda user: two_factor.admin_reset(actor=request.user, user=user),
        )

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or policies.can_admin_change_user(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return policies.can_manage_users(request.user)  # leads deactivate instead

    def get_readonly_fields(self, request, obj=None):
        # Not a field of the form, so an email posted anyway is never read (the service refuses it too).
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and not policies.can_change_email(request.user, obj):
            return (*readonly, "email")
        return readonly

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            kwargs["choices"] = [(role.value, role.label) for role in policies.roles_assignable_by(request.user)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department" and not policies.can_manage_users(request.user):
            kwargs["queryset"] = Department.objects.filter(pk__in=request.user.department_ids())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """Through accounts.services (its rules; the audit log hears what changed)."""
        try:
            services.user_admin_save(actor=request.user, user=obj)
        except NotAllowed as error:
            raise PermissionDenied(error.detail) from None
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)

    def delete_through_service(self, request, obj):
        services.user_delete(actor=request.user, user=obj)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        """Django's password form saves the user itself: in one transaction with the event that
        records it (accounts.services.user_password_changed_in_admin)."""
        if not policies.can_manage_users(request.user):
            raise PermissionDenied("Only admins set other users' passwords.")
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                changed = User.objects.get(pk=user.pk)
                services.user_password_changed_in_admin(actor=request.user, user=changed, previous_hash=user.password)
        return response


@admin.register(Department)
class DepartmentAdmin(DeletesThroughService, admin.ModelAdmin):
    delete_noun = "department"
    list_display = ("name", "description")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        """Through accounts.services (its rules; the audit log hears what changed)."""
        fields = {name: form.cleaned_data[name] for name in ("name", "description") if name in form.cleaned_data}
        try:
            if change:
                current = Department.objects.get(pk=obj.pk)
                services.department_update(actor=request.user, department=current, **fields)
            else:
                obj.pk = services.department_create(actor=request.user, **fields).pk
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)

    def delete_through_service(self, request, obj):
        services.department_delete(actor=request.user, department=obj)


@admin.register(RevokedToken)
class RevokedTokenAdmin(admin.ModelAdmin):
    list_display = ("jti", "user_id", "reason", "revoked_at", "expires_at")
    list_filter = ("reason",)
    search_fields = ("jti", "user_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a row would un-revoke its token; the purge job forgets expired ones


# django-otp registers its device models on the admin site: there an admin could read the secrets
# and recovery codes, or delete a device with no audit entry. Resetting goes through the action
# above (and POST /api/v1/users/{id}/reset-2fa/) instead (decision 0032).
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)
