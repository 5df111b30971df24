"""Users, their one role, and departments.

Roles are ordered, so rules read as comparisons (`user.role >= Role.AGENT`). Permissions come
from the role alone (accounts.policies): there are no groups or per-user permission rows, which
also keeps many-to-many tables (with auto primary keys) out of a MongoDB deployment.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone

from helpdesk.db import ObjectIdPrimaryKey


class Role(models.IntegerChoices):
    EMPLOYEE = 10, "Employee"
    AGENT = 20, "Agent"
    LEAD = 30, "Lead"
    ADMIN = 40, "Admin"

    @property
    def api_name(self) -> str:
        return self.name.lower()

    @classmethod
    def from_api_name(cls, name: str) -> Role:
        return cls[name.upper()]

    @classmethod
    def api_names(cls) -> list[str]:
        return [role.api_name for role in cls]


class Department(models.Model):
    id = ObjectIdPrimaryKey()
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(
        blank=True, help_text="What this department handles; also used to route tickets before there is history."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def normalize_email(email: str) -> str:
    """Emails are the login and compare case-insensitively: store them lower-cased."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email=normalize_email(email))

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        """`createsuperuser` makes admins (DJANGO_SUPERUSER_EMAIL/PASSWORD for --noinput)."""
        fields["role"] = Role.ADMIN
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    id = ObjectIdPrimaryKey()
    email = models.EmailField(unique=True, max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.PositiveSmallIntegerField(choices=Role.choices, default=Role.EMPLOYEE, db_index=True)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    skills = models.JSONField(default=list, blank=True, help_text="Lower-case skill tags, e.g. vpn, printers.")
    is_active = models.BooleanField(default=True, help_text="Inactive users cannot sign in or use tokens.")
    is_available = models.BooleanField(default=True, help_text="Agents: may receive new tickets.")
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.display_name(self.first_name, self.last_name, self.email)

    @staticmethod
    def display_name(first_name: str, last_name: str, email: str) -> str:
        """The name people see: first and last name, or the email when both are empty. Static, so a
        list that reads the three columns without building a User shows the same."""
        return f"{first_name} {last_name}".strip() or email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def department_ids(self) -> list[str]:
        return [self.department_id] if self.department_id else []

    # Django admin asks these; the answers come from the role (accounts.policies).
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.role >= Role.LEAD

    @property
    def is_superuser(self) -> bool:
        return self.is_active and self.role >= Role.ADMIN

    def has_perm(self, perm: str, obj=None) -> bool:
        from accounts.policies import role_has_permission

        return self.is_active and role_has_permission(self.role, perm)

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        from accounts.policies import role_has_module

        return self.is_active and role_has_module(self.role, app_label)


class RevokedToken(models.Model):
    """A refresh token that may not be used again (logged out, or already rotated).

    Our own denylist, keyed by the token's `jti`: simplejwt's blacklist app cannot run on
    MongoDB. The unique index makes "use once" a single conditional insert on every database.
    """

    id = ObjectIdPrimaryKey()
    jti = models.CharField(max_length=64, unique=True)
    user_id = models.CharField(max_length=24, db_index=True)
    reason = models.CharField(max_length=16, choices=[("rotated", "Rotated"), ("logout", "Logged out")])
    expires_at = models.DateTimeField(db_index=True, help_text="After this the token is dead anyway.")
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.jti} ({self.reason})"


class CompanyIdentity(models.Model):
    """The company account that signs in as a helpdesk account (decision 0031): the identity
    provider's issuer and subject (`iss`, `sub`: stable for a person, never reassigned), bound at the
    first company sign-in. Later sign-ins find the account by it; an email address the provider gives
    to someone else later does not open this account."""

    id = ObjectIdPrimaryKey()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="company_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "company identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="accounts_identity_unique_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="accounts_identity_one_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
