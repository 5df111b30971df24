"""Domain events: services publish what happened; audit, notifications and AI subscribe.

In-process and synchronous for now: a subscriber is called after the write it describes. The
outbox (notifications issue) will persist events so that other workers receive them too.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _subscribers[name]:
        _subscribers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _subscribers[name]:
        _subscribers[name].remove(handler)


def publish(name: str, **payload) -> None:
    """Tell every subscriber; one failing subscriber never undoes the write or stops the others."""
    for handler in list(_subscribers[name]):
        try:
            handler(name=name, **payload)
        except Exception:
            logger.exception("Subscriber %r failed on event %s", handler, name)
