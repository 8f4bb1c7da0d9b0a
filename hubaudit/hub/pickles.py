"""Pickle weights, when the user allows them: scanned first with picklescan, refused if they import dangerous globals.

A pickle can run any code when loaded; picklescan (a maintained scanner, used by the Hugging Face
Hub) lists the globals a pickle imports without loading it. A file that imports a global it
rates dangerous (``os.system``, ``builtins.eval``, ...) or suspicious (anything outside its list of
safe globals, such as torch's tensor rebuilders), or that it cannot parse, is refused unless the
user passes ``--allow-pickle=unsafe``; the verdict goes into the report either way.
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
LOADED_SAFETENSORS = frozenset(
    {
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model.safetensors.index.json",
        "model.safetensors",
        "model.safetensors.index.json",
    }
)
"""The safetensors names diffusers and transformers load (no variant): a folder with only other
``.safetensors`` files (``decoy.safetensors``, ``*.fp16.safetensors``) still loads its pickle."""


def pickle_only_components(files: list[str]) -> list[str]:
    """Folders (pipeline components) holding pickle weights but none of the safetensors files a loader reads."""
    by_folder: dict[str, set[str]] = {}
    for path in files:
        parts = PurePosixPath(path)
        folder = _component_folder(path)
        if parts.name in LOADED_SAFETENSORS:
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
    return [
        path
        for path in files
        if PurePosixPath(path).suffix in PICKLE_SUFFIXES and _component_folder(path) in pickle_only
    ]


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
        try:
            scanned = scan_file_path(str(path))
        except Exception:  # picklescan refuses some formats outright: unreadable to it, hence not shown safe
            scanned = None
        found = scanned.globals if scanned is not None else []
        globals_by_safety = {
            level: sorted({f"{item.module}.{item.name}" for item in found if item.safety == level})
            for level in (SafetyLevel.Dangerous, SafetyLevel.Suspicious)
        }
        results[name] = {
            "dangerous_globals": globals_by_safety[SafetyLevel.Dangerous],
            "suspicious_globals": globals_by_safety[SafetyLevel.Suspicious],
            # a torch pickle always imports torch._utils._rebuild_*: no global at all means picklescan could not parse it
            "unreadable": scanned is None or bool(scanned.scan_err) or not found,
        }
    flagged = {
        name: result
        for name, result in results.items()
        if result["dangerous_globals"] or result["suspicious_globals"] or result["unreadable"]
    }
    if flagged and allow_pickle != UNSAFE:
        name, result = next(iter(flagged.items()))
        what = result["dangerous_globals"] or result["suspicious_globals"]
        raise UnsafePickle(reference, name, ", ".join(what) if what else "nothing picklescan can parse")
    return {
        "scanner": f"picklescan {version('picklescan')}",
        "verdict": "flagged" if flagged else "clean",
        "accepted_unsafe": bool(flagged),
        "files": results,
    }
