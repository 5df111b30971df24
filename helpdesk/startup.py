"""Start-up of every entry point (manage.py, ASGI, WSGI): a configuration error is one clear line.

Settings raise ImproperlyConfigured with a message that names the variable and what to do
(helpdesk/settings/env.py). Left alone, Python would print it under a 50-line traceback of
Django's import machinery; here it is printed alone, on stderr, and the process exits with 1.
So is a `helpdesk.errors.Unavailable` that reaches an entry point (a command that needs the
embedding model where there is none).

What serving needs beyond settings (the embedding model) is registered here by the apps
(`require_for_serving`, from their AppConfig.ready) and checked before anything is done by the
servers' entry points, by `manage.py runserver` and `seed_demo`, and by the commands the app names
(`check_serving`); never by other commands: `migrate` or `check --deploy` do not need the model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

from helpdesk.errors import Unavailable

T = TypeVar("T")

# Commands that need everything a server needs: runserver serves, seed_demo fills the AI index.
SERVING_COMMANDS = frozenset({"runserver", "seed_demo"})

_serving_requirements: list[tuple[Callable[[], None], frozenset[str]]] = []


def configured(start: Callable[..., T], *args) -> T:
    """`start(*args)`, or exit 1 with the ImproperlyConfigured (or Unavailable) message alone on stderr."""
    try:
        return start(*args)
    except ImproperlyConfigured as error:
        print(f"ImproperlyConfigured: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except Unavailable as error:
        print(f"{error.__class__.__name__}: {error.detail}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def require_for_serving(requirement: Callable[[], None], *, commands: tuple[str, ...] = ()) -> None:
    """`requirement()` raises ImproperlyConfigured when this installation cannot serve; `commands`
    are the app's management commands that need it too."""
    _serving_requirements.append((requirement, frozenset(commands)))


def check_serving(command: str = "") -> None:
    """Every requirement of a server (no `command`), or those of that management command."""
    for requirement, commands in _serving_requirements:
        if not command or command in SERVING_COMMANDS or command in commands:
            requirement()


def manage(argv: list[str]) -> None:
    """manage.py: a command first checks what it needs (runserver in its autoreloader parent, before
    any child starts), then runs."""
    from django.core.management import execute_from_command_line

    command = argv[1] if len(argv) > 1 else ""
    if command and not command.startswith("-") and command != "help":
        import django

        django.setup()  # the apps register their requirements
        check_serving(command)
    execute_from_command_line(argv)
