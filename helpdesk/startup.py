"""Start-up of every entry point (manage.py, ASGI, WSGI): a configuration error is one clear line.

Settings raise ImproperlyConfigured with a message that names the variable and what to do
(helpdesk/settings/env.py). Left alone, Python would print it under a 50-line traceback of
Django's import machinery; here it is printed alone, on stderr, and the process exits with 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


def configured(start: Callable[..., T], *args) -> T:
    """`start(*args)`, or exit 1 with the ImproperlyConfigured message alone on stderr."""
    try:
        return start(*args)
    except ImproperlyConfigured as error:
        print(f"ImproperlyConfigured: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
