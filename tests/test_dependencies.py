"""Every package the installed code imports is declared in pyproject.toml, so an
install never works only because something else happened to pull a package in."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).parent.parent
# installed package -> its folder (pyproject's package-dir mapping)
SOURCES = {
    "fusion.core": ROOT / "core",
    "fusion.tools": ROOT / "tools",
    "fusion.nodes": ROOT / "nodes",
    "fusion.graph": ROOT / "graph",
    "fusion": ROOT / "fusion",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {_normal(re.split(r"[\[<>=!~;\s]", r, maxsplit=1)[0]) for r in requirements}


def imported_modules() -> dict[str, set[str]]:
    """Absolute imports of third-party modules -> the files that import them."""
    found: dict[str, set[str]] = {}
    for folder in SOURCES.values():
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "fusion":
                        found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


@cache
def _file_owners() -> dict[str, str]:
    """Installed file, relative to site-packages (`a/b/__init__.py`) -> the
    distribution that installed it. Read from the records, importing nothing."""
    owners: dict[str, str] = {}
    for dist in distributions():
        name = _normal(dist.metadata["Name"])
        for file in dist.files or ():
            owners.setdefault(file.as_posix(), name)
    return owners


def _owner(module: str) -> str:
    """The distribution that installed `module` (its deepest installed part)."""
    owners = _file_owners()
    parts = module.split(".")
    while parts:
        base = "/".join(parts)
        for candidate in (f"{base}/__init__.py", f"{base}.py"):
            if candidate in owners:
                return owners[candidate]
        parts.pop()
    top = module.split(".")[0]
    for path, owner in owners.items():  # an extension module: top.cpython-311-....so
        if path.startswith(f"{top}.") and "/" not in path:
            return owner
    raise AssertionError(f"{module}: not installed by any distribution")


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    missing = {}
    for module, files in imported_modules().items():
        owner = _owner(module)
        if owner not in declared:
            missing[owner] = f"import {module} in {sorted(files)[0]}"
    assert not missing, f"declare these in pyproject.toml: {missing}"


def test_the_check_sees_the_imports_it_must() -> None:
    modules = imported_modules()
    assert _owner("httpcore") == "httpcore" and "httpcore" in modules
    assert _owner("langgraph.prebuilt") == "langgraph-prebuilt"
    assert _owner("langgraph.checkpoint.sqlite.aio") == "langgraph-checkpoint-sqlite"
