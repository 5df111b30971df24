"""The process's Chroma client, its collections, and the generation stamp of each collection.

- Client: `PersistentClient` under VAR_DIR/ai/chroma, or `HttpClient` when CHROMA_URL is set;
  telemetry off. Collections are in cosine space and always get our own embeddings (never
  Chroma's default embedding function: it downloads a model).
- Generation stamp, one per collection: a fresh random token written after every write. Each
  process keeps an in-memory snapshot of a collection (ai_assist.retrieval.corpus) and re-reads it
  when the stamp differs. With the embedded index the stamp is a file beside it, so every process
  of the machine (the server, `import_tickets` in another terminal) sees the others' writes even
  without a shared cache; with a Chroma server it lives in the shared cache (Redis).
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_client = None
_client_lock = threading.Lock()


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
                    _client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    return _client


def reset_client() -> None:
    """Forget the client (tests point VAR_DIR or CHROMA_URL elsewhere)."""
    global _client
    _client = None


def _reopen_embedded() -> None:
    global _client
    from chromadb.api.client import SharedSystemClient

    with _client_lock:
        SharedSystemClient.clear_system_cache()
        _client = None


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


def drop(name: str) -> None:
    try:
        client().delete_collection(name)
    except Exception:  # absent already: nothing to drop
        logger.debug("collection %s was not there", name)
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
