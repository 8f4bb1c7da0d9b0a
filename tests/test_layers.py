"""The house rules of docs/architecture.md, read off the source: no import circles, front ends on the API only."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
FRONT_END_IMPORTS = {"hubaudit", "hubaudit.api", "hubaudit.errors", "hubaudit.files", "hubaudit.verbosity", "hubaudit.fleet"}
"""What ``cli.py`` and the Space may import from hubaudit: the API and the shared leaf modules."""


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
