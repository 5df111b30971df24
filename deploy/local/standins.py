"""LOCAL TEST STAND-INS for the images the project's Dockerfile and docker-compose.yml name, built
from Debian packages and PyPI on a machine that cannot reach Docker Hub. Never production images.

Shared by image_check.py (make image-check) and compose_check.py (make compose-check); run alone it
builds what is missing and prints the tags:

    python deploy/local/standins.py            # the base and the Python stand-in
    python deploy/local/standins.py --services # and PostgreSQL, Redis, nginx and Chroma

Every image is cached by its tag: an image that exists is never rebuilt (`docker rmi` it to rebuild).

    local/bookworm-py:3.11      Debian 12 minbase + python3.11 (mmdebstrap), `docker import`ed
    local/python:3.11-slim      plays python:3.11-slim (standins/python/Dockerfile)
    local/standin-postgres:15   plays postgres:15 (standins/postgres/)
    local/standin-redis:7       plays redis:7 (standins/redis/)
    local/standin-nginx:1.22    plays nginx:1.28-alpine (standins/nginx/)
    local/standin-chroma:<pin>  plays chromadb/chroma:<pin>, the chromadb pin of requirements.txt (standins/chroma/)

What they are and are not: standins/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
STANDINS = HERE / "standins"

DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_IMAGE = "local/bookworm-py:3.11"
PYTHON_IMAGE = "local/python:3.11-slim"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DOCKERD_LOG = Path("/tmp/dockerd.log")
INSTALL_HINT = "apt-get install -y docker.io mmdebstrap docker-compose"


class Failure(Exception):
    """A step could not be done; the message says what and, where known, how to fix it."""


def chroma_version() -> str:
    pin = re.search(r"^chromadb==(\S+)", (REPO / "requirements.txt").read_text(), re.M)
    if not pin:
        raise Failure("requirements.txt pins no chromadb version")
    return pin.group(1)


def service_images() -> dict[str, str]:
    """Stand-in name -> its tag, for the compose file's services."""
    return {
        "postgres": "local/standin-postgres:15",
        "redis": "local/standin-redis:7",
        "nginx": "local/standin-nginx:1.22",
        "chroma": f"local/standin-chroma:{chroma_version()}",
    }


def say(message: str) -> None:
    print(message, flush=True)


