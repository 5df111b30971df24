"""The embedding model on onnxruntime + `tokenizers`: the same vectors as sentence-transformers
(max abs diff < 1e-5, tests/ai_assist/test_onnx.py) with no torch in the process.

Reads a directory written by ai_assist/ml/onnx_export.py (`manage.py export_onnx`): model.onnx
(transformer, pooling and normalization in one graph), tokenizer.json and embedder.json. Texts are
tokenized as sentence-transformers does (truncated to the model's max_seq_length, padded to the
longest text of each batch). This module must never import torch or sentence_transformers.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from ai_assist.ml.embed_model import EmbedderUnavailable

META_FILE, MODEL_FILE, TOKENIZER_FILE = "embedder.json", "model.onnx", "tokenizer.json"
FORMAT = 1


class OnnxModelMissing(EmbedderUnavailable):
    """The directory holds no complete export (run `manage.py export_onnx`)."""


def is_exported(directory: str | Path | None) -> bool:
    """Whether `directory` holds a complete export (embedder.json is written last)."""
    return bool(directory) and all(
        (Path(directory) / name).is_file() for name in (META_FILE, MODEL_FILE, TOKENIZER_FILE)
    )


def exported_name(directory: str | Path | None) -> str | None:
    """The model name a complete export in `directory` was made from, or None."""
    if not is_exported(directory):
        return None
    try:
        meta = json.loads((Path(str(directory)) / META_FILE).read_text(encoding="utf-8"))
    except ValueError:
        return None
    return str(meta.get("name")) if meta.get("format") == FORMAT else None


class OnnxEmbedder:
    """An exported sentence-transformers model on the CPU, `threads` onnxruntime threads (1 by default:
    the measured best on 2 shared cores, as for torch)."""

    def __init__(self, directory: str | Path, *, batch_size: int = 32, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer

        directory = Path(directory)
        if not is_exported(directory):
            raise OnnxModelMissing(
                f"{directory} holds no exported embedding model: run `python manage.py export_onnx` "
                f"(writes it to AI_ONNX_MODEL_DIR) or set AI_EMBEDDING_RUNTIME=torch"
            )
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise OnnxModelMissing(f"{directory} was exported in another format: run `manage.py export_onnx` again")
        self.name = str(meta["name"])
        self.dim = int(meta["dim"])
        self.batch_size = batch_size
        if threads:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=threads)  # numpy's BLAS too, as the torch embedder does
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self._session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]), strategy="longest_first")
        pad_id = int(meta.get("pad_token_id", 0))
        tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id) or "[PAD]")
        self._tokenizer = tokenizer
        self._lock = threading.Lock()  # one session serves every thread of the process, one at a time

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (vectors,) = self._session.run(["sentence_embedding"], {k: v for k, v in feeds.items() if k in self._inputs})
        return vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = [str(t) for t in texts]
        # Batches of similar lengths pad less (sentence-transformers sorts the same way).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                out[rows] = self._run([texts[i] for i in rows])
        return out
