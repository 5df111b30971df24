"""The packaged model loads offline, once per process, and gives the same vectors every time."""

from __future__ import annotations

import os

import numpy as np

from ai_assist import embeddings
from ai_assist.ml.embed import CachedEmbedder

# First four dimensions of all-MiniLM-L6-v2 for two sentences (recorded once, on the CPU).
GOLDEN = {
    "printer jammed on floor two": [-0.06237, 0.03452, -0.06091, 0.04067],
    "reset my password please": [-0.05731, -0.07315, -0.03501, -0.02257],
}


def test_the_packaged_model_loads_offline_and_is_one_per_process(embedder):
    assert "HF_HUB_OFFLINE" in os.environ  # defaulted to 1 unless the environment already said
    assert embeddings.embedder() is embedder
    assert embedder.dim == 384


def test_vectors_are_unit_length_stable_and_batched_alike(embedder):
    texts = list(GOLDEN)
    first = embedder.embed(texts)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(first[:, :4], np.array(list(GOLDEN.values())), atol=2e-4)
    np.testing.assert_allclose(embedder.embed(texts), first, atol=1e-6)
    np.testing.assert_allclose(embedder.embed(texts[:1])[0], first[0], atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_whole_file_embeddings_are_cached_on_disk(embedder, tmp_path):
    cached = CachedEmbedder(embedder, tmp_path)
    vectors = cached.embed_all(["a", "b", "c"])
    assert len(list(tmp_path.glob("*.npy"))) == 1
    np.testing.assert_array_equal(cached.embed_all(["a", "b", "c"]), vectors)
