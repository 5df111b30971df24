"""Websocket routes. The agents' live feed (/ws/feed/) arrives with the notifications issue."""

websocket_urlpatterns: list = []
