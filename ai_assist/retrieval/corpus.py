"""What every corpus shares: one Chroma collection, and this process's snapshot of it.

Search never asks Chroma to filter (a `where` filter costs about 100 ms at 100k vectors): a
corpus keeps the whole collection in memory (vectors, texts, the metadata that ranking and
permission masks need) and ranks exactly with numpy over the rows the asker may read, a mask
computed before ranking. Every write bumps the collection's generation stamp; a process whose
snapshot is of another generation re-reads it on next use.

Re-reading is a full read of the collection, so under a steady stream of writes elsewhere (each
new ticket, each reply is one) a process would do little else: the load test measured similar-
ticket search at a 13 s median that way (docs/reliability.md). So a process sees its own writes at
once, but re-reads for other processes' writes at most every AI_SNAPSHOT_REFRESH_SECONDS, and
while one thread re-reads, the others go on with the snapshot they have instead of queueing.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar, Generic, TypeVar

import numpy as np
from django.conf import settings

from ai_assist.retrieval import chroma

EMBEDDING_DIMENSIONS = 384  # an empty collection's vectors: all-MiniLM-L6-v2's width

S = TypeVar("S")


def vectors_of(data: dict) -> np.ndarray:
    """A collection read's embeddings as one float32 matrix (0 rows when empty)."""
    vectors = data.get("embeddings")
    if vectors is None or not len(vectors):
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


class Corpus(Generic[S]):
    """One collection. Subclasses name it, say what a snapshot holds (`_load`) and own their
    writes; each write ends with `_changed()`."""

    name: ClassVar[str]
    include: ClassVar[list[str]] = ["embeddings", "documents", "metadatas"]

    def __init__(self) -> None:
        self._snapshot: tuple[str, S] | None = None
        self._loaded_at = 0.0  # time.monotonic() of the last read
        self._wrote = False  # this process changed the collection since its last read
        self._lock = threading.Lock()

    def collection(self):
        return chroma.collection(self.name)

    def drop(self) -> None:
        """Delete the whole collection (a rebuild refills it)."""
        chroma.drop(self.name)

    def snapshot(self) -> S:
        """The collection in memory: current after this process's own writes, and at most
        AI_SNAPSHOT_REFRESH_SECONDS behind other processes' writes."""
        current = chroma.generation(self.name)
        held = self._snapshot  # one read: another thread may replace it meanwhile
        if held is not None and held[0] == current:
            return held[1]
        if held is not None and not self._wrote:
            if time.monotonic() - self._loaded_at < settings.AI_SNAPSHOT_REFRESH_SECONDS:
                return held[1]
            if not self._lock.acquire(blocking=False):
                return held[1]  # another thread is re-reading it: no queue behind it
            self._lock.release()
        with self._lock:
            held = self._snapshot
            if held is None or held[0] != current:
                self._wrote = False  # before the read: a write during it makes the next call read again
                held = (current, self._load(chroma.read_all(self.name, self.include), current))
                self._snapshot = held
                self._loaded_at = time.monotonic()
        return held[1]

    def forget(self) -> None:
        """Drop the snapshot (tests point the index elsewhere)."""
        self._snapshot = None

    def _changed(self) -> None:
        chroma.bump_generation(self.name)
        self._wrote = True

    def _load(self, data: dict, generation: str) -> S:
        raise NotImplementedError
