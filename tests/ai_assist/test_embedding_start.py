"""Starting without an ONNX export (decision 0028): where the export's packages are installed, the
first embedding exports the packaged model, once however many processes start together; where
neither they nor torch are, every server and AI command refuses to start with one line naming what
to run, `migrate` and `check` still work, and the API answers 503 problem+json, never a 500.

Packages are made unimportable as if they were not installed: a finder at the front of sys.meta_path
(in a subprocess), or importlib's find_spec (in this process, where torch is loaded already)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ai_assist.ml.embed_onnx import is_exported
from tests.helpdesk.servers import ROOT, free_port, server_env
from tests.helpers import assert_problem

TORCH = ("torch", "sentence_transformers")
EXPORT_PACKAGES = ("onnx", "safetensors")

# Run as `python -c`: makes the modules of argv[1] (comma-separated) unimportable, then runs argv[2:]
# as a command line: `manage.py ...`, `uvicorn ...`, or `embed` (one text through the app's embedder).
WITHOUT = """
import runpy, sys
missing = set(sys.argv[1].split(","))

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
command = sys.argv[2:]
if command[0] == "manage.py":
    sys.argv = command
    runpy.run_path("manage.py", run_name="__main__")
elif command[0] == "uvicorn":
    from uvicorn.main import main
    sys.argv = command
    main()
else:
    import django
    django.setup()
    from ai_assist import embeddings
    print(embeddings.embed_one("my laptop will not boot").shape, type(embeddings.embedder()).__name__)
"""


def without(missing: tuple[str, ...], command: list[str], var_dir: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WITHOUT, ",".join(missing), *command],
        cwd=ROOT,
        # The configured default, not the run's cached export (helpdesk/settings/test.py): no export there.
        env=server_env(
            var_dir,
            LOG_LEVEL="INFO",
            LOG_FORMAT="text",
            **{"AI_EMBEDDING_RUNTIME": "auto", "AI_ONNX_MODEL_DIR": str(var_dir / "ai" / "onnx"), **env},
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=180)
    return process.returncode, out, err


def test_without_an_export_or_torch_the_first_embedding_exports_the_model_once(tmp_path):
    """Two processes start together with no export and no torch: both embed on onnx; one exported."""
    var_dir = tmp_path / "var"
    processes = [without(TORCH, ["embed"], var_dir) for _ in range(2)]
    results = [finished(process) for process in processes]
    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert out.strip() == "(384,) OnnxEmbedder"
    logged = "".join(err for _, _, err in results)
    assert logged.count("Exported the embedding model all-MiniLM-L6-v2 to ONNX") == 1, logged[-3000:]
    assert "on first use" in logged and "Traceback" not in logged
    onnx_dir = var_dir / "ai" / "onnx"
    assert is_exported(onnx_dir)
    assert sorted(path.name for path in onnx_dir.parent.iterdir()) == [".onnx.lock", "onnx"]  # no half-made folder


ONE_LINE_COMMANDS = {
    "uvicorn": ["uvicorn", "helpdesk.asgi:application", "--port", "{port}"],
    "runserver": ["manage.py", "runserver", "127.0.0.1:{port}"],
    "wsgi": ["manage.py", "shell", "-c", "import helpdesk.wsgi"],
    "ai_eval": [
        "manage.py",
        "ai_eval",
        "route",
        "--train",
        "tests/ai_assist/data/tiny_train.csv",
        "--test",
        "tests/ai_assist/data/tiny_test.csv",
    ],
    "seed_demo": ["manage.py", "seed_demo", "--allow-production"],
}


@pytest.mark.parametrize("entry", ONE_LINE_COMMANDS)
def test_without_an_export_torch_or_the_export_packages_nothing_starts_and_one_line_says_what_to_run(tmp_path, entry):
    port = str(free_port())
    command = [arg.replace("{port}", port) for arg in ONE_LINE_COMMANDS[entry]]
    code, out, err = finished(without(TORCH + EXPORT_PACKAGES, command, tmp_path / "var"))
    assert code == 1, (out[-2000:], err[-3000:])
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("ImproperlyConfigured: No embedding model:"), line
    assert "run `python manage.py export_onnx`" in line


def test_without_any_embedding_runtime_migrate_and_check_still_work(tmp_path):
    """Nothing but serving and the AI commands needs the model: CI's checks run where there is none."""
    nothing = TORCH + EXPORT_PACKAGES
    commands = [
        (["manage.py", "migrate", "--noinput", "-v0"], {}),
        (["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"SECURE_SSL_REDIRECT": "true"}),
        (
            ["manage.py", "check", "--fail-level", "WARNING"],
            {"DEBUG": "true", "DATABASE_URL": "mongodb://127.0.0.1:1/x"},
        ),
    ]
    for command, env in commands:
        code, out, err = finished(without(nothing, command, tmp_path / "var", **env))
        assert code == 0, (command, out[-2000:], err[-3000:])


@pytest.mark.django_db
def test_an_ai_call_without_any_embedding_runtime_is_a_503_problem_not_a_500(
    client_for, settings, tmp_path, monkeypatch
):
    find_spec = importlib.util.find_spec

    def not_installed(name, *args, **kwargs):
        if name.partition(".")[0] in TORCH + EXPORT_PACKAGES:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", not_installed)
    settings.AI_ONNX_MODEL_DIR = tmp_path / "no-export"
    response = client_for("agent").post(
        "/api/v1/ai/route/", {"title": "VPN drops", "description": "every ten minutes"}, format="json"
    )
    body = assert_problem(response, 503, "embeddings_unavailable")
    assert "requirements-export.txt" in body["detail"] and "export_onnx" in body["detail"]
