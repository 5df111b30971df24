"""Request and response shapes of the accounts API. Roles travel as their lower-case names."""

from __future__ import annotations

from rest_framework import serializers

from accounts import services
from accounts.models import Department, Role, User
from accounts.services import MAX_SKILLS
from helpdesk.api.serializers import StrictSerializer
from helpdesk.tags import MAX_TAG_LENGTH


class RoleField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Role.api_names(), **kwargs)

    def to_representation(self, value):
        return Role(value).api_name

    def to_internal_value(self, data):
        return Role.from_api_name(super().to_internal_value(data))


class DepartmentOut(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "description", "created_at"]


class DepartmentIn(StrictSerializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class UserOut(serializers.ModelSerializer):
    role = RoleField(read_only=True)
    department = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # null: no department
    skills = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "department",
            "skills",
            "is_active",
            "is_available",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class MeOut(UserOut):
    """The signed-in user, with the counts other apps keep for them (accounts.services.profile_counts)."""

    unread_notifications = serializers.SerializerMethodField(
        help_text="Your unread in-app notifications (GET /api/v1/notifications/?unread=true)."
    )

    class Meta(UserOut.Meta):
        fields = [*UserOut.Meta.fields, "unread_notifications"]
        read_only_fields = fields

    def get_unread_notifications(self, user) -> int:
        return services.profile_counts(user=user).get("unread_notifications", 0)


class UserIn(StrictSerializer):
    """An admin creating a user (all fields) or changing one (partial)."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = RoleField(required=False)
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all(), required=False, allow_null=True)
    skills = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_SKILLS, required=False
    )
    is_available = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class SignupIn(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginIn(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class RefreshIn(StrictSerializer):
    refresh = serializers.CharField(max_length=2048)


class TokenPairOut(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`; short-lived.")
    refresh = serializers.CharField(help_text="Trade once at /api/v1/auth/refresh/ for a new pair.")


class MeIn(StrictSerializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    is_available = serializers.BooleanField(required=False)


class PasswordResetIn(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetOut(serializers.Serializer):
    detail = serializers.CharField(help_text="The same whether or not an account uses the address.")


class PasswordResetConfirmIn(StrictSerializer):
    uid = serializers.CharField(max_length=64, help_text="From the reset email.")
    token = serializers.CharField(max_length=128, help_text="From the reset email.")
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class PasswordChangeIn(StrictSerializer):
    old_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
