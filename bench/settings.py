"""Production settings plus the bench-only baseline app (bench.plain) and its URL.

Used by bench/ticket_list.py for migrate, seeding and the server under test; everything else
(middleware, DRF defaults, databases from DATABASE_URL, DEBUG from the environment) is
helpdesk.settings.main unchanged.
"""

from helpdesk.settings.main import *  # noqa: F403
from helpdesk.settings.main import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.plain"]
ROOT_URLCONF = "bench.urls"
