"""Model references: ``org/name``, ``org/name@revision`` or a local folder."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from hubaudit.errors import InvalidModelReference, LocalPathRefused, ModelFolderNotFound

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class ModelReference:
    """Where a model lives: a Hub repo (with an optional branch, tag or commit) or a local folder."""

    repo_id: str | None = None
    revision: str | None = None
    local_path: Path | None = None

    @property
    def is_local(self) -> bool:
        return self.local_path is not None

    def __str__(self) -> str:
        if self.local_path is not None:
            return str(self.local_path)
        return f"{self.repo_id}@{self.revision}" if self.revision else str(self.repo_id)


def parse_model_reference(text: str, *, allow_local: bool = True) -> ModelReference:
    """Parse ``org/name``, ``org/name@revision`` or (with ``allow_local``) an existing folder.

    An existing folder wins over a Hub id of the same spelling; a text that can only be a path
    (``./x``, ``/x``, ``~/x``, ``a/b/c``) and names no folder is :class:`ModelFolderNotFound`. The Space passes
    ``allow_local=False`` so that web users can name Hub models only: then a text that is a path
    on this machine is refused (:class:`LocalPathRefused`), since libraries that take
    ``org/name`` (transformers, datasets) load a folder of that name when there is one.

    Example:
        >>> parse_model_reference("google/ddpm-cifar10-32@main")
        ModelReference(repo_id='google/ddpm-cifar10-32', revision='main', local_path=None)
    """
    text = text.strip()
    if text and Path(text).expanduser().exists():
        if not allow_local:
            raise LocalPathRefused(text)
        if Path(text).expanduser().is_dir():
            return ModelReference(local_path=Path(text).expanduser().resolve())
    repo_id, _, revision = text.partition("@")
    if (
        not allow_local and repo_id and Path(repo_id).expanduser().exists()
    ):  # from_pretrained("org/name", revision=...) reads it
        raise LocalPathRefused(text)
    if allow_local and _looks_like_a_path(text) and not Path(text).expanduser().exists():
        raise ModelFolderNotFound(text, _similar_folder(text))
    if not _REPO_ID.match(repo_id) or ".." in repo_id or (revision == "" and "@" in text):
        raise InvalidModelReference(text)
    return ModelReference(repo_id=repo_id, revision=revision or None)


def _looks_like_a_path(text: str) -> bool:
    """Whether ``text`` can only be a path: it starts with ``.``, ``/`` or ``~``, or the part before any ``@revision``
    holds a separator no ``org/name`` has (a second slash, or a backslash on Windows)."""
    name = text.partition("@")[0]
    return text.startswith((".", "/", "~")) or name.count("/") > 1 or (os.sep != "/" and os.sep in name)


def _similar_folder(text: str) -> str | None:
    """A folder beside the missing one whose name is close to it (``./out/mnist-zeros3`` -> ``./out/mnist-zeros30``)."""
    path = Path(text).expanduser()
    parent = path.parent
    if not parent.is_dir():
        return None
    try:
        siblings = [child.name for child in parent.iterdir() if child.is_dir()]
    except OSError:
        return None
    close = difflib.get_close_matches(path.name, siblings, n=1, cutoff=0.8)
    return str(Path(text).parent / close[0]) if close else None
