"""`DATABASE_URL` to Django's DATABASES: SQLite (default), PostgreSQL or MongoDB."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

SQL_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")
MONGO_SCHEMES = ("mongodb", "mongodb+srv")
# Django's SQLite backend plus `PRAGMA optimize` on close (helpdesk/sqlite/base.py).
SQLITE_ENGINE = "helpdesk.sqlite"
CONNECT_TIMEOUT_SECONDS = 5


def is_mongodb(database_url: str) -> bool:
    return database_url.split("://", 1)[0] in MONGO_SCHEMES


def database_settings(database_url: str, *, default_sqlite: Path, conn_max_age: int) -> dict:
    if not database_url:
        return {
            "ENGINE": SQLITE_ENGINE,
            "NAME": str(default_sqlite),
            # WAL lets readers (the ASGI server, management commands) work beside a writer.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
        }
    scheme = database_url.split("://", 1)[0]
    if scheme in MONGO_SCHEMES:
        # django-mongodb-backend takes the whole connection string in HOST.
        name = urlsplit(database_url).path.lstrip("/") or "helpdesk"
        return {"ENGINE": "django_mongodb_backend", "HOST": database_url, "NAME": name}
    if scheme in SQL_SCHEMES:
        try:
            config = environ.Env.db_url_config(database_url)
        except Exception:  # the parser's message may quote the URL, password included
            raise ImproperlyConfigured(
                "DATABASE_URL is not a database URL we can read; it looks like "
                "postgres://USER:PASSWORD@HOST:5432/NAME (percent-encode special characters in the password)."
            ) from None
        if scheme == "sqlite":
            config["ENGINE"] = SQLITE_ENGINE
        else:
            # 0 (the default) under ASGI: each request runs in a thread of its own there, so
            # persistent per-thread connections pile up until PostgreSQL refuses more. Under a
            # threaded WSGI server (gunicorn gthread) long-lived threads reuse them safely.
            config["CONN_MAX_AGE"] = conn_max_age
            config["CONN_HEALTH_CHECKS"] = conn_max_age > 0
            # A database that does not answer fails a request within seconds (503
            # database_unavailable), instead of holding it for the operating system's TCP time-out.
            config.setdefault("OPTIONS", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        return config
    raise ImproperlyConfigured("DATABASE_URL must start with sqlite://, postgres:// or mongodb:// (or mongodb+srv://).")
