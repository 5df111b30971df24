"""ASGI entry point (`helpdesk.asgi:application`): HTTP through Django, websockets through Channels,
and the lifespan protocol. The periodic jobs of the embedded default start with the lifespan where
the server speaks it (uvicorn), else with the first connection (daphne, runserver): helpdesk.jobs."""

import os

from django.core.asgi import get_asgi_application

from helpdesk.startup import configured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.main")
django_asgi_app = configured(get_asgi_application)  # set up Django before importing consumers

from channels.routing import ProtocolTypeRouter  # noqa: E402

from helpdesk import jobs, startup  # noqa: E402
from helpdesk.asgi_limits import BodyLimitMiddleware  # noqa: E402
from notifications.routing import websocket_application  # noqa: E402

configured(startup.check_serving)  # what serving needs (the embedding model): one line, exit 1
application = jobs.asgi_starting_jobs(
    ProtocolTypeRouter(
        {
            "http": BodyLimitMiddleware(django_asgi_app),  # 413 before an oversized body is read
            # The live feed (/ws/feed/): bearer-token auth in the consumer, browsers' Origin checked.
            "websocket": websocket_application(),
        }
    )
)
