"""Imports run one way: no import circle, and each layer imports only the layers below it.

The import graph is built from the source (the abstract syntax tree of every module under
``src/ca_trade``), not from what happens to be imported at run time: imports at module level,
inside functions and inside classes are all edges; only imports under ``if TYPE_CHECKING:``
(annotations, never executed) are left out. The lazy attributes of ``ca_trade/__init__.py``
(``importlib`` on demand) are not edges. Importing a submodule runs its package's
``__init__`` first; that implicit edge is not counted, but ``from ca_trade.pkg import name``
is an edge to the package (so a submodule importing from its own package's ``__init__``, which
imports the submodule, is a circle).

The layers, top to bottom (docs/design.md shows them with the data flow)::

    ca_trade __main__   the package facade (lazy attributes only; nothing imports it) and
                        ``python -m ca_trade`` (the command line)
    cli                 the command line
    pipeline            config-driven runs, the demo
    report              tables, figures, provenance (reads results of ge and estimate)
    ge                  general equilibrium (uncertainty re-estimates with estimate)
    estimate etl sample the engines and the data sources, independent of each other
    facts               the packaged facts (countries, agreements, covariates)
    executors           where independent tasks run (serial, processes, a Dask cluster)
    _io                 the only writers
    _typing _synthetic  shared array types; the SYNTHETIC marker and flag
    _version exceptions the version string, warning and error classes

A module may import its own subpackage and any layer below its own; two groups on one layer
may not import each other. Private names (``_name``) are not imported across modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ca_trade"

LAYERS: list[tuple[str, ...]] = [
    ("ca_trade", "__main__"),
    ("cli",),
    ("pipeline",),
    ("report",),
    ("ge",),
    ("estimate", "etl", "sample"),
    ("facts",),
    ("executors",),
    ("_io",),
    ("_typing", "_synthetic"),
    ("_version", "exceptions"),
]

#: Import circles tolerated: none. A circle that must be tolerated for a while is listed here
#: with its reason; the test fails on any circle not listed and on a listed one that is gone.
KNOWN_CYCLES: list[frozenset[str]] = []


#: Private names imported across modules that are tolerated: none (like KNOWN_CYCLES).
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _owner(name: str) -> str | None:
    """The module of ca_trade that `name` (a dotted import target) lies in, if any."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            owner = _owner(alias.name)
            if owner is not None:
                yield owner
        return
    base = node.module or ""
    if node.level:  # relative: from the module's package
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    for alias in node.names:
        name = f"{base}.{alias.name}"
        owner = name if name in MODULES else _owner(base)  # a submodule, or a name in one
        if owner is not None:
            yield owner


def import_graph() -> dict[str, set[str]]:
    """Module -> the ca_trade modules it imports (itself excluded)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = {t for node in _imports(tree) for t in _targets(module, node)} - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path_through(graph: dict[str, set[str]], component: frozenset[str]) -> list[str]:
    """One circle inside `component`, as the chain of imports that closes it."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return sorted(component)  # pragma: no cover - a component always closes


def group(module: str) -> str:
    """The layer group of a module: ``ca_trade`` for the root, else its top-level name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def test_the_graph_sees_imports_at_every_depth() -> None:
    graph = import_graph()
    # module level
    assert "ca_trade.pipeline.config" in graph["ca_trade.pipeline.parse"]
    # inside a function (the CLI imports the library when a command runs)
    assert "ca_trade.pipeline.demo" in graph["ca_trade.cli.commands"]
    # `from package import name` is an edge to the package
    assert "ca_trade.estimate" in graph["ca_trade.pipeline.stages"]
    # the root's TYPE_CHECKING imports and lazy attributes are not edges
    assert graph["ca_trade"] == {"ca_trade._version", "ca_trade.exceptions"}


def test_cycle_finder_names_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]
    assert _path_through(graph, frozenset({"a", "b", "c"})) == ["a", "b", "c", "a"]


def test_no_import_circle() -> None:
    graph = import_graph()
    found = cycles(graph)
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import circles: " + "; ".join(
        " -> ".join(_path_through(graph, c)) for c in new
    )
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"these circles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({group(m) for m in MODULES} - set(LAYER_OF))
    assert not unplaced, f"place these in LAYERS (and docs/design.md): {unplaced}"


def test_imports_run_down_the_layers() -> None:
    graph = import_graph()
    wrong = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = group(module), group(target)
            if a != b and not LAYER_OF[a] < LAYER_OF[b]:
                wrong.append(f"{module} -> {target} ({a} may not import {b})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_library_functions_are_never_looked_up_by_name() -> None:
    # importlib on ca_trade names hides the call graph from readers and mypy; only the
    # package root's lazy attributes use it.
    users = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"
                and module != "ca_trade"
            ):
                users.append(f"{module}:{node.lineno}")
    assert not users, f"importlib.import_module outside ca_trade/__init__.py: {users}"


def test_no_private_name_crosses_a_module() -> None:
    found = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ca_trade"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.add((module, str(node.module), alias.name))
    new = sorted(found - KNOWN_PRIVATE_IMPORTS)
    assert not new, f"private names imported from other modules (make them public): {new}"
    gone = sorted(KNOWN_PRIVATE_IMPORTS - found)
    assert not gone, f"these are gone: remove them from KNOWN_PRIVATE_IMPORTS: {gone}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_under_800_lines(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= 800, f"{module} has {lines} lines; split it by concept"
