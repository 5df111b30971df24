"""WSGI entry point (`helpdesk.wsgi:application`, gunicorn: decision 0009). The periodic jobs of the
embedded default start in each gunicorn worker (helpdesk/gunicorn_conf.py), else with the first
request: helpdesk.jobs."""

import os

from django.core.wsgi import get_wsgi_application

from helpdesk.startup import configured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.main")
django_wsgi_app = configured(get_wsgi_application)

from helpdesk import jobs, startup  # noqa: E402

configured(startup.check_serving)  # what serving needs (the embedding model): one line, exit 1
application = jobs.wsgi_starting_jobs(django_wsgi_app)
