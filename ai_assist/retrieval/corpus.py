"""What every corpus shares: one Chroma collection, and this process's snapshot of it.

Search never asks Chroma to filter (a `where` filter costs about 100 ms at 100k vectors): a
corpus keeps the whole collection in memory (vectors, texts, the metadata that ranking and
permission masks need) and ranks exactly with numpy over the rows the asker may read, a mask
computed before ranking. Every write bumps the collection's generation stamp; a process whose
snapshot is of another generation re-reads it on next use.
"""

from __future__ import annotations

import threading
from typing import ClassVar, Generic, TypeVar

import numpy as np

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
        self._lock = threading.Lock()

    def collection(self):
        return chroma.collection(self.name)

    def drop(self) -> None:
        """Delete the whole collection (a rebuild refills it)."""
        chroma.drop(self.name)

    def snapshot(self) -> S:
        """The collection in memory, re-read when another write happened since (in any process)."""
        current = chroma.generation(self.name)
        held = self._snapshot  # one read: another thread may replace it meanwhile
        if held is not None and held[0] == current:
            return held[1]
        with self._lock:
            held = self._snapshot
            if held is None or held[0] != current:
                held = (current, self._load(chroma.read_all(self.name, self.include), current))
                self._snapshot = held
        return held[1]

    def forget(self) -> None:
        """Drop the snapshot (tests point the index elsewhere)."""
        self._snapshot = None

    def _changed(self) -> None:
        chroma.bump_generation(self.name)

    def _load(self, data: dict, generation: str) -> S:
        raise NotImplementedError
