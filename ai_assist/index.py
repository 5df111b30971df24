"""The vector index: Chroma, a store derived from the database (`manage.py reindex` rebuilds it).

- Client: `PersistentClient` under VAR_DIR/ai/chroma, or `HttpClient` when CHROMA_URL is set;
  telemetry off; our own embeddings always (never Chroma's default embedding function).
- Collections: `helpdesk_tickets` (one vector per ticket: title, description and public replies,
  never internal notes; metadata department, requester, assignee, status, visibility, label) and
  `helpdesk_kb` (article chunks from LangChain's splitter; metadata article id, version,
  visibility, category).
- Search never asks Chroma to filter (a `where` filter costs about 100 ms at 100k vectors): each
  process keeps a `TicketCorpus` read from the collection (vectors, texts, labels) and ranks
  exactly with numpy over the rows the caller may see, computed from the database by
  tickets.policies.visible_tickets before ranking. Writes bump a generation number in the shared
  cache; a process whose corpus is of another generation re-reads it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.core.cache import cache

from ai_assist import embeddings
from ai_assist.ml.similar import LEVEL_SEPARATOR, UNKNOWN
from ai_assist.ml.text import ticket_text

logger = logging.getLogger(__name__)

TICKETS = "helpdesk_tickets"
KB = "helpdesk_kb"
GENERATION_KEY = "ai:index:tickets:generation"
MAX_DOCUMENT_CHARS = 8_000  # the embedder reads about 256 tokens; BM25 a little more

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


def _reopen_embedded() -> None:
    global _client
    from chromadb.api.client import SharedSystemClient

    with _client_lock:
        SharedSystemClient.clear_system_cache()
        _client = None


def reset_client() -> None:
    """Forget the client and corpus (tests point VAR_DIR elsewhere)."""
    global _client, _corpus
    _client = None
    _corpus = None


def collection(name: str):
    return client().get_or_create_collection(name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})


def drop(name: str) -> None:
    try:
        client().delete_collection(name)
    except Exception:  # absent already: nothing to drop
        logger.debug("collection %s was not there", name)
    bump_generation()


# --- tickets ---------------------------------------------------------------------------------


def ticket_label(department_id: str | None, category: str) -> str:
    """The fine label of a ticket: department, then the parts of its category ("2/21")."""
    if not department_id:
        return UNKNOWN
    parts = [part.strip() for part in (category or "").replace(LEVEL_SEPARATOR, "/").split("/") if part.strip()]
    return LEVEL_SEPARATOR.join([department_id, *parts])


def ticket_document(ticket) -> str:
    # public_text: title, description and public replies (internal notes are never indexed).
    return ticket_text("", ticket.public_text or f"{ticket.title}\n{ticket.description}")[:MAX_DOCUMENT_CHARS]


def ticket_metadata(ticket) -> dict:
    return {
        "department": ticket.department_id or "",
        "requester": ticket.requester_id or "",
        "assignee": ticket.assignee_id or "",
        "status": ticket.status,
        "visibility": "triage" if ticket.department_id is None else "department",
        "label": ticket_label(ticket.department_id, ticket.category),
        "title": ticket.title[:200],
    }


_deferred: list[set[str]] = []


@contextmanager
def deferred_indexing(progress=None):
    """Collect ticket ids instead of indexing each one; index them in batches on exit
    (import_tickets: one batched embedding instead of thousands of single ones). `progress`
    wraps the batches (a tqdm bar in commands)."""
    ids: set[str] = set()
    _deferred.append(ids)
    try:
        yield ids
    finally:
        _deferred.remove(ids)
        if ids:
            index_ticket_ids(sorted(ids), progress=progress)


def deferring() -> bool:
    return bool(_deferred)


def ticket_changed(ticket) -> None:
    """Event hook: (re)index one ticket, or drop it when deleted."""
    if _deferred:
        _deferred[-1].add(ticket.pk)
        return
    if ticket.deleted_at is not None:
        delete_tickets([ticket.pk])
    else:
        upsert_tickets([ticket])


def index_ticket_ids(ids: Sequence[str], *, batch: int = 256, progress=None) -> int:
    from tickets.models import Ticket

    done = 0
    starts = range(0, len(ids), batch)
    for start in progress(starts) if progress else starts:
        chunk = list(Ticket.objects.filter(pk__in=ids[start : start + batch], deleted_at__isnull=True))
        upsert_tickets(chunk)
        done += len(chunk)
    return done


def upsert_tickets(tickets: Sequence, *, vectors: np.ndarray | None = None) -> None:
    if not tickets:
        return
    documents = [ticket_document(ticket) for ticket in tickets]
    if vectors is None:
        vectors = embeddings.embedder().embed(documents)
    collection(TICKETS).upsert(
        ids=[ticket.pk for ticket in tickets],
        embeddings=np.asarray(vectors, dtype=np.float32),
        documents=documents,
        metadatas=[ticket_metadata(ticket) for ticket in tickets],
    )
    bump_generation()


def delete_tickets(ids: Sequence[str]) -> None:
    if ids:
        collection(TICKETS).delete(ids=list(ids))
        bump_generation()


def _generation_file():
    """With the embedded index, the generation lives beside it, so that every process of the
    machine (the server, `import_tickets` in another terminal) sees the others' writes even
    without a shared cache. With a Chroma server it lives in the shared cache (Redis)."""
    return None if settings.CHROMA_URL else settings.AI_DIR / "chroma" / "generation"


def bump_generation() -> None:
    # A fresh token, not a counter: a flushed cache can never make an old corpus look current.
    token = uuid.uuid4().hex
    path = _generation_file()
    if path is None:
        cache.set(GENERATION_KEY, token, timeout=None)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"generation.{token}.tmp")
    tmp.write_text(token)
    tmp.replace(path)


def generation() -> str:
    path = _generation_file()
    if path is not None:
        try:
            return path.read_text()
        except FileNotFoundError:
            bump_generation()
            return path.read_text()
    current = cache.get(GENERATION_KEY)
    if current is None:  # never written, or evicted: start a new generation (everyone re-reads once)
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        current = cache.get(GENERATION_KEY)
    return current


@dataclass
class TicketCorpus:
    """The whole ticket collection in memory: what similar-ticket ranking runs over."""

    generation: str
    ids: list[str]
    texts: list[str]
    labels: list[str]
    vectors: np.ndarray


_corpus: TicketCorpus | None = None
_corpus_lock = threading.Lock()


def corpus() -> TicketCorpus:
    """The in-memory corpus, re-read from Chroma when another write happened since."""
    global _corpus
    current = generation()
    if _corpus is not None and _corpus.generation == current:
        return _corpus
    with _corpus_lock:
        if _corpus is None or _corpus.generation != current:
            try:
                data = collection(TICKETS).get(include=["embeddings", "documents", "metadatas"])
            except Exception:
                if settings.CHROMA_URL:
                    raise
                # Another process wrote the embedded index: this process's Chroma caches are
                # stale ("Error finding id"); reopen it and read again.
                logger.info("Reopening the embedded Chroma index after another process wrote it")
                _reopen_embedded()
                data = collection(TICKETS).get(include=["embeddings", "documents", "metadatas"])
            vectors = data.get("embeddings")
            vectors = (
                np.asarray(vectors, dtype=np.float32)
                if vectors is not None and len(vectors)
                else np.zeros((0, 384), dtype=np.float32)
            )
            _corpus = TicketCorpus(
                generation=current,
                ids=list(data["ids"]),
                texts=list(data.get("documents") or []),
                labels=[(meta or {}).get("label", UNKNOWN) for meta in data.get("metadatas") or []],
                vectors=vectors,
            )
    return _corpus


# --- knowledge base --------------------------------------------------------------------------

CHUNK_CHARS = 1_000
CHUNK_OVERLAP = 150


def chunk_text(text: str) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP)
    return [chunk for chunk in splitter.split_text(text or "") if chunk.strip()]


def article_fields(article) -> dict:
    """What the index keeps of a knowledge.models.Article."""
    from knowledge.models import Status

    return {
        "id": str(article.pk),
        "version": int(article.version),
        "title": article.title,
        "text": "\n\n".join(part for part in (article.title, article.summary, article.body) if part),
        "visibility": int(article.visibility),  # the lowest role that may read it
        "category": article.category.name if article.category_id else "",
        "published": article.status == Status.PUBLISHED,
    }


def upsert_article(article) -> int:
    """Replace an article's chunks with those of its current version; unpublished: removed."""
    fields = article_fields(article)
    remove_article(fields["id"])
    if not fields["published"]:
        return 0
    chunks = chunk_text(fields["text"])
    if not chunks:
        return 0
    vectors = embeddings.embedder().embed(chunks)
    collection(KB).upsert(
        ids=[f"{fields['id']}:{fields['version']}:{n}" for n in range(len(chunks))],
        embeddings=np.asarray(vectors, dtype=np.float32),
        documents=chunks,
        metadatas=[
            {
                "article_id": fields["id"],
                "version": fields["version"],
                "visibility": fields["visibility"],
                "category": fields["category"],
                "chunk": n,
                "title": fields["title"][:200],
            }
            for n in range(len(chunks))
        ],
    )
    return len(chunks)


def remove_article(article_id: str) -> None:
    collection(KB).delete(where={"article_id": str(article_id)})


def rebuild_tickets(tickets: Iterable, *, total: int, progress=None, batch: int = 256) -> int:
    """Drop and refill the ticket collection from the database (`manage.py reindex`)."""
    drop(TICKETS)
    done, pending = 0, []
    bar = progress(total=total) if progress else None
    for ticket in tickets:
        pending.append(ticket)
        if len(pending) >= batch:
            upsert_tickets(pending)
            done += len(pending)
            if bar is not None:
                bar.update(len(pending))
            pending = []
    if pending:
        upsert_tickets(pending)
        done += len(pending)
        if bar is not None:
            bar.update(len(pending))
    if bar is not None:
        bar.close()
    return done
