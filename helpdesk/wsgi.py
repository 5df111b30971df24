"""WSGI entry point, for serving the REST API with a WSGI server beside the ASGI one if measured faster."""

import os

from django.core.wsgi import get_wsgi_application

from helpdesk.startup import configured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.main")
application = configured(get_wsgi_application)
