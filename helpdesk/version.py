"""The product's name and version, from pyproject.toml (the one place the version is written)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

PRODUCT = "Helpdesk AI"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@lru_cache(maxsize=1)
def version() -> str:
    try:
        with _PYPROJECT.open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"
