"""Imports go one way: foundations (`fusion.core`) -> `fusion.tools` -> `fusion.nodes`
-> `fusion.graph` -> the face (`fusion`'s API, then eval, MCP, web, serve, CLI).

Read from the source with `ast`, every import counts: at module level, inside a
function (imported when called) and under `TYPE_CHECKING`, so no lazy import can be
left to hide a cycle. And each package imports first in a fresh interpreter.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# installed package -> its folder (pyproject.toml's package-dir), lowest layer first
PACKAGES = {
    "fusion.core": ROOT / "core",
    "fusion.tools": ROOT / "tools",
    "fusion.nodes": ROOT / "nodes",
    "fusion.graph": ROOT / "graph",
    "fusion": ROOT / "fusion",  # the face's shared modules: api, result, runs, ...
    "fusion.eval": ROOT / "fusion" / "eval",
    "fusion.mcp": ROOT / "fusion" / "mcp",
    "fusion.web": ROOT / "fusion" / "web",
    "fusion.serve": ROOT / "fusion" / "serve",
    "fusion.cli": ROOT / "fusion" / "cli",
}
LAYER = {"fusion.core": 1, "fusion.tools": 2, "fusion.nodes": 3, "fusion.graph": 4}
FACE = 5  # every other package


@dataclass(frozen=True)
class Import:
    source: str  # module that imports
    target: str  # module imported
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


def _modules() -> dict[str, Path]:
    """Every module of every package, by its installed name."""
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.glob("*.py"):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


MODULES = _modules()


def package_of(module: str) -> str:
    return max((p for p in PACKAGES if module == p or module.startswith(p + ".")), key=len)


def _imports() -> list[Import]:
    """Each import of a Fusion module by a Fusion module, wherever it is written."""
    found: list[Import] = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.level == 0, f"{path}:{node.lineno}: use absolute imports"
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name`
                # imports pkg itself
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in MODULES] or [node.module]
            else:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found += [Import(module, t, where) for t in targets if t in MODULES and t != module]
    return found


IMPORTS = _imports()


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_check_sees_lazy_and_type_checking_imports() -> None:
    """The scan is not blind to what it must catch (a test that sees no import passes)."""
    assert len(IMPORTS) > 300
    where = {(i.source, i.target) for i in IMPORTS}
    assert ("fusion.cli.main", "fusion.cli.ask") in where  # inside main()
    assert ("fusion.cli.eval", "fusion.eval.stats") in where  # under TYPE_CHECKING
    assert ("fusion.tools.fetch", "fusion.tools.download") in where  # from pkg import sub


def test_no_package_imports_one_that_imports_it_back() -> None:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        a, b = package_of(i.source), package_of(i.target)
        if a != b:
            edges.setdefault(a, set()).add(b)
    cycles = _cycles(edges)
    detail = [
        str(i)
        for cycle in cycles
        for i in IMPORTS
        if {package_of(i.source), package_of(i.target)} <= cycle
        and package_of(i.source) != package_of(i.target)
    ]
    assert not cycles, "packages that import each other:\n" + "\n".join(detail)


def test_imports_go_one_way_through_the_layers() -> None:
    upward = [
        str(i)
        for i in IMPORTS
        if LAYER.get(package_of(i.source), FACE) < LAYER.get(package_of(i.target), FACE)
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_module_cycle_hidden_by_a_lazy_import() -> None:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        edges.setdefault(i.source, set()).add(i.target)
    cycles = _cycles(edges)
    detail = [str(i) for c in cycles for i in IMPORTS if {i.source, i.target} <= c]
    assert not cycles, "modules that import each other:\n" + "\n".join(detail)


def test_nothing_takes_a_name_from_the_fusion_package_itself() -> None:
    """`fusion/__init__.py` loads its public names on first use (PEP 562) only so that
    `import fusion` and `fusion --help` stay fast. If no module takes a name from it
    (`from fusion import fuse`), that laziness can hide no cycle."""
    taken = [str(i) for i in IMPORTS if i.target == "fusion"]
    assert not taken, "\n".join(taken)


@pytest.mark.parametrize("package", list(PACKAGES))
def test_each_package_imports_first_in_a_fresh_interpreter(package: str) -> None:
    """The package first, then each of its modules, in a new interpreter: an import
    cycle shows as an ImportError whichever module a user touches first."""
    modules = sorted(m for m in MODULES if package_of(m) == package)
    code = "import importlib, sys\n" + "".join(
        f"importlib.import_module({m!r})\n" for m in [package, *modules]
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/"
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_public_names_load_first_in_a_fresh_interpreter() -> None:
    code = (
        "import fusion\n"
        "for name in fusion.__all__:\n"
        "    assert getattr(fusion, name) is not None, name\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/"
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_readme_names_only_files_that_exist() -> None:
    """The layout and "Where to change what" point at real files, so a move or a
    rename that forgets the README fails here."""
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"`((?:core|tools|nodes|graph|fusion|tests)/[\w/.]+\.\w+)`", readme))
    assert len(named) > 15
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"the README names files that do not exist: {missing}"
