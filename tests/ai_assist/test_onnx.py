"""The onnx embedding runtime (the container image's): exported without torch, the same vectors as
sentence-transformers (max abs diff < 1e-5), and no torch in a process that serves with it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytest.importorskip("onnx", reason="the export needs `onnx` (requirements-export.txt, requirements-dev.txt)")
pytest.importorskip("onnxruntime", reason="the onnx runtime needs `onnxruntime` (requirements.txt)")
pytest.importorskip("tokenizers", reason="the onnx runtime needs `tokenizers` (requirements.txt)")

from ai_assist.ml.embed import get_embedder, resolve_runtime
from ai_assist.ml.embed_onnx import OnnxEmbedder, OnnxModelMissing

ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    "printer jammed on floor two",
    "VPN drops every 5 minutes since the update",
    "  leading and trailing spaces  ",
    "Ünïcödé: naïve café, Straße, 東京のオフィス, пароль не подходит, 🚀🔥",
    "a",
    "",
    # Longer than max_seq_length (256 word pieces): both truncate at the same token.
    "Outlook keeps asking for my password after the mailbox migration and the calendar is empty. " * 40,
    "x " * 700,
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    call_command("export_onnx", "--out", str(out), verbosity=0)
    return out


@pytest.fixture(scope="module")
def torch_embedder():
    """The reference: sentence-transformers on torch (the rest of the suite embeds on onnx, as production)."""
    pytest.importorskip("sentence_transformers", reason="the reference pipeline needs sentence-transformers")
    return get_embedder("", runtime="torch")


def test_onnx_vectors_match_sentence_transformers(exported, torch_embedder):
    embedder = torch_embedder
    assert type(embedder).__name__ == "SentenceTransformerEmbedder"
    onnx = OnnxEmbedder(exported)
    assert (onnx.name, onnx.dim) == (embedder.name, embedder.dim)

    expected = embedder.embed(TEXTS)
    batched = onnx.embed(TEXTS)
    one_by_one = np.concatenate([onnx.embed([text]) for text in TEXTS])

    assert float(np.abs(batched - expected).max()) < 1e-5
    assert float(np.abs(one_by_one - expected).max()) < 1e-5
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    # Truncated: a long text and the same text twice as long embed alike (both cut at 256 tokens).
    np.testing.assert_allclose(onnx.embed([TEXTS[-1] * 2])[0], batched[-1], atol=1e-6)
    assert onnx.embed([]).shape == (0, 384)


def test_auto_runtime_is_onnx_when_an_export_is_there_or_torch_is_not(exported, tmp_path, monkeypatch):
    assert resolve_runtime("auto", exported) == "onnx"
    assert resolve_runtime("auto", tmp_path) == "torch"
    assert resolve_runtime("torch", exported) == "torch"
    assert resolve_runtime("onnx", tmp_path) == "onnx"
    find_spec = importlib.util.find_spec
    missing = {"torch", "onnx"}

    def not_installed(name, *args, **kwargs):
        if name in missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", not_installed)
    assert resolve_runtime("auto", tmp_path) == "onnx"  # exported on first use (test_embedding_start.py)
    with pytest.raises(OnnxModelMissing, match=r"manage\.py export_onnx"):  # nothing to export with
        get_embedder("", runtime="onnx", onnx_dir=tmp_path)


def test_an_export_of_another_model_is_refused(exported, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (other / name).symlink_to(exported / name)
    meta = json.loads((exported / "embedder.json").read_text())
    (other / "embedder.json").write_text(json.dumps(meta | {"name": "some-other-model"}))
    with pytest.raises(OnnxModelMissing, match="some-other-model"):
        get_embedder("", runtime="onnx", onnx_dir=other)


def test_export_names_what_it_cannot_export(tmp_path, settings):
    model = tmp_path / "roberta"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "roberta"}))
    settings.AI_EMBEDDING_MODEL = str(model)
    with pytest.raises(CommandError, match="only BERT-architecture models"):
        call_command("export_onnx", "--out", str(tmp_path / "out"), verbosity=0)
    assert not (tmp_path / "out" / "embedder.json").exists()


def test_the_app_embeds_on_onnx_without_importing_torch(exported, tmp_path):
    """A process that loads the whole app (every installed app) and embeds through the settings'
    embedder: neither torch nor sentence_transformers (nor transformers) is ever imported."""
    script = (
        "import sys, django; django.setup()\n"
        "from ai_assist import embeddings\n"
        "vector = embeddings.embed_one('my laptop will not boot')\n"
        "assert vector.shape == (384,), vector.shape\n"
        "print(type(embeddings.embedder()).__name__)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.main",
        "DEBUG": "true",
        "VAR_DIR": str(tmp_path / "var"),
        "AI_EMBEDDING_RUNTIME": "onnx",
        "AI_ONNX_MODEL_DIR": str(exported),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["OnnxEmbedder", "[]"]


def test_export_if_missing_keeps_an_export_of_the_configured_model(exported, settings, capsys):
    before = (exported / "model.onnx").stat().st_mtime_ns
    call_command("export_onnx", "--out", str(exported), "--if-missing")
    assert "already exported" in capsys.readouterr().out
    assert (exported / "model.onnx").stat().st_mtime_ns == before
    settings.AI_EMBEDDING_RUNTIME = "torch"
    call_command("export_onnx", "--out", str(exported / "never"), "--if-missing")
    assert "nothing to export" in capsys.readouterr().out
    assert not (exported / "never").exists()


def test_the_suite_embeds_on_the_onnx_export_as_production_does(settings):
    """helpdesk/settings/test.py: the run's export (made once per machine by tests/onnx_model.py), never torch."""
    from ai_assist import embeddings

    assert settings.AI_EMBEDDING_RUNTIME == "onnx"
    assert isinstance(embeddings.embedder(), OnnxEmbedder)
    assert os.environ["AI_ONNX_MODEL_DIR"] == str(settings.AI_ONNX_MODEL_DIR)  # the servers tests start too
