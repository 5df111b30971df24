"""Websocket routes: the live feed at /ws/feed/ (notifications.consumers.FeedConsumer).

The feed authenticates with a bearer token (in the URL or the first message), never with a
cookie, so a page on another site cannot ride a signed-in browser's session. Browsers still send
an Origin; it must be one of ALLOWED_HOSTS or CORS_ALLOWED_ORIGINS. Clients that are not browsers
(scripts, websocat) send none, and are let through to authenticate like any API client.
"""

from __future__ import annotations

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from notifications.consumers import FeedConsumer

websocket_urlpatterns = [path("ws/feed/", FeedConsumer.as_asgi())]


class FeedOriginValidator(OriginValidator):
    """Channels' OriginValidator, letting a handshake without an Origin header through."""

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


def websocket_application():
    """The ASGI application for websockets (helpdesk.asgi mounts it)."""
    allowed = [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS]
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        allowed += ["localhost", "127.0.0.1", "[::1]"]
    return FeedOriginValidator(URLRouter(websocket_urlpatterns), allowed)
