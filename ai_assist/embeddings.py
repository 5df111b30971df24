"""The process's embedder, configured by settings (AI_EMBEDDING_MODEL, AI_EMBEDDING_RUNTIME,
AI_ONNX_MODEL_DIR), and the on-disk cache of
whole-file embeddings under VAR_DIR/ai/embeddings."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from ai_assist.ml.embed import CachedEmbedder, Embedder, get_embedder


def embedder() -> Embedder:
    """One per process, loaded on first use (MiniLM: about 4-5 s on torch, under 1 s on onnx)."""
    return get_embedder(
        settings.AI_EMBEDDING_MODEL, runtime=settings.AI_EMBEDDING_RUNTIME, onnx_dir=settings.AI_ONNX_MODEL_DIR
    )


def model_name() -> str:
    return embedder().name


def embed_one(text: str) -> np.ndarray:
    return embedder().embed([text])[0]


def embed_many(texts: list[str], *, progress=None, cache: bool = True) -> np.ndarray:
    """Batched; with `cache`, the vectors of the exact same list are read back from disk."""
    cached = CachedEmbedder(embedder(), settings.AI_DIR / "embeddings" if cache else None)
    return cached.embed_all(texts, progress=progress)
