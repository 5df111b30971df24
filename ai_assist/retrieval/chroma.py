"""The process's Chroma client, its collections, and how a process learns of other processes' writes.

- Client: `PersistentClient` under VAR_DIR/ai/chroma, or `HttpClient` when CHROMA_URL is set;
  telemetry off. Collections are in cosine space and always get our own embeddings (never
  Chroma's default embedding function: it downloads a model).
- Searched collections (tickets: `searched_collection`) are queried through Chroma's own HNSW
  index, with `ef_search` set in the collection's configuration (QUERY_EF, decision 0033). The
  handle is kept per process; a failed call is retried once with a fresh one.
- Other processes' writes. A Chroma server serves every process's writes to every query at once.
  The embedded index does not: each process holds the HNSW graph it loaded, and another process's
  later writes are in the files but not in that graph (measured with chromadb 1.5.9: never seen,
  and a get of the new id fails with "Error finding id"). So every write to a searched collection
  appends one byte to a write log beside the index (`<name>.writes`, O_APPEND); before a query,
  a process compares the log's size with the size it opened at plus its own appends, and when
  another process wrote, it reopens its embedded client (the graph is loaded again from disk, in
  Chroma's own memory; at most every REOPEN_SECONDS). One stat() per query.
- Generation stamp (articles only, ai_assist.retrieval.corpus): a fresh random token written after
  every write; a process keeps an in-memory snapshot of the article collection and re-reads it
  when the stamp differs. With the embedded index the stamp is a file beside it; with a Chroma
  server it lives in the shared cache (Redis).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_client = None
_client_lock = threading.Lock()

# HNSW of searched collections (decision 0033, measured at 100k in docs/ai.md): 32 links per node and
# ef_construction 200 when the collection is made (16 and 100, Chroma's defaults, left a few queries
# of clustered data with none of their 50 nearest), ef_search 200 on every query.
QUERY_EF = 200
BUILD = {"space": "cosine", "max_neighbors": 32, "ef_construction": 200}
REOPEN_SECONDS = 1.0  # at most one reopen per second: other processes' writes seen within about 1 s

# name -> [write-log size when this process's client was opened, own appends since]
_write_logs: dict[str, list[int]] = {}
_handles: dict[str, object] = {}  # name -> collection handle of the current client (searched collections)
_last_reopen = 0.0


def client():
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                import chromadb
                from chromadb.config import Settings

                chroma_settings = Settings(anonymized_telemetry=False)
                if settings.CHROMA_URL:
                    url = urlsplit(settings.CHROMA_URL)
                    _client = chromadb.HttpClient(
                        host=url.hostname or "localhost",
                        port=url.port or (443 if url.scheme == "https" else 8000),
                        ssl=url.scheme == "https",
                        settings=chroma_settings,
                    )
                else:
                    path = settings.AI_DIR / "chroma"
                    path.mkdir(parents=True, exist_ok=True)
                    _opened()  # before the client: a write during the opening is caught by the next check
                    _client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    return _client


def reset_client() -> None:
    """Forget the client (tests point VAR_DIR or CHROMA_URL elsewhere)."""
    global _client
    _client = None
    _handles.clear()
    _write_logs.clear()


def _reopen_embedded() -> None:
    """Drop the embedded client and what it loaded; the next call opens the index again. The old
    client's graph is freed now, not whenever the cyclic garbage collector runs: measured at 100k
    tickets, each reopen otherwise kept another 210 MB until a collection."""
    global _client
    from chromadb.api.client import SharedSystemClient

    with _client_lock:
        old = list(SharedSystemClient._identifier_to_system.values())
        SharedSystemClient.clear_system_cache()
        _client = None
        _handles.clear()
        for system in old:
            try:
                system.stop()
            except Exception:  # already stopped, or a component that cannot: it goes with the collection
                logger.debug("stopping an old Chroma system failed", exc_info=True)
        del old
        gc.collect()


# --- searched collections (tickets) ------------------------------------------------------------


def _write_log(name: str) -> Path | None:
    return None if settings.CHROMA_URL else settings.AI_DIR / "chroma" / f"{name}.writes"


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _opened() -> None:
    """Note the write logs' sizes as this process's client opens the index."""
    folder = settings.AI_DIR / "chroma"
    _write_logs.clear()
    for path in folder.glob("*.writes"):
        _write_logs[path.name.removesuffix(".writes")] = [_log_size(path), 0]


def note_write(name: str) -> None:
    """Say that this process wrote collection `name` (call after every write to a searched one)."""
    path = _write_log(name)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, b".")
    finally:
        os.close(fd)
    _write_logs.setdefault(name, [0, 0])[1] += 1


def _fresh(name: str) -> None:
    """Embedded index: reopen when another process wrote `name` since this process's client opened."""
    global _last_reopen
    path = _write_log(name)
    if path is None or _client is None:
        return
    size = _log_size(path)
    opened, own = _write_logs.setdefault(name, [size, 0])
    if size == opened + own:
        return
    now = time.monotonic()
    if now - _last_reopen < REOPEN_SECONDS:
        return  # the reopen of a moment ago; this write is caught by a query a moment later
    _last_reopen = now
    logger.info("Reopening the embedded Chroma index: another process wrote %s", name)
    _reopen_embedded()


