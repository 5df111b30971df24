"""With REDIS_URL set: cache, rate limits and the channel layer really live in Redis."""

import os

import pytest
import redis
from channels.layers import get_channel_layer
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from tests.factories import UserFactory
from tests.helpers import assert_problem, requires_redis

pytestmark = [requires_redis, pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def server():
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def test_cache_and_channel_layer_are_redis(server):
    assert isinstance(caches["default"], RedisCache)  # helpdesk.cache.FailSoftRedisCache
    caches["default"].ping()  # Redis itself answers (not the per-process fallback)
    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    cache.set("probe", "value")
    assert any(b"probe" in key for key in server.keys("*helpdesk-test*"))


def test_login_failures_are_counted_in_redis(api, server):
    UserFactory(email="ada@example.com")
    before = set(server.keys("*"))
    for _ in range(5):
        api.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": "nope"}, format="json")
    assert set(server.keys("*")) - before, "no rate-limit counters were written to Redis"
    # A different process reading the same Redis would see the same counters: drop ours.
    cache.close()
    response = api.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": "nope"}, format="json")
    assert_problem(response, 429)


def test_readyz_checks_redis_cache_and_channel_layer(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert {name: checks[name] for name in ("database", "migrations", "cache", "channel_layer")} == dict.fromkeys(
        ("database", "migrations", "cache", "channel_layer"), "ok"
    )
