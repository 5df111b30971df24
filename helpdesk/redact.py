"""Secrets never reach a log line: passwords, keys and tokens are replaced by *** on the way out.

`redact(text)` removes
- the configured secrets (SECRET_KEY, the database and Redis passwords, AI and mail provider keys,
  the S3 secret, METRICS_TOKEN, SENTRY_DSN), wherever they appear;
- the password of any URL (`scheme://user:password@host` keeps the user);
- bearer credentials that travel in query strings: `token=` (the websocket's access token),
  `signature=` (signed download links), and anything shaped like a JWT.

`RedactSecretsFilter` applies it to every record the console handler writes (settings.LOGGING),
uvicorn's access and error lines included.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s/]+)@")
_QUERY_CREDENTIAL = re.compile(r"(?P<name>[?&](?:token|access|refresh|signature|sig|key|api_key|password)=)[^&\s\"']+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# Values shorter than this are not treated as secrets (they would match ordinary words).
_MIN_SECRET_LENGTH = 6


def _url_password(url: str) -> str:
    try:
        password = urlsplit(url).password
    except ValueError:
        return ""
    return unquote(password) if password else ""


@lru_cache(maxsize=1)
def configured_secrets() -> tuple[str, ...]:
    """Every secret value in the settings, longest first. Read once, after settings are loaded."""
    from django.conf import settings

    values: list[str] = [getattr(settings, "SECRET_KEY", ""), getattr(settings, "EMAIL_HOST_PASSWORD", "")]
    values.append(getattr(settings, "AI_LLM_API_KEY", "") or "")
    values.append(getattr(settings, "METRICS_TOKEN", "") or "")
    values.append(getattr(settings, "SENTRY_DSN", "") or "")
    for database in getattr(settings, "DATABASES", {}).values():
        values.append(database.get("PASSWORD") or "")
        values.append(_url_password(str(database.get("HOST") or "")))
    for name in ("IMAP_OAUTH2_CLIENT_SECRET", "IMAP_OAUTH2_REFRESH_TOKEN"):  # email in (intake.imap)
        values.append(str(getattr(settings, name, "") or ""))
    for name in ("DATABASE_URL", "REDIS_URL", "CHROMA_URL", "AI_LLM_BASE_URL", "CLAMAV_URL", "IMAP_URL"):
        values.append(_url_password(str(getattr(settings, name, "") or "")))
    values.extend(str(value) for value in (getattr(settings, "ANYMAIL", {}) or {}).values())
    for storage in (getattr(settings, "STORAGES", {}) or {}).values():
        values.append(str((storage.get("OPTIONS") or {}).get("secret_key") or ""))
    unique = {value for value in values if value and len(value) >= _MIN_SECRET_LENGTH}
    return tuple(sorted(unique, key=len, reverse=True))


def redact(text: str) -> str:
    if not text:
        return text
    try:
        secrets = configured_secrets()
    except Exception:  # settings not loadable (a configuration error being reported): patterns only
        secrets = ()
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _QUERY_CREDENTIAL.sub(lambda m: f"{m['name']}{MASK}", text)
    return _JWT.sub(MASK, text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record's message (and its traceback text) with secrets replaced by ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it as usual
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
