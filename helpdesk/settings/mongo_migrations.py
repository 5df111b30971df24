"""Settings to generate and drift-check the MongoDB-only migration modules with no server.

    DJANGO_SETTINGS_MODULE=helpdesk.settings.mongo_migrations \
        python manage.py makemigrations admin auth contenttypes otp_totp otp_static

The MongoDB settings (ObjectId auto fields, MIGRATION_MODULES) with the dummy engine, which
never connects (a trick ../shared/STACK-NOTES.md measured to work).
"""

import os

os.environ["DATABASE_URL"] = "mongodb://127.0.0.1:27017/helpdesk"
os.environ.setdefault("DEBUG", "true")

from helpdesk.settings.main import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