def searched_collection(name: str, *, log: str | None = None):
    """The handle of a collection that is queried (HNSW, ef_search = QUERY_EF): current with every
    process's writes (see the module docstring). `log`: the write log that says so, when the
    collection is one of a family written together (the ticket collection's department
    partitions share the ticket collection's log); default its own."""
    _fresh(log or name)
    handle = _handles.get(name)
    if handle is None:
        handle = client().get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {**BUILD, "ef_search": QUERY_EF}}
        )
        hnsw = (handle.configuration_json or {}).get("hnsw") or {}
        if hnsw.get("ef_search") != QUERY_EF:  # made before ef_search was set, or with another value
            handle.modify(configuration={"hnsw": {"ef_search": QUERY_EF}})
            handle = client().get_collection(name, embedding_function=None)
        _handles[name] = handle
    return handle


def call(name: str, action: Callable, *, log: str | None = None):
    """`action(collection)` on a searched collection, retried once with a fresh handle (and, on the
    embedded index, a reopened client) when it fails: the collection was dropped and made again by
    another process (`reindex`), or the embedded client holds a graph older than the files."""
    try:
        return action(searched_collection(name, log=log))
    except Exception:
        _handles.pop(name, None)
        if not settings.CHROMA_URL:
            logger.info("Reopening the embedded Chroma index after a failed call on %s", name)
            _reopen_embedded()
        return action(searched_collection(name, log=log))


def names(prefix: str) -> list[str]:
    """The names of the collections that start with `prefix` (a family of partitions)."""
    return sorted(found.name for found in client().list_collections() if found.name.startswith(prefix))


def collection(name: str):
    return client().get_or_create_collection(name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})


READ_PAGE = 5_000  # records per read: one unpaged read of 200,000 exceeds SQLite's variable limit


def _read_pages(name: str, include: list[str]) -> dict:
    found: dict = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        page = collection(name).get(include=include, limit=READ_PAGE, offset=offset)
        ids = list(page["ids"])
        found["ids"] += ids
        for key in include:
            values = page.get(key)
            if values is None or not len(values):
                continue
            if key == "embeddings":
                found[key].append(values)  # one array per page, joined below
            else:
                found[key].extend(values)
        offset += len(ids)
        if len(ids) < READ_PAGE:
            break
    if "embeddings" in include:
        parts = [np.asarray(part, dtype=np.float32) for part in found["embeddings"]]
        found["embeddings"] = np.concatenate(parts) if parts else None
    return found


def read_all(name: str, include: list[str]) -> dict:
    """Every record of a collection (ids, and what `include` names), read page by page; the
    embeddings as one float32 matrix. A write between two pages bumps the generation stamp after
    it, so the next snapshot() reads the collection again."""
    try:
        return _read_pages(name, include)
    except Exception:
        if settings.CHROMA_URL:
            raise
        # Another process wrote the embedded index: this process's Chroma caches are stale
        # ("Error finding id"); reopen it and read again.
        logger.info("Reopening the embedded Chroma index after another process wrote it")
        _reopen_embedded()
        return _read_pages(name, include)


def drop(name: str, *, stamp: bool = True) -> None:
    """Delete a collection; `stamp`: bump its generation stamp (collections read as snapshots)."""
    try:
        client().delete_collection(name)
    except Exception:  # absent already: nothing to drop
        logger.debug("collection %s was not there", name)
    _handles.pop(name, None)
    if stamp:
        bump_generation(name)


def _cache_key(name: str) -> str:
    return f"ai:index:{name}:generation"


def _generation_file(name: str) -> Path | None:
    return None if settings.CHROMA_URL else settings.AI_DIR / "chroma" / f"{name}.generation"


def bump_generation(name: str) -> None:
    """Say that collection `name` changed."""
    # A fresh token, not a counter: a flushed cache can never make an old snapshot look current.
    token = uuid.uuid4().hex
    path = _generation_file(name)
    if path is None:
        cache.set(_cache_key(name), token, timeout=None)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{token}.tmp")
    tmp.write_text(token)
    tmp.replace(path)


def generation(name: str) -> str:
    """The current stamp of collection `name`: equal stamps, same contents."""
    path = _generation_file(name)
    if path is not None:
        try:
            return path.read_text()
        except FileNotFoundError:
            bump_generation(name)
            return path.read_text()
    current = cache.get(_cache_key(name))
    if current is None:  # never written, or evicted: start a new generation (everyone re-reads once)
        cache.add(_cache_key(name), uuid.uuid4().hex, timeout=None)
        current = cache.get(_cache_key(name))
    return current
