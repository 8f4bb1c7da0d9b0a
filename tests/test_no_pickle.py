"""No code that ships or builds hubaudit unpickles: a static (``ast``) scan for unpickling calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCANNED_FOLDERS = ("hubaudit", "space_app", "benchmarks", "scripts")
UNPICKLING_CALLS = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "_pickle.load",
    "_pickle.loads",
    "_pickle.Unpickler",
    "joblib.load",
    "pandas.read_pickle",
}
UNPICKLING_MODULES = {"cloudpickle", "dill"}
"""Every call into these modules is refused."""


def unpickling_calls(source: str) -> list[tuple[int, str]]:
    """``(line, description)`` of each call in ``source`` that can unpickle, in line order."""
    tree = ast.parse(source)
    imported_as = _import_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _resolved_name(node.func, imported_as)
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        if name == "torch.load" and not _is_constant(keywords.get("weights_only"), True):
            found.append((node.lineno, "torch.load without weights_only=True"))
        elif name == "numpy.load" and "allow_pickle" in keywords and not _is_constant(keywords["allow_pickle"], False):
            found.append((node.lineno, "numpy.load with allow_pickle"))
        elif name in UNPICKLING_CALLS or (name and name.split(".")[0] in UNPICKLING_MODULES):
            found.append((node.lineno, name))
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "load_state":
            found.append((node.lineno, ".load_state (accelerate unpickles its checkpoints)"))
    return sorted(found)


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name it was imported as (``np`` -> ``numpy``, ``loads`` -> ``pickle.loads``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {
                alias.asname or alias.name.split(".")[0]: alias.name if alias.asname else alias.name.split(".")[0]
                for alias in node.names
            }
        elif isinstance(node, ast.ImportFrom) and node.module:
            aliases |= {alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names}
    return aliases


def _resolved_name(func: ast.expr, imported_as: dict[str, str]) -> str | None:
    """The dotted name a call's function resolves to through the imports, or ``None`` when not a plain name chain."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    return ".".join([imported_as.get(func.id, func.id), *reversed(parts)])


def _is_constant(node: ast.expr | None, value: bool) -> bool:
    """Whether ``node`` is the literal ``value``."""
    return isinstance(node, ast.Constant) and node.value is value


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(path)",
        "import torch\ntorch.load(path, weights_only=False)",
        "import torch\ntorch.load(path, **options)",
        "from torch import load\nload(path)",
        "import pickle\npickle.loads(data)",
        "from pickle import Unpickler\nUnpickler(stream).load()",
        "import pickle as p\np.load(stream)",
        "import cloudpickle\ncloudpickle.loads(data)",
        "import dill\ndill.load(stream)",
        "import joblib\njoblib.load(path)",
        "import pandas as pd\npd.read_pickle(path)",
        "import numpy as np\nnp.load(path, allow_pickle=True)",
        "accelerator.load_state(folder)",
    ],
)
def test_checker_finds_each_unpickling_call(source):
    source = "x = 1\n" + source  # the bad call is on the last line
    assert [line for line, _ in unpickling_calls(source)] == [len(source.splitlines())]


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(path, weights_only=True)",
        "import numpy as np\nnp.load(path)",
        "import numpy as np\nnp.load(path, allow_pickle=False)",
        "import pickle\npickle.dumps(value)",
        "model.load_state_dict(state)",
        "from safetensors.torch import load_file\nload_file(path)",
    ],
)
def test_checker_accepts_safe_calls(source):
    assert unpickling_calls(source) == []


def test_no_shipped_or_build_code_unpickles():
    files = sorted(path for folder in SCANNED_FOLDERS for path in (REPO_ROOT / folder).rglob("*.py"))
    assert len(files) > 50 and {path.relative_to(REPO_ROOT).parts[0] for path in files} == set(SCANNED_FOLDERS)
    offences = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {description}"
        for path in files
        for line, description in unpickling_calls(path.read_text(encoding="utf-8"))
    ]
    assert not offences, "calls that can unpickle:\n" + "\n".join(offences)
