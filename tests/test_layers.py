"""The house rules of docs/architecture.md, read off the source: the declared layer order, no import circles, front
ends on the API only."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]

LAYERS = (
    {"errors", "files", "verbosity", "exports", "declarations", "demo_models", "version"},
    {"families"},
    {"data", "hub"},
    {"sampling"},
    {"annotate"},
    {"stats"},
    {"audit", "attacks", "train"},
    {"report"},
    {"fleet"},
    {"api", "bot", "checklist", "hubaudit", "results"},
    {"cli"},
)
"""hubaudit's layers, bottom first, in the order of docs/architecture.md's table: a module may import modules of its
own layer and of the layers before it, never of a later one. A name is a module or package right under ``hubaudit/``
(``hubaudit``: the package's own ``__init__``, with ``hubaudit.scan``); the names of one set sit beside each other."""

FRONT_END_IMPORTS = {
    "hubaudit",
    "hubaudit.api",
    "hubaudit.errors",
    "hubaudit.files",
    "hubaudit.verbosity",
    "hubaudit.fleet",
    "hubaudit.report",
    "hubaudit.declarations",
}
"""What ``cli.py`` and the Space may import from hubaudit: the API, the report views (the ``hubaudit.report`` package's
own names, not its modules), the option declarations its parser is derived from (the ``hubaudit.declarations``
package's own names) and the shared leaf modules."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The hubaudit modules ``path`` imports anywhere (top level, in functions, under TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found |= {name for name in names if name in known} or ({node.module} & known)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
    return found


def import_graph() -> nx.DiGraph:
    paths = list((ROOT / "hubaudit").rglob("*.py"))
    known = {module_name(path) for path in paths}
    graph = nx.DiGraph()
    for path in paths:
        source = module_name(path)
        graph.add_node(source)
        graph.add_edges_from((source, target) for target in imported_modules(path, known) if target != source)
    return graph


def layer_name(module: str) -> str:
    """``hubaudit.audit.fairness.pair`` -> ``audit``; ``hubaudit`` -> ``hubaudit``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_rank(module: str) -> int:
    """The position of ``module``'s layer in :data:`LAYERS` (0 at the bottom)."""
    return next(rank for rank, names in enumerate(LAYERS) if layer_name(module) in names)


def test_every_module_belongs_to_a_declared_layer():
    declared = set().union(*LAYERS)
    assert sum(len(names) for names in LAYERS) == len(declared), "a name in two layers"
    undeclared = sorted({layer_name(module) for module in import_graph()} - declared)
    assert undeclared == [], "add these to LAYERS and to docs/architecture.md's table"


def test_every_import_goes_down_the_declared_layers():
    upward = {(source, target) for source, target in import_graph().edges if layer_rank(target) > layer_rank(source)}
    assert sorted(upward) == [], "imports of a later layer (docs/architecture.md)"


def test_no_module_imports_itself_through_a_circle():
    graph = import_graph()
    packages = {node for node in graph if (ROOT / Path(*node.split("."))).is_dir()}
    # A package's __init__ re-exports its modules: the edges that matter run between modules.
    modules = graph.subgraph(node for node in graph if node not in packages)
    circles = [sorted(component) for component in nx.strongly_connected_components(modules) if len(component) > 1]
    assert circles == []


def test_front_ends_reach_the_layers_only_through_the_api():
    known = {module_name(path) for path in (ROOT / "hubaudit").rglob("*.py")}
    space_modules = sorted((ROOT / "space_app").glob("*.py"))
    assert ROOT / "space_app" / "app.py" in space_modules
    for front_end in (ROOT / "hubaudit" / "cli.py", *space_modules):
        assert imported_modules(front_end, known) <= FRONT_END_IMPORTS, front_end.name
