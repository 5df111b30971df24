"""What a new machine installs: pins that install on any Python 3.11, and a runtime set that holds
only what the product uses (docs/operations.md, "Installing")."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.helpers import ROOT


def pins(path) -> dict[str, str]:
    """name -> version of every `name==version` line of a requirements or constraints file."""
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return found


def test_every_pin_installs_on_the_first_python_3_11():
    """Debian 12 ships Python 3.11.2: a pin whose Requires-Python asks for a later 3.11 (soupsieve 3+
    asks for 3.11.5) would make `make run` fail there, halfway through pip."""
    refused = []
    for name, version in pins("constraints.txt").items():
        try:
            installed = distribution(name)
        except PackageNotFoundError:
            continue  # not in this venv (e.g. a package of another platform)
        assert installed.version.split("+")[0] == version.split("+")[0], f"{name}: {installed.version} != {version}"
        requires_python = installed.metadata.get("Requires-Python") or ""
        if requires_python and not SpecifierSet(requires_python).contains("3.11.0"):
            refused.append(f"{name}=={version} (Requires-Python {requires_python})")
    assert not refused, f"pins that do not install on every Python 3.11: {refused}"


# Packages the product uses without importing them in its code: servers and plugins named in settings,
# start commands and deployment files. Everything else of requirements.txt must be imported somewhere.
PRODUCT_CODE = [
    "accounts",
    "ai_assist",
    "audit",
    "helpdesk",
    "intake",
    "knowledge",
    "notifications",
    "tickets",
    "manage.py",
]
START_FILES = ["Makefile", "Dockerfile", "docker-compose.yml"]
LOADED_BY_NAME = {
    "psycopg": "Django's PostgreSQL backend loads it (DATABASE_URL=postgres://...)",
    "langchain-openai": "init_chat_model loads it for the openai provider (ai_assist/llm.py)",
}


def product_text() -> str:
    files = [ROOT / name for name in START_FILES]
    for name in PRODUCT_CODE:
        path = ROOT / name
        files += [path] if path.is_file() else [p for p in path.rglob("*.py") if "migrations" not in p.parts]
    return "\n".join(path.read_text() for path in files)


def test_the_runtime_set_holds_only_packages_the_product_uses():
    """requirements.txt is what the image and `make run` install: a package nothing names is weight
    in every image and one more advisory to follow."""
    text = product_text()
    modules_of: dict[str, list[str]] = {}
    for module, names in packages_distributions().items():
        for name in names:
            modules_of.setdefault(canonicalize_name(name), []).append(module)
    unused = []
    for name in pins("requirements.txt").keys() - LOADED_BY_NAME.keys():
        modules = [m for m in modules_of.get(name, []) if not m.startswith("_")] or [name.replace("-", "_")]
        if not any(re.search(rf"(?<![\w.]){re.escape(module)}\b", text) for module in modules):
            unused.append(f"{name} (modules {sorted(modules)})")
    assert not unused, f"requirements.txt packages nothing in the product names: {unused}"
