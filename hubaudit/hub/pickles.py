"""Pickle weights, when the user allows them: scanned first with picklescan, refused if they import dangerous globals.

A pickle can run any code when loaded; picklescan (a maintained scanner, used by the Hugging Face
Hub) lists the globals a pickle imports without loading it. A file that imports a global it
rates dangerous (``os.system``, ``builtins.eval``, ...) or that it cannot parse is refused unless
the user passes ``--allow-pickle=unsafe``; the verdict goes into the report either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path, PurePosixPath

from hubaudit.errors import UnsafePickle

UNSAFE = "unsafe"
"""``allow_pickle=UNSAFE`` (``--allow-pickle=unsafe``): load pickles the scanner flags too."""
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
"""Weight files that are pickles (torch.save); ``.safetensors`` files are the safe kind."""


def pickle_only_components(files: list[str]) -> list[str]:
    """Folders (pipeline components) holding pickle weights but no ``.safetensors`` file."""
    by_folder: dict[str, set[str]] = {}
    for path in files:
        parts = PurePosixPath(path)
        folder = _component_folder(path)
        if parts.suffix == ".safetensors":
            by_folder.setdefault(folder, set()).add("safe")
        elif parts.suffix in PICKLE_SUFFIXES:
            by_folder.setdefault(folder, set()).add("pickle")
    return sorted(folder for folder, kinds in by_folder.items() if kinds == {"pickle"})


def _component_folder(path: str) -> str:
    """The pipeline component a repository file belongs to: its folder, or ``(root)``."""
    parent = str(PurePosixPath(path).parent)
    return parent if parent != "." else "(root)"


def loaded_pickle_files(files: Iterable[str]) -> list[str]:
    """The pickle weight files a loader reads: those of components without any ``.safetensors`` file."""
    files = list(files)
    pickle_only = pickle_only_components(files)
    return [path for path in files if PurePosixPath(path).suffix in PICKLE_SUFFIXES and _component_folder(path) in pickle_only]


def scan_pickle_files(reference: str, files: Mapping[str, Path], *, allow_pickle: bool | str) -> dict:
    """Scan the pickle ``files`` (repository path -> local path) of ``reference``; return the report's verdict.

    Returns:
        ``{"scanner", "verdict": "clean" | "flagged", "accepted_unsafe", "files": {path: {"dangerous_globals",
        "suspicious_globals", "unreadable"}}}``.

    Raises:
        UnsafePickle: a file is flagged and ``allow_pickle`` is not :data:`UNSAFE`.
    """
    from picklescan.scanner import SafetyLevel, scan_file_path

    results = {}
    for name, path in sorted(files.items()):
        scanned = scan_file_path(str(path))
        globals_by_safety = {level: sorted({f"{found.module}.{found.name}" for found in scanned.globals if found.safety == level})
                             for level in (SafetyLevel.Dangerous, SafetyLevel.Suspicious)}
        results[name] = {
            "dangerous_globals": globals_by_safety[SafetyLevel.Dangerous],
            "suspicious_globals": globals_by_safety[SafetyLevel.Suspicious],
            "unreadable": bool(scanned.scan_err),
        }
    flagged = {name: result for name, result in results.items() if result["dangerous_globals"] or result["unreadable"]}
    if flagged and allow_pickle != UNSAFE:
        name, result = next(iter(flagged.items()))
        found = ", ".join(result["dangerous_globals"]) or "a pickle picklescan cannot parse"
        raise UnsafePickle(reference, name, found)
    return {
        "scanner": f"picklescan {version('picklescan')}",
        "verdict": "flagged" if flagged else "clean",
        "accepted_unsafe": bool(flagged),
        "files": results,
    }
