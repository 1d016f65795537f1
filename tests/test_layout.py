"""The shape of the house (docs/architecture.md): layers, folders, and the one namespace.

Each rule reads the source tree, so a module added in the wrong place, an import against
the flow, or a folder missing from the wheel's package list fails here, not in review.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("config", "converters", "daemon")
APIS = ("webex", "apio", "wordbee", "b2core")

# Lowest first. A module may import its own floor or any floor below, never one above.
# Packages on one floor (sources and store) do not import each other either.
FLOORS: list[tuple[str, ...]] = [
    ("config",),
    ("converters.errors",),
    ("converters.ical",),
    ("converters.wire",),
    tuple(f"converters.{api}" for api in APIS),
    ("daemon.sources", "daemon.store", "daemon.simulators"),
    ("daemon.sync",),
    ("daemon.feeds",),
    ("daemon.push",),
    ("daemon.caldav",),
    ("daemon.web",),
    ("daemon.service",),
    ("daemon.cli",),
]
MAX_MODULES_PER_FOLDER = 12
MAX_LINES = 400


def modules() -> Iterator[tuple[str, Path]]:
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imported(path: Path) -> set[str]:
    """Every icsbridge module ``path`` imports, named without the ``icsbridge.`` prefix."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import; the house imports by full name"
            if node.module.startswith("icsbridge."):
                base = node.module.removeprefix("icsbridge.")
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                a.name.removeprefix("icsbridge.")
                for a in node.names
                if a.name.startswith("icsbridge.")
            )
    return names


KNOWN = dict(modules())


def graph() -> dict[str, set[str]]:
    return {mod: {n for n in imported(path) if n in KNOWN} - {mod} for mod, path in KNOWN.items()}


def floor_of(module: str) -> tuple[int, str]:
    best: tuple[int, str] | None = None
    for rank, packages in enumerate(FLOORS):
        for package in packages:
            if (module == package or module.startswith(package + ".")) and (
                best is None or len(package) > len(best[1])
            ):
                best = (rank, package)
    if best is None:
        raise AssertionError(f"{module} is on no floor of FLOORS; add it where it belongs")
    return best


def test_every_module_is_on_a_floor() -> None:
    for module in KNOWN:
        if module not in TOP and module not in ("converters", "daemon"):
            floor_of(module)


def test_imports_run_one_way() -> None:
    against: list[str] = []
    for module, deps in graph().items():
        if module in TOP:
            continue
        rank, package = floor_of(module)
        for dep in deps:
            if dep in TOP:
                continue
            dep_rank, dep_package = floor_of(dep)
            if dep_rank > rank or (dep_rank == rank and dep_package != package):
                against.append(f"{module} -> {dep}")
    assert against == []


def test_a_command_is_never_a_library_for_another() -> None:
    """Only ``cli.main`` (which dispatches) and ``__main__`` import other command modules."""
    borrowed = [
        f"{module} -> {dep}"
        for module, deps in graph().items()
        if module.startswith("daemon.cli.")
        and module not in ("daemon.cli.main", "daemon.cli.__main__")
        for dep in deps
        if dep.startswith("daemon.cli.")
    ]
    assert borrowed == []


def test_no_import_circles() -> None:
    deps = graph()
    circles: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(deps[module]):
            if state.get(dep) == 1:
                circles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in sorted(deps):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_folders_stay_small() -> None:
    crowded = {}
    for folder in {p.parent for p in KNOWN.values()}:
        count = len([p for p in folder.glob("*.py") if p.name != "__init__.py"])
        if count > MAX_MODULES_PER_FOLDER:
            crowded[str(folder.relative_to(ROOT))] = count
    assert crowded == {}


def test_no_name_prefix_stands_in_for_a_folder() -> None:
    prefixed = []
    for path in KNOWN.values():
        stem = path.stem
        siblings = {p.stem for p in path.parent.glob("*.py")} | {
            p.name for p in path.parent.iterdir() if p.is_dir()
        }
        for prefix in {*APIS, *siblings} - {stem}:
            if stem.startswith(prefix + "_"):
                prefixed.append(str(path.relative_to(ROOT)))
    assert prefixed == []


def test_modules_stay_under_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in KNOWN.values()
        if (n := len(p.read_text().splitlines())) >= MAX_LINES
    }
    assert long == {}


def test_converters_do_no_io() -> None:
    forbidden = {"httpx", "sqlite3", "socket", "asyncio", "subprocess"}
    found = []
    for module, path in KNOWN.items():
        if not module.startswith("converters"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{module}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert found == []


def test_an_api_lives_in_its_three_folders() -> None:
    """No module outside converters/<api>/, daemon/sources/<api>/, daemon/simulators/<api>/
    (and config's settings of that kind) is named after an API."""
    stray = [
        module
        for module in KNOWN
        for api in APIS
        if api in module.split(".")[-1]
        and not any(
            module.startswith(f"{layer}.{api}")
            for layer in ("converters", "daemon.sources", "daemon.simulators", "config.sources")
        )
    ]
    assert stray == []


@pytest.mark.parametrize("top", TOP)
def test_the_wheel_lists_every_package(top: str) -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = {p for p in setuptools["packages"] if p.startswith(f"icsbridge.{top}")}
    on_disk = {
        "icsbridge." + ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert listed == on_disk
    assert setuptools["package-dir"][f"icsbridge.{top}"] == top
