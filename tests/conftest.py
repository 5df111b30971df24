"""Shared fixtures: people of every role, and API clients signed in as them with real JWTs.

Also the run's guard on the checkout: tests write only to their temporary directories (tmp_path,
and the run's own VAR_DIR that helpdesk/settings/test.py makes), never to the checkout's var/,
which holds a developer's database, models and uploads. The run fails if var/ changed.

And what makes the suite fast without testing less: the AI's event consumers (routing, the vector
index: they embed and write Chroma) hear a test's events only when it is marked `ai_consumers`; the
run embeds on the ONNX export production serves with, exported once per machine (tests/onnx_model.py);
and under pytest-xdist each worker empties only its own part of a shared Redis cache.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.files.storage import storages
from rest_framework.test import APIClient

from helpdesk import dispatch
from helpdesk.cache import UNAVAILABLE
from tests.factories import hardware_department, network_department, people_of
from tests.helpers import ROOT, bearer_client, stored_keys
from tests.onnx_model import ensure_exported

CHECKOUT_VAR = ROOT / "var"


# --- The checkout's var/ stays as it was ---------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder under `folder` (itself included, symlinks not followed):
    relative path -> (kind, size, mtime in ns). Empty if the folder does not exist."""
    if not folder.is_dir():
        return {}
    found = {}
    for parent, dirs, files in os.walk(folder):
        for name in [".", *dirs, *files]:
            path = Path(parent, name)
            try:
                stat = path.lstat()
            except FileNotFoundError:  # removed while we walked
                continue
            kind = "folder" if path.is_dir() and not path.is_symlink() else "file"
            found[str(path.relative_to(folder))] = (kind, stat.st_size if kind == "file" else 0, stat.st_mtime_ns)
    return found


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """Human-readable lines, one per path that appeared, disappeared or was written to."""
    lines = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        shown = "var/" if path == "." else f"var/{path}"
        if old is None:
            lines.append(f"  added    {shown}" + (f" ({new[1]} bytes)" if new[0] == "file" else "/"))
        elif new is None:
            lines.append(f"  removed  {shown}")
        elif old != new:
            detail = f" ({old[1]} -> {new[1]} bytes)" if new[0] == "file" and old[1] != new[1] else ""
            lines.append(f"  written  {shown}{detail}")
    return lines


# Taken when pytest loads this file, before any test runs.
VAR_BEFORE = snapshot(CHECKOUT_VAR)
VAR_CHANGES = pytest.StashKey[list[str]]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """After every fixture's teardown (the e2e server's too): compare var/ with the start.
    (The run's own VAR_DIR is removed when the process exits: helpdesk/settings/test.py.)"""
    changed = changes(VAR_BEFORE, snapshot(CHECKOUT_VAR))
    if changed:
        session.config.stash[VAR_CHANGES] = changed
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    changed = config.stash.get(VAR_CHANGES, None)
    if changed:
        terminalreporter.section("the checkout's var/ changed", sep="=", red=True, bold=True)
        terminalreporter.line(
            f"The test run wrote to {CHECKOUT_VAR}, which holds a developer's own data. Tests write only\n"
            "to their temporary directories (tmp_path; settings.VAR_DIR, a fresh folder per run). Changes:",
            red=True,
        )
        for line in changed:
            terminalreporter.line(line, red=True)
        terminalreporter.line(
            "Find the test that writes there (a subprocess given VAR_DIR=<checkout>/var, a path built from\n"
            "the checkout, ...). If a server from `make run` used var/ during the run, that explains it: run again.",
            red=True,
        )


# --- Fixtures ------------------------------------------------------------------------------------


