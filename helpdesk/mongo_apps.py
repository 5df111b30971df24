"""Django's contrib apps on ObjectId auto fields, used only when DATABASE_URL is a MongoDB URL (and
Django admin's config on every database: its site asks for the second factor).

django-mongodb-backend needs every model to have an ObjectId primary key; contrib apps get one
through these configs and the migrations in `helpdesk/mongo_migrations/` (their docs:
howto/contrib-apps). Our own models never use auto fields, so they share one set of migrations.
"""

from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPConfig

OBJECT_ID_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class HelpdeskAdminConfig(AdminConfig):
    """Django admin with the second factor on every database: staff with an authenticator (all staff
    under STAFF_REQUIRE_2FA) sign in with a code too (accounts.admin_site; decision 0032)."""

    default_site = "accounts.admin_site.HelpdeskAdminSite"


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD
    default_site = "accounts.admin_site.HelpdeskAdminSite"  # asks for the second factor (decision 0032)


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoTOTPConfig(OTPTOTPConfig):
    """django-otp's TOTP devices (staff's second factor, decision 0032)."""

    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoStaticConfig(OTPStaticConfig):
    """django-otp's static devices: the recovery codes."""

    default_auto_field = OBJECT_ID_AUTO_FIELD
