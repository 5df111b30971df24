"""Django's contrib apps on ObjectId auto fields, used only when DATABASE_URL is a MongoDB URL.

django-mongodb-backend needs every model to have an ObjectId primary key; contrib apps get one
through these configs and the migrations in `helpdesk/mongo_migrations/` (their docs:
howto/contrib-apps). Our own models never use auto fields, so they share one set of migrations.
"""

from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

OBJECT_ID_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD
