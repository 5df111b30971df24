"""The live feed's socket: `/ws/feed/`. One FeedConsumer per connection.

1. Authenticate: `?token=<access JWT>` in the URL, or, for clients that cannot put it there, a
   first message `{"type": "auth", "token": "..."}` within AUTH_SECONDS. The token is checked as
   the REST API checks it (simplejwt's JWTAuthentication: signature, expiry, active account). A
   missing, bad or expired token closes the socket with 4401; so does the token expiring while
   the socket is open (reconnect with a fresh one and the last id you saw: nothing is lost).
2. Join the channel-layer groups of the user (tickets.policies.groups_of) and say `hello`.
3. Resume: `?last_event_id=<id>` (or `last_event_id` in the auth message, or later a message
   `{"type": "resume", "last_event_id": "..."}`) replays what was missed (notifications.feed.replay),
   then `replayed` (or `resync` outside the window).
4. Forward each event the user may hear (notifications.feed.Rendered.for_groups), once.

The user's own group also carries account changes: a deactivation closes the socket (4401), a
lowered role too (4403), a raised role or a new department re-reads the user and sends `resync`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

from accounts.models import Role, User
from helpdesk import metrics
from notifications import feed
from tickets import policies

logger = logging.getLogger(__name__)

AUTH_SECONDS = 10  # to send the auth message, when the URL has no token
MAX_MESSAGE_CHARS = 4096  # what a client may send (auth, resume, ping): anything longer closes
SEEN_IDS = 2000  # ids remembered per socket, to send each event once
REPLAY_EVERY_SECONDS = 1.0  # a replay reads up to FEED_REPLAY_MAX_EVENTS rows: not in a loop


def authenticate(raw: str) -> tuple[User, float] | None:
    """The active user a valid access token names, and when it expires (a Unix time); None when the
    REST API would answer 401."""
    auth = JWTAuthentication()
    try:
        token = auth.get_validated_token(raw.encode())
        user = auth.get_user(token)
    except (InvalidToken, AuthenticationFailed, TokenError):
        return None
    assert isinstance(user, User)
    return user, float(token["exp"])


def fresh_user(user_id: str) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).first()


class FeedConsumer(AsyncWebsocketConsumer):
    user: User | None = None
    counted = False  # in helpdesk_websocket_connections (helpdesk.metrics) since the handshake

    async def connect(self) -> None:
        feed.serving_loop = asyncio.get_running_loop()
        self.user = None
        self.joined: set[str] = set()
        self.mine: frozenset[str] = frozenset()
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.timers: list[asyncio.TimerHandle] = []
        self.last_replay = -REPLAY_EVERY_SECONDS
        # Accept first: a close code (4401) only reaches a client after the handshake.
        await self.accept()
        self.counted = True
        metrics.WEBSOCKET_CONNECTIONS.inc()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        token = (query.get("token") or [""])[0]
        if token:
            await self.sign_in(token, last_event_id=(query.get("last_event_id") or [""])[0])
        else:
            self.later(AUTH_SECONDS, CLOSE_IF_ANONYMOUS)

    # --- From the client ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None or text_data is None:
            await self.close(code=1003)  # text (JSON) only
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self.close(code=1009)  # too big
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            data = None
        kind = data.get("type") if isinstance(data, dict) else None
        if self.user is None:
            token = data.get("token") if kind == "auth" and isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                await self.close(code=feed.CLOSE_UNAUTHENTICATED)
                return
            last = data.get("last_event_id") if isinstance(data, dict) else ""
            await self.sign_in(token, last_event_id=last if isinstance(last, str) else "")
            return
        if kind == "resume" and isinstance(data, dict) and isinstance(data.get("last_event_id"), str):
            if time.monotonic() - self.last_replay < REPLAY_EVERY_SECONDS:
                await self.send(
                    text_data=feed.message(feed.ERROR, data={"code": "slow_down", "detail": "One resume a second."})
                )
                return
            await self.replay(data["last_event_id"])
        elif kind == "ping":
            await self.send(text_data=feed.message(feed.PONG))
        else:
            await self.send(
                text_data=feed.message(
                    feed.ERROR,
                    data={"code": "bad_message", "detail": 'Send {"type": "resume", "last_event_id": ...} or ping.'},
                )
            )

    async def sign_in(self, token: str, *, last_event_id: str) -> None:
        found = await database_sync_to_async(authenticate)(token)
        if found is None:
            await self.close(code=feed.CLOSE_UNAUTHENTICATED)
            return
        user, expires = found
        try:
            # The user's own group first: an account change committed from now on reaches this
            # socket even while the rest of the sign-in runs.
            await self.join({policies.user_group(user.pk)})
            user = await database_sync_to_async(fresh_user)(user.pk)
            if user is None:
                await self.close(code=feed.CLOSE_UNAUTHENTICATED)
                return
            self.user = user
            await self.regroup()
        except Exception as error:  # the channel layer (Redis) does not answer: come back later
            logger.warning("Feed: could not join the channel layer (%s: %s)", type(error).__name__, error)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.later(max(expires - timezone.now().timestamp(), 0), CLOSE_EXPIRED)
        token_expires = datetime.fromtimestamp(expires, tz=UTC)
        await self.send(
            text_data=feed.message(
                feed.HELLO,
                data={
                    "user_id": user.pk,
                    "role": Role(user.role).api_name,
                    "token_expires_at": token_expires.isoformat().replace("+00:00", "Z"),
                },
            )
        )
        if last_event_id:
            await self.replay(last_event_id)

    async def replay(self, last_event_id: str) -> None:
        assert self.user is not None
        self.last_replay = time.monotonic()
        found = await database_sync_to_async(feed.replay)(user=self.user, last_event_id=last_event_id)
        if found.resync:
            await self.send(text_data=feed.message(feed.RESYNC, data={"reason": found.resync}))
            return
        sent = 0
        for text in found.texts:
            message_id = json.loads(text)["id"]
            if self.remember(message_id):
                await self.send(text_data=text)
                sent += 1
        await self.send(text_data=feed.message(feed.REPLAYED, data={"count": sent}))

    # --- From the channel layer (notifications.feed) -----------------------------------------

    async def feed_ticket(self, event: dict[str, Any]) -> None:
        if self.user is None:
            return
        rendered = feed.Rendered(
            event_id=event["id"],
            text=event["text"],
            removed_text=event["removed_text"],
            audience=policies.Audience(
                groups=frozenset(event["groups"]),
                visible=frozenset(event["visible"]),
                removed=frozenset(event["removed"]),
            ),
        )
        text = rendered.for_groups(self.mine)
        if text is not None and self.remember(event["id"]):
            await self.send(text_data=text)

    async def feed_notification(self, event: dict[str, Any]) -> None:
        if self.user is not None and event["user"] == self.user.pk and self.remember(event["id"]):
            await self.send(text_data=event["text"])

    async def feed_account(self, event: dict[str, Any]) -> None:
        if self.user is None or event["user"] != self.user.pk:
            return
        if event["action"] == "close":
            await self.close(code=event["code"])
            return
        user = await database_sync_to_async(fresh_user)(self.user.pk)
        if user is None:
            await self.close(code=feed.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        try:
            await self.regroup()
        except Exception as error:
            logger.warning("Feed: could not change groups (%s: %s)", type(error).__name__, error)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        await self.send(text_data=feed.message(feed.RESYNC, data={"reason": "access_changed"}))

    # --- Plumbing ----------------------------------------------------------------------------

    async def regroup(self) -> None:
        assert self.user is not None
        self.mine = policies.groups_of(self.user)
        for group in self.joined - self.mine:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.join(self.mine - self.joined)
        self.joined = set(self.mine)

    async def join(self, groups: set[str] | frozenset[str]) -> None:
        for group in sorted(groups):
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined |= groups

    def remember(self, message_id: str) -> bool:
        """True the first time an id comes by on this socket."""
        if message_id in self.seen:
            return False
        self.seen[message_id] = None
        if len(self.seen) > SEEN_IDS:
            self.seen.popitem(last=False)
        return True

    def later(self, seconds: float, check: str) -> None:
        loop = asyncio.get_running_loop()
        self.timers.append(loop.call_later(seconds, lambda: asyncio.ensure_future(self.timeout(check))))

    async def timeout(self, check: str) -> None:
        if check == CLOSE_IF_ANONYMOUS and self.user is not None:
            return
        await self.close(code=feed.CLOSE_UNAUTHENTICATED)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            metrics.WEBSOCKET_CONNECTIONS.dec()
        for timer in self.timers:
            timer.cancel()
        joined, self.joined = self.joined, set()
        for group in joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # the layer is down; its group entries expire on their own
                logger.info("Feed: could not leave group %s", group)


CLOSE_TRY_AGAIN = 1013  # the channel layer does not answer (RFC 6455 "try again later")
CLOSE_IF_ANONYMOUS = "anonymous"  # the auth message never came
CLOSE_EXPIRED = "expired"  # the access token ran out
