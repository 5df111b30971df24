"""Typed reading of the environment (and of a `.env` file), once, at start-up.

Every getter names the variable in its error, so a wrong value stops start-up with a message
that says what to fix. Values come from the process environment first, then from `.env`.
An error never repeats the value it refused: a variable set to the wrong thing may hold a
password or a key (a DATABASE_URL with its password, a token pasted into the wrong line).
helpdesk.startup prints the message alone, on one line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def load_dotenv(path: Path) -> None:
    """Load `path` into os.environ without overriding variables that are already set."""
    if path.is_file():
        environ.Env.read_env(str(path), overwrite=False)


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def string(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value:
        return value
    if required:
        raise ImproperlyConfigured(f"Set the {name} environment variable (see .env.example).")
    return default or ""


def boolean(name: str, default: bool) -> bool:
    value = _raw(name)
    if not value:  # unset or empty (as in a copied .env.example): the default
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (also accepted: 1/0, yes/no, on/off).")


def integer(name: str, default: int, *, minimum: int = 0) -> int:
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number (digits only), e.g. {default}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    return number


def csv_list(name: str, default: str = "") -> list[str]:
    value = _raw(name)
    if value is None:
        value = default
    return [item.strip() for item in value.split(",") if item.strip()]


def mapping(name: str) -> dict[str, str]:
    """`key=value,key=value` (keys and values trimmed; a value may hold spaces, not commas)."""
    found: dict[str, str] = {}
    for item in csv_list(name):
        key, separator, value = item.partition("=")
        if not separator or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name} must look like group=value,group=value.")
        found[key.strip()] = value.strip()
    return found


def rate(name: str, default: str) -> str:
    """A rate such as `5/m`, `100/h` or `1000/d` (django-ratelimit and DRF both read it)."""
    value = string(name, default)
    count, _, period = value.partition("/")
    if not count.isdigit() or not period or period[0] not in "smhd":
        raise ImproperlyConfigured(f"{name} must look like 5/m, 100/h or 1000/d (a count, a slash, s/m/h/d).")
    return value


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}$")


def url(name: str, schemes: tuple[str, ...]) -> str:
    """An optional URL whose scheme must be one of `schemes`; empty when unset."""
    value = string(name)
    if not value:
        return value
    scheme, separator, _ = value.partition("://")
    if scheme not in schemes:
        allowed = ", ".join(f"{option}://" for option in schemes)
        # Only a scheme-shaped prefix is repeated: the rest of the value may hold a password.
        seen = f" (it starts with {scheme}://)" if separator and _SCHEME.match(scheme) else ""
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}{seen}.")
    try:
        urlsplit(value).port  # noqa: B018 (reading it validates it)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number from 1 to 65535.") from None
    return value
