"""Fixtures for the notifications tests: the notifications consumers (and the audit log) as the only
consumers of events, a channel layer of the test's own, and real websocket connections to the feed
through Channels' WebsocketCommunicator.

Websocket tests are plain (sync) tests that run one async scenario in one event loop (`run`); the
database writes inside it go through sync_to_async, and commit (transactional_db), so the events are
delivered right after each write as in production.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from accounts.tokens import issue_pair
from helpdesk import dispatch
from notifications import feed
from notifications.routing import websocket_application

CONSUMERS = ("audit", "notifications.feed", "notifications.inbox", "notifications.email")


@pytest.fixture(autouse=True)
def notifications_consumers_only(monkeypatch):
    """The AI's consumers (routing, the index) load a model: not what these tests are about."""
    monkeypatch.setattr(dispatch, "_consumers", {name: dispatch._consumers[name] for name in CONSUMERS})


@pytest.fixture(autouse=True)
def own_channel_layer(settings):
    """A fresh layer per test; on Redis under a prefix of its own, so that another test run on the same
    server never talks to our sockets."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    if "redis" in layers["default"]["BACKEND"]:
        layers["default"]["CONFIG"]["prefix"] = f"helpdesk-test-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends = {}
    feed.serving_loop = None
    yield
    channel_layers.backends = {}
    feed.serving_loop = None


def run(scenario) -> None:
    """Run an async scenario (a coroutine function) to its end, in one event loop."""
    async_to_sync(scenario)()


def db(function):
    """`await db(f)(...)`: a database call from the scenario (in the test's own thread)."""
    return sync_to_async(function, thread_sensitive=True)


def token_of(user) -> str:
    return issue_pair(user)["access"]


class Socket:
    """A client of /ws/feed/ (over Channels' communicator)."""

    def __init__(self, path: str):
        self.communicator = WebsocketCommunicator(websocket_application(), path)

    @classmethod
    async def open(cls, user=None, *, token: str | None = None, query: str = "", hello: bool = True) -> Socket:
        token = token if token is not None else (token_of(user) if user is not None else "")
        path = "/ws/feed/" + (f"?token={token}{query}" if token else (f"?{query.lstrip('&')}" if query else ""))
        socket = cls(path)
        connected, _ = await socket.communicator.connect()
        assert connected
        if hello and token:
            first = await socket.next()
            assert first["type"] == "hello", first
        return socket

    async def send(self, data: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(data))

    async def next(self, timeout: float = 3) -> dict:
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        message = json.loads(output["text"])
        assert set(message) == {"type", "id", "at", "data"}, message
        return message

    async def until(self, kind: str, timeout: float = 3) -> list[dict]:
        """Every message up to and including the first of type `kind`."""
        seen = []
        while True:
            seen.append(await self.next(timeout))
            if seen[-1]["type"] == kind:
                return seen

    async def quiet(self, timeout: float = 0.3) -> bool:
        """Nothing more arrives within `timeout`."""
        return await self.communicator.receive_nothing(timeout)

    async def closed_with(self, timeout: float = 3) -> int | None:
        output = await self.communicator.receive_output(timeout)
        while output["type"] == "websocket.send":
            output = await self.communicator.receive_output(timeout)
        await self.close()  # the consumer finishes before the loop does (see test_feed_tokens.refused)
        assert output["type"] == "websocket.close", output
        return output.get("code")

    async def close(self) -> None:
        await self.communicator.disconnect()


async def settle() -> None:
    """Let the sockets handle what the channel layer holds for them."""
    await asyncio.sleep(0.05)
