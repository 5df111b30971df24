"""The process's embedder, configured by settings (AI_EMBEDDING_MODEL, AI_EMBEDDING_RUNTIME,
AI_ONNX_MODEL_DIR), and the on-disk cache of whole-file embeddings under VAR_DIR/ai/embeddings.

Where no runtime can embed (no ONNX export, no torch, nothing to export with) the servers refuse
to start (`require`, registered in ai_assist.apps for helpdesk.startup); should a process get that
far anyway, every use raises `EmbeddingsUnavailable`: a 503 problem+json in the API, one line from
a management command (helpdesk.startup.configured), never a traceback."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ai_assist.ml import embed
from ai_assist.ml.embed import CachedEmbedder, Embedder, get_embedder
from ai_assist.ml.embed_model import EmbedderUnavailable
from helpdesk.errors import Unavailable


class EmbeddingsUnavailable(Unavailable):
    code, title = "embeddings_unavailable", "The AI's embedding model is not available"


def require() -> None:
    """ImproperlyConfigured, in one line that says what to run, unless the configured model can serve."""
    try:
        embed.require(
            settings.AI_EMBEDDING_MODEL, runtime=settings.AI_EMBEDDING_RUNTIME, onnx_dir=settings.AI_ONNX_MODEL_DIR
        )
    except EmbedderUnavailable as error:
        raise ImproperlyConfigured(str(error)) from None


def embedder() -> Embedder:
    """One per process, loaded on first use (MiniLM: about 4-5 s on torch, under 1 s on onnx; the
    first process to need an ONNX export that is not there writes it, about 3 s)."""
    try:
        return get_embedder(
            settings.AI_EMBEDDING_MODEL, runtime=settings.AI_EMBEDDING_RUNTIME, onnx_dir=settings.AI_ONNX_MODEL_DIR
        )
    except EmbedderUnavailable as error:
        raise EmbeddingsUnavailable(str(error)) from None


def model_name() -> str:
    return embedder().name


def embed_one(text: str) -> np.ndarray:
    return embedder().embed([text])[0]


def embed_many(texts: list[str], *, progress=None, cache: bool = True) -> np.ndarray:
    """Batched; with `cache`, the vectors of the exact same list are read back from disk."""
    cached = CachedEmbedder(embedder(), settings.AI_DIR / "embeddings" if cache else None)
    return cached.embed_all(texts, progress=progress)
