"""What the article corpus builds on: one Chroma collection, and its change stamp.

Search runs in the engines (decisions 0033 and 0035): no process keeps a copy of a collection. A
write still bumps the collection's generation stamp (ai_assist.retrieval.chroma), which caches
derived from the whole knowledge base key on (ai_assist.gaps).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ai_assist.retrieval import chroma

EMBEDDING_DIMENSIONS = 384  # an empty read's vectors: all-MiniLM-L6-v2's width


def vectors_of(data: dict) -> np.ndarray:
    """A collection read's embeddings as one float32 matrix (0 rows when empty)."""
    vectors = data.get("embeddings")
    if vectors is None or not len(vectors):
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


class Corpus:
    """One collection. Subclasses name it and own their writes; each write ends with `_changed()`."""

    name: ClassVar[str]

    def collection(self):
        return chroma.collection(self.name)

    def drop(self) -> None:
        """Delete the whole collection (a rebuild refills it)."""
        chroma.drop(self.name)

    def forget(self) -> None:
        """Nothing held in the process to forget (tests point the index elsewhere)."""

    def _changed(self) -> None:
        chroma.bump_generation(self.name)