def pytest_addoption(parser, pluginmanager):
    """pyproject.toml's addopts run the suite on pytest-xdist (-n auto --dist loadgroup). Without the
    plugin (`-p no:xdist`, to debug one test in one process) its options are accepted and ignored."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist", "pytest-xdist is not loaded (-p no:xdist): these options do nothing")
        # `_addoption`, as xdist itself registers -n: pytest reserves lowercase short options for plugins.
        group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")


def pytest_configure(config):
    """The ONNX export the run embeds with (settings.AI_ONNX_MODEL_DIR): made before the first test,
    once per machine (in the controller first under xdist, so the workers find it). A folder every
    process of the run shares (HELPDESK_TEST_RUN_DIR: the prepared databases of
    tests/helpdesk/servers.py), made before the workers start, so they inherit it. With Redis, the
    run's database is emptied once, before the workers start."""
    ensure_exported(settings.AI_ONNX_MODEL_DIR, settings.AI_EMBEDDING_MODEL)
    if not os.environ.get("PYTEST_XDIST_WORKER") and not os.environ.get("HELPDESK_TEST_RUN_DIR"):
        run_dir = tempfile.mkdtemp(prefix="helpdesk-test-run-")
        os.environ["HELPDESK_TEST_RUN_DIR"] = run_dir
        config.add_cleanup(lambda: shutil.rmtree(run_dir, ignore_errors=True))
    if not os.environ.get("PYTEST_XDIST_WORKER") and isinstance(caches["default"], RedisCache):
        # The run's Redis database starts empty, as it did when every test flushed it: keys that
        # servers of an earlier run wrote under the production prefix (rate limits) go too.
        with contextlib.suppress(*UNAVAILABLE):
            caches["default"]._cache.get_client(write=True).flushdb()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """How xdist hands tests to workers (with `--dist loadgroup`, pyproject.toml's addopts): one test
    at a time, in pytest-django's order (tests that flush the database last, so no flush removes the
    rows migrations made before another test needs them), except for the modules `xdist_scope`
    keeps on one worker. (xdist's own grouping by the xdist_group marker rewrites item._nodeid,
    which pytest 9.2 no longer reads: it does not group.)"""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return Scheduling(config, log)


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test belongs to: the test alone, or with its whole module when the module
    makes something once for all its tests (a module-scoped fixture, the e2e server of the session
    fixture live_server_url: every module that uses it or a demo server goes to one worker, which
    starts it once and makes the demo database once) or
    starts processes (its slow tests then start first: xdist hands out the biggest units first)."""
    module = nodeid.split("::", 1)[0]
    kind = module_kind(module)
    if kind == "live server":
        return "e2e live server"
    return module if kind == "shared" else nodeid


@functools.cache
def module_kind(module: str) -> str:
    path = ROOT / module
    if path.suffix != ".py" or not path.is_file():
        return ""
    source = path.read_text(encoding="utf-8")
    if "transaction=True" in source or "transactional_db" in source:
        return ""  # flushes the database: keeps its place at the end of pytest-django's order
    if "live_server_url" in source or DEMO_SERVER.search(source):
        return "live server"
    if STARTS_PROCESSES.search(source) or MODULE_FIXTURE.search(source):
        return "shared"
    for folder in path.relative_to(ROOT).parents:  # a module-scoped fixture of a conftest.py it uses
        conftest = ROOT / folder / "conftest.py"
        names = MODULE_FIXTURE.findall(conftest.read_text(encoding="utf-8")) if conftest.is_file() else []
        if any(re.search(rf"\b{name}\b", source) for name in names):
            return "shared"
    return ""


STARTS_PROCESSES = re.compile(r"\bsubprocess\b|\bmultiprocessing\b|tests\.helpdesk\.servers|\blive_server\(")
DEMO_SERVER = re.compile(r'prepare_var_dir\([^)]*"demo"\)')  # the demo database, made once per run: one worker
MODULE_FIXTURE = re.compile(r'@pytest\.fixture\(scope="module"\)\s*\ndef (\w+)')


def clear_cache() -> None:
    """Empty the default cache. On Redis only this process's keys (its KEY_PREFIX: one per xdist
    worker, helpdesk/settings/test.py) are deleted: RedisCache.clear() would flush the database,
    and with it the keys of the other workers' running tests."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        cache.clear()
        return
    fallback = getattr(backend, "_fallback", None)  # helpdesk.cache.FailSoftRedisCache's own memory
    if fallback is not None:
        fallback.clear()
    try:
        server = backend._cache.get_client(write=True)
        keys = list(server.scan_iter(match=f"{backend.key_prefix}:*", count=1000))
        if keys:
            server.delete(*keys)
    except UNAVAILABLE:  # Redis does not answer (a fail-soft test): the memory fallback is what it uses
        pass


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and throttles live in the cache: each test starts from zero. SLA targets
    are also held per process for a few seconds: forgotten too."""
    from tickets import sla

    clear_cache()
    sla.forget_policies()
    yield
    clear_cache()
    sla.forget_policies()


# The AI's consumers of domain events (ai_assist/subscribers.py): they route new tickets and keep the
# vector index, so they embed text and write Chroma.
AI_CONSUMERS = ("ai.routing", "ai.index.tickets", "ai.index.kb")


@pytest.fixture
def ai_consumers():
    """Asked for by a test or fixture whose events the AI's consumers must hear (as the marker)."""


@pytest.fixture(autouse=True)
def _ai_consumers_unless_asked(request, monkeypatch):
    """The AI's consumers hear a test's events only when it asks for them, with the `ai_consumers`
    marker or fixture (a test about routing or the index); in any other test, delivering an event
    skips them. Every other consumer (audit, notifications, corrections) runs as in production
    whenever the test delivers."""
    asked = request.node.get_closest_marker("ai_consumers") is not None or "ai_consumers" in request.fixturenames
    if not asked:
        for name in AI_CONSUMERS:
            monkeypatch.delitem(dispatch._consumers, name, raising=False)


@pytest.fixture(autouse=True)
def _empty_attachments_storage():
    """Uploads are kept in memory for the whole run (settings.STORAGES): each test starts with none."""
    for key in stored_keys():
        storages["attachments"].delete(key)


@pytest.fixture
def department(db):
    return network_department()


@pytest.fixture
def other_department(db):
    return hardware_department()


@pytest.fixture
def people(db, department, other_department) -> dict:
    return people_of(department, other_department)


@pytest.fixture
def client_for(people):
    """client_for("agent") -> an APIClient with that person's access token ("anonymous": none)."""

    def make(who: str) -> APIClient:
        return bearer_client(None if who == "anonymous" else people[who])

    return make


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(scope="session")
def schema(django_db_blocker) -> dict:
    """The OpenAPI document as the API serves it (/api/schema/), parsed: made once per process (3 s)."""
    import yaml
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


@pytest.fixture
def one_rate_window():
    """The rate limits count in fixed windows (django-ratelimit's): on a slow machine a test's
    requests (each sign-in a password hash) could straddle a window's end and start counting
    again. The clock stands still."""
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC), tick=False):
        yield
