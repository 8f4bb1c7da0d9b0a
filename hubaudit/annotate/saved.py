"""Load an annotator saved with :meth:`Annotator.save`, whatever its kind."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError

from hubaudit.annotate.auxiliary import AuxiliaryAnnotator
from hubaudit.annotate.base import CONFIG_FILE, FORMAT_VERSION, Annotator
from hubaudit.annotate.clip import ClipAnnotator
from hubaudit.annotate.hub_classifier import HubClassifierAnnotator
from hubaudit.errors import HubAuditError, InvalidSavedAnnotator, SavedAnnotatorNotFound, first_line, loading_reason


def load_annotator(
    directory: str | Path,
    *,
    device: str | torch.device | None = None,
    token: str | None = None,
    allow_pickle: bool = False,
) -> Annotator:
    """The annotator saved in ``directory``; a CLIP or classifier annotator reloads its model
    (by Hub id at the saved commit, or folder), using ``token`` and ``allow_pickle``.

    Raises:
        SavedAnnotatorNotFound: ``directory`` does not exist.
        InvalidSavedAnnotator: no readable ``annotator.json``, or an unknown type or version.
    """
    directory = Path(directory)
    if not directory.exists():
        raise SavedAnnotatorNotFound(directory)
    if not directory.is_dir():
        raise InvalidSavedAnnotator(f"{directory} is not a saved annotator: it is a file, not a folder")
    if not (directory / CONFIG_FILE).is_file():
        raise InvalidSavedAnnotator(f"{directory} is not a saved annotator: it has no {CONFIG_FILE}")
    try:
        config = json.loads((directory / CONFIG_FILE).read_text())
    except (OSError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else first_line(err)
        raise InvalidSavedAnnotator(
            f"{directory} is not a saved annotator (cannot read {CONFIG_FILE}: {reason})"
        ) from err
    if not isinstance(config, dict) or config.get("format_version") != FORMAT_VERSION:
        raise InvalidSavedAnnotator(
            f"{directory / CONFIG_FILE}: unknown format version (this hubaudit reads {FORMAT_VERSION})"
        )
    kind = config.get("type")
    if kind not in (ClipAnnotator.kind, HubClassifierAnnotator.kind, AuxiliaryAnnotator.kind):
        raise InvalidSavedAnnotator(f"{directory / CONFIG_FILE}: unknown annotator type {kind!r}")
    try:
        if kind == AuxiliaryAnnotator.kind:
            return AuxiliaryAnnotator.load(directory, config, device=device)
        name, model_id = config["attribute"]["name"], config["model_id"]
        options = {
            "revision": config["revision"],
            "token": token,
            "device": device,
            "allow_pickle": allow_pickle,
            "confusion": config["confusion"],
        }
        if kind == ClipAnnotator.kind:
            return ClipAnnotator(name, config["prompts"], model_id=model_id, **options)
        return HubClassifierAnnotator(name, model_id, label_to_value=config["label_to_value"], **options)
    except HubAuditError:  # the model it names is not found, refused or offline: its own message
        raise
    except (
        KeyError,
        TypeError,
        OSError,
        SafetensorError,
        RuntimeError,
    ) as err:  # RuntimeError: weights that do not fit the config
        raise InvalidSavedAnnotator(
            f"{directory}: cannot load the saved annotator ({type(err).__name__}: {loading_reason(err)})"
        ) from err
