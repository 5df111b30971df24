"""Production settings plus the bench-only baseline app (bench.plain) and its URL.

Used by bench/ticket_list.py for migrate, seeding and the server under test; everything else
(middleware, DRF defaults, databases from DATABASE_URL, DEBUG from the environment) is
helpdesk.settings.main unchanged.
"""

import os

from helpdesk.settings.main import *  # noqa: F403
from helpdesk.settings.main import CACHES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.plain"]
ROOT_URLCONF = "bench.urls"

# The servers of every size share one Redis: each installation keeps its own keys (cached counts,
# the data generation, throttles), as separate deployments would.
if os.environ.get("BENCH_CACHE_PREFIX"):
    CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]
