"""`manage.py seed_demo`: demo data for a laptop, asked of each app in INSTALLED_APPS order.

An app takes part by having a `demo` module with `seed(*, write, quiet)`: accounts makes the
departments and people, knowledge the articles, ai_assist a ticket history, a trained router and
new tickets routed live. No app imports another's demo; each looks the demo people up through
`accounts.demo`. Idempotent.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def demo_modules() -> list:
    """Each installed app's `demo` module that has a `seed` function, in INSTALLED_APPS order."""
    modules = []
    for config in apps.get_app_configs():
        if find_spec(f"{config.name}.demo") is None:
            continue
        module = import_module(f"{config.name}.demo")
        if callable(getattr(module, "seed", None)):
            modules.append(module)
    return modules


class Command(BaseCommand):
    help = "Create demo departments, users, articles and tickets (idempotent). Passwords are reset to the demo one."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even when DEBUG is false (demo accounts have a published password).",
        )

    def handle(self, *args, allow_production: bool = False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "seed_demo creates accounts with a published password; it runs only with DEBUG=true "
                "(or pass --allow-production if you really mean it)."
            )
        quiet = options.get("verbosity", 1) < 1
        for module in demo_modules():
            module.seed(write=self.stdout.write, quiet=quiet)
