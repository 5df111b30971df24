"""Settings come from the environment once; a wrong value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings.databases import database_settings
from tests.helpers import ROOT

GOOD_KEY = "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789"


def start(env_overrides: dict, var_dir: Path) -> subprocess.CompletedProcess:
    """`manage.py check` with the production settings, this environment and its own VAR_DIR."""
    env = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "helpdesk.settings.main", "VAR_DIR": str(var_dir)}, **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


OIDC_CLIENT = {"OIDC_CLIENT_ID": "helpdesk", "OIDC_CLIENT_SECRET": "s"}


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "true", "DATABASE_URL": "mysql://localhost/db"}, "DATABASE_URL"),
        ({"DEBUG": "true", "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "true", "THROTTLE_USER": "lots"}, "THROTTLE_USER"),
        ({"DEBUG": "true", "MAX_REQUEST_BYTES": "1MB"}, "MAX_REQUEST_BYTES"),
        ({"DEBUG": "true", "CORS_ALLOWED_ORIGINS": "*"}, "CORS_ALLOWED_ORIGINS"),
        ({"DEBUG": "true", "OIDC_ISSUER": "https://id.example"}, "OIDC_CLIENT_ID"),
        ({"DEBUG": "true", "OIDC_ISSUER": "http://id.example", **OIDC_CLIENT}, "OIDC_ISSUER"),
        ({"DEBUG": "true", "OIDC_GROUP_ROLES": "it-admins=root"}, "OIDC_GROUP_ROLES"),
        ({"DEBUG": "true", "OIDC_GROUP_DEPARTMENTS": "it-network"}, "OIDC_GROUP_DEPARTMENTS"),
        ({"DEBUG": "true", "PASSWORD_LOGIN": "admins"}, "PASSWORD_LOGIN"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_the_variable(overrides, named, tmp_path):
    result = start(overrides, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and named in last_line, result.stderr[-800:]


def test_good_production_values_start(tmp_path):
    result = start({"DEBUG": "false", "SECRET_KEY": GOOD_KEY}, tmp_path)
    assert result.returncode == 0, result.stderr[-800:]


def test_database_url_selects_the_engine(tmp_path):
    sqlite = database_settings("", default_sqlite=tmp_path / "db.sqlite3", conn_max_age=0)
    assert sqlite["ENGINE"] == "helpdesk.sqlite"  # Django's, plus statistics on close
    assert sqlite["NAME"] == str(tmp_path / "db.sqlite3")
    assert (
        database_settings(f"sqlite:///{tmp_path}/other.sqlite3", default_sqlite=tmp_path, conn_max_age=0)["ENGINE"]
        == "helpdesk.sqlite"
    )

    postgres = database_settings(
        "postgres://app:pw@db.internal:5432/helpdesk", default_sqlite=tmp_path, conn_max_age=30
    )
    assert postgres["ENGINE"] == "django.db.backends.postgresql"
    assert (postgres["NAME"], postgres["HOST"], postgres["USER"]) == ("helpdesk", "db.internal", "app")
    assert postgres["CONN_MAX_AGE"] == 30 and postgres["CONN_HEALTH_CHECKS"] is True

    mongo = database_settings(
        "mongodb+srv://u:p@cluster0.example.net/helpdesk?retryWrites=true", default_sqlite=tmp_path, conn_max_age=0
    )
    assert mongo == {
        "ENGINE": "django_mongodb_backend",
        "HOST": "mongodb+srv://u:p@cluster0.example.net/helpdesk?retryWrites=true",
        "NAME": "helpdesk",
    }
    assert database_settings("mongodb://localhost:27017", default_sqlite=tmp_path, conn_max_age=0)["NAME"] == "helpdesk"

    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_settings("oracle://x", default_sqlite=tmp_path, conn_max_age=0)


def test_mongodb_settings_use_object_id_auto_fields_and_own_migrations(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DEBUG="true", DATABASE_URL="mongodb://127.0.0.1:27017/helpdesk", VAR_DIR=str(tmp_path))
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='helpdesk.settings.main'; django.setup();"
        "from django.conf import settings; from django.apps import apps;"
        "print(settings.DEFAULT_AUTO_FIELD);"
        "print(sorted(settings.MIGRATION_MODULES));"
        "print(apps.get_app_config('auth').default_auto_field);"
        "print(apps.get_model('accounts', 'User')._meta.pk.get_internal_type());"
        "print(*(apps.get_app_config(label).default_auto_field for label in ('otp_totp', 'otp_static')));"
        "from django.contrib import admin; print(admin.site.__class__.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-800:]
    lines = result.stdout.split("\n")
    assert lines[0] == "django_mongodb_backend.fields.ObjectIdAutoField"
    assert lines[1] == "['admin', 'auth', 'contenttypes', 'otp_static', 'otp_totp']"
    assert lines[2] == "django_mongodb_backend.fields.ObjectIdAutoField"
    assert lines[3] == "CharField"  # our models keep their string ids on every database
    # django-otp's devices (the second factor) too, and admin asks for it on MongoDB as well.
    assert lines[4] == "django_mongodb_backend.fields.ObjectIdAutoField django_mongodb_backend.fields.ObjectIdAutoField"
    assert lines[5] == "HelpdeskAdminSite"


def test_production_email_never_goes_to_the_log_unless_a_sender_is_set(tmp_path):
    """Unset EMAIL_BACKEND printed every email, password-reset links included, into the log of a
    production process (the compose stack's worker): anyone reading logs could take accounts."""
    send = (
        "from django.core.mail import send_mail; "
        "send_mail('Reset', 'token: RESET-SECRET-4471', 'a@x.test', ['b@x.test'])"
    )
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "EMAIL_BACKEND", "EMAIL_FILE_PATH"}}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main", VAR_DIR=str(tmp_path), DEBUG="false", SECRET_KEY=GOOD_KEY
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", send],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert "RESET-SECRET-4471" not in result.stdout + result.stderr
    kept = [path.read_text() for path in (tmp_path / "sent-mail").iterdir()]
    assert len(kept) == 1 and "RESET-SECRET-4471" in kept[0]
