"""Fast settings for the test suite: the production settings with cheap hashing and no TLS redirect.

The database comes from DATABASE_URL as usual (SQLite when unset, PostgreSQL in CI), and so do
the cache and channel layer (Redis when REDIS_URL is set): tests run against what is configured.
"""

import atexit
import os
import shutil
import tempfile

# The suite runs production-like settings whatever a local .env says (`make run` writes DEBUG=true).
os.environ["DEBUG"] = "false"
# Everything a run writes (test database, AI models and index, uploads) goes to a folder of its own,
# never to the checkout's var/ (tests/conftest.py fails the run if var/ changes). Each process that
# loads these settings (a pytest run; mypy's Django plugin too) gets a fresh one, so two runs on one
# machine never share a database file, and removes it when it exits. HELPDESK_TEST_VAR_DIR names a
# folder to use instead, kept afterwards (e.g. to inspect it, or for pytest --reuse-db with SQLite).
os.environ["VAR_DIR"] = os.environ.get("HELPDESK_TEST_VAR_DIR", "").strip() or tempfile.mkdtemp(prefix="helpdesk-test-")
if not os.environ.get("HELPDESK_TEST_VAR_DIR", "").strip():
    atexit.register(shutil.rmtree, os.environ["VAR_DIR"], ignore_errors=True)
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)

from helpdesk.settings.databases import SQLITE_ENGINE
from helpdesk.settings.main import *  # noqa: F403
from helpdesk.settings.main import REDIS_URL

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
# Uploads Django spools to disk (over FILE_UPLOAD_MAX_MEMORY_SIZE) go to the run's folder too.
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")  # noqa: F405
os.makedirs(FILE_UPLOAD_TEMP_DIR, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve the docs' assets without collectstatic
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:  # noqa: F405
    # A file, not shared-cache memory: concurrency tests need SQLite's real locking (WAL, busy wait).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-helpdesk.sqlite3")}  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30  # noqa: F405
if REDIS_URL:
    CACHES["default"]["KEY_PREFIX"] = "helpdesk-test"  # noqa: F405
# The test process serves nothing: no scheduler thread of its own (tests that run one turn it on).
JOBS_IN_PROCESS = False
