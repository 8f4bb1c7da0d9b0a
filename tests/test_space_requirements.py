"""The Space installs from its own requirements.txt: it must list exactly hubaudit's runtime dependencies and its
``data`` extra (the Space offers the builtin data sets)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_space_requirements_match_the_package_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["data"]
    lines = (ROOT / "space_app" / "requirements.txt").read_text().splitlines()
    required = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(required) == sorted(declared)