class Report:
    """The checks' PASS/FAIL lines (image_check.py, compose_check.py), printed as they come."""

    def __init__(self) -> None:
        self.lines: list[tuple[bool, str, str]] = []

    def check(self, ok: bool, name: str, detail: str = "") -> bool:
        self.lines.append((ok, name, detail))
        say(f"  {'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
        return ok

    @property
    def failed(self) -> int:
        return sum(1 for ok, _, _ in self.lines if not ok)


def run(
    command: list[str], *, check: bool = True, timeout: float | None = None, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; its output is captured (or written to `log`). A failure raises Failure with the
    command's last lines."""
    if log is None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    else:
        with log.open("w") as out:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False
            )
        result.stdout = log.read_text(errors="replace")
    if check and result.returncode != 0:
        tail = "\n".join(((result.stdout or "") + (result.stderr or "")).strip().splitlines()[-25:])
        where = f" (full output: {log})" if log else ""
        raise Failure(f"`{' '.join(command)}` failed with status {result.returncode}{where}:\n{tail}")
    return result


def docker(*args: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return run(["docker", *args], check=check, timeout=timeout)


def ensure_dockerd() -> None:
    """A Docker daemon answers: started here (as root) when its binary is installed and it is not
    running; otherwise Failure says how to install it."""
    if not shutil.which("docker") or not shutil.which("dockerd"):
        raise Failure(f"Docker is not installed. On Debian 12, as root: {INSTALL_HINT}")
    if run(["docker", "info"], check=False, timeout=30).returncode == 0:
        say("dockerd: running")
        return
    if os.geteuid() != 0:
        raise Failure(f"dockerd is not running. As root: dockerd > {DOCKERD_LOG} 2>&1 &")
    with DOCKERD_LOG.open("a") as log:
        daemon = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(60):
        if run(["docker", "info"], check=False, timeout=30).returncode == 0:
            say(f"dockerd: started (pid {daemon.pid}, log {DOCKERD_LOG}); it keeps running afterwards")
            return
        if daemon.poll() is not None:
            break
        time.sleep(1)
    raise Failure(f"dockerd did not start: see {DOCKERD_LOG}")


def docker_version() -> str:
    """Client and daemon versions, for the summaries."""
    result = docker("version", "--format", "client {{.Client.Version}}, daemon {{.Server.Version}}", check=False)
    return result.stdout.strip() or "unknown"


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def image_size(tag: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def build(
    tag: str, context: Path, *, build_args: dict[str, str] | None = None, log: Path, no_cache: bool = False
) -> float:
    """`docker build --network host` (containers reach the package registries only through the
    host's network); seconds taken."""
    command = ["docker", "build", "--network", "host", "--tag", tag]
    for name, value in (build_args or {}).items():
        command += ["--build-arg", f"{name}={value}"]
    if no_cache:
        command.append("--no-cache")
    started = time.monotonic()
    # DOCKER_BUILDKIT=0: the legacy builder, the one Debian 12's Docker has without buildx.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    with log.open("w") as out:
        result = subprocess.run(
            [*command, str(context)], stdout=out, stderr=subprocess.STDOUT, env=env, text=True, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-30:])
        raise Failure(f"building {tag} failed (full log: {log}):\n{tail}")
    return time.monotonic() - started


def ensure_base() -> None:
    """Debian 12 minbase with python3.11, from deb.debian.org by mmdebstrap, imported as BASE_IMAGE."""
    if image_exists(BASE_IMAGE):
        say(f"stand-in base {BASE_IMAGE}: present")
        return
    if not shutil.which("mmdebstrap"):
        raise Failure(f"mmdebstrap is not installed. On Debian 12, as root: {INSTALL_HINT}")
    say(f"stand-in base {BASE_IMAGE}: mmdebstrap bookworm (about a minute) ...")
    with tempfile.TemporaryDirectory(prefix="standin-base-") as scratch:
        tarball = Path(scratch) / "base.tar"
        run(
            [
                "mmdebstrap",
                "--variant=minbase",
                "--include=python3.11,python3.11-venv,ca-certificates",
                "bookworm",
                str(tarball),
                DEBIAN_MIRROR,
            ],
            log=Path(scratch) / "mmdebstrap.log",
            timeout=1200,
        )
        docker(
            "import",
            "--change",
            "ENV LANG=C.UTF-8",
            "--change",
            'CMD ["/bin/bash"]',
            "--message",
            "LOCAL TEST STAND-IN base: Debian 12 minbase + python3.11 (mmdebstrap), never for production",
            str(tarball),
            BASE_IMAGE,
        )
    say(f"stand-in base {BASE_IMAGE}: built ({image_size(BASE_IMAGE) / 1e6:.0f} MB)")


def _build_standin(tag: str, folder: str, extra: dict[str, Path], build_args: dict[str, str]) -> None:
    if image_exists(tag):
        say(f"stand-in {tag}: present")
        return
    say(f"stand-in {tag}: building from standins/{folder}/ ...")
    with tempfile.TemporaryDirectory(prefix=f"standin-{folder}-") as scratch:
        context = Path(scratch) / "context"
        shutil.copytree(STANDINS / folder, context)
        for name, source in extra.items():
            shutil.copy(source, context / name)
        seconds = build(tag, context, build_args=build_args, log=Path(scratch) / "build.log")
    say(f"stand-in {tag}: built in {seconds:.0f} s ({image_size(tag) / 1e6:.0f} MB)")


def ensure_python() -> str:
    """The python:3.11-slim stand-in; its tag (the Dockerfile's PYTHON_IMAGE here)."""
    ensure_base()
    if not HOST_CA_BUNDLE.is_file():
        raise Failure(f"{HOST_CA_BUNDLE} is missing (Debian: apt-get install ca-certificates)")
    _build_standin(PYTHON_IMAGE, "python", {"host-ca-certificates.crt": HOST_CA_BUNDLE}, {"BASE_IMAGE": BASE_IMAGE})
    return PYTHON_IMAGE


def ensure_services() -> dict[str, str]:
    """The stand-ins for the compose file's PostgreSQL, Redis, nginx and Chroma; name -> tag."""
    ensure_python()
    images = service_images()
    for name in ("postgres", "redis", "nginx"):
        _build_standin(images[name], name, {}, {"BASE_IMAGE": BASE_IMAGE})
    _build_standin(
        images["chroma"],
        "chroma",
        {"constraints.txt": REPO / "constraints.txt"},
        {"PYTHON_IMAGE": PYTHON_IMAGE, "CHROMA_VERSION": chroma_version()},
    )
    return images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", action="store_true", help="the compose services' stand-ins too")
    arguments = parser.parse_args()
    try:
        ensure_dockerd()
        if arguments.services:
            for name, tag in ensure_services().items():
                say(f"{name}: {tag}")
        else:
            ensure_python()
    except Failure as failure:
        say(f"FAIL: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
