"""Load a transformers model and its processor from the Hub or a folder, pinned and safely.

The revision is resolved to a commit once, so model and processor come from the same
commit and reports can record it; weights load from safetensors only unless
``allow_pickle``; repository code never runs. Failures become :mod:`hubaudit.errors` classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import huggingface_hub
import numpy as np
import torch
from huggingface_hub.errors import LocalEntryNotFoundError, RevisionResolutionError

from hubaudit.annotate.base import Annotator, Attribute, as_rgb
from hubaudit.errors import OfflineNotCached, PickleWeightsRefused, RemoteCodeRefused, UnsupportedAnnotatorModel
from hubaudit.hub import ModelReference, hub_errors, parse_model_reference
from hubaudit.hub.pickles import loaded_pickle_files, scan_pickle_files


@dataclass(frozen=True)
class PretrainedModel:
    """A loaded model and processor, and where they came from.

    Attributes:
        model: the transformers model, in eval mode on the CPU.
        processor: its processor (image processor, or image + text processor).
        model_id: the Hub repo id, or the absolute folder.
        revision: the commit sha for a Hub model; None for a folder.
        pickle_scan: picklescan's verdict on the pickle weights it loaded (``allow_pickle``); None when none.
    """

    model: Any
    processor: Any
    model_id: str
    revision: str | None
    pickle_scan: dict | None = None


class PretrainedAnnotator(Annotator):
    """An annotator over a transformers model it does not own: saving records the id and commit."""

    def __init__(
        self,
        attribute: Attribute,
        loaded: PretrainedModel,
        *,
        device: str | torch.device | None,
        confusion: np.ndarray | None,
    ):
        super().__init__(attribute, device=device, confusion=confusion)
        self.model_id, self.revision = loaded.model_id, loaded.revision
        self.pickle_scan = loaded.pickle_scan
        self._model = loaded.model.to(self.device)
        self._processor = loaded.processor

    @property
    def pinned_model(self) -> str:
        """``model_id@<commit, 12 hex>`` for a Hub model, the folder for a local one, and how its pickle
        weights were scanned if it has any (for descriptions)."""
        pinned = f"{self.model_id}@{self.revision[:12]}" if self.revision else self.model_id
        if self.pickle_scan is None:
            return pinned
        return f"{pinned} [pickle weights, {self.pickle_scan['scanner']}: {self.pickle_scan['verdict']}]"

    def _pixel_values(self, images: np.ndarray) -> torch.Tensor:
        """The processor's ``pixel_values`` for ``images`` (made RGB; the processor resizes), on the device."""
        pixels = self._processor(images=list(as_rgb(images)), return_tensors="pt", input_data_format="channels_last")
        return pixels["pixel_values"].to(self.device)

    def _config(self) -> dict:
        return {"model_id": self.model_id, "revision": self.revision}


def load_pretrained(
    model_class: Any,
    processor_class: Any,
    model_id: str,
    *,
    revision: str | None,
    token: str | None,
    allow_pickle: bool,
    expected: str,
    allow_local: bool = True,
) -> PretrainedModel:
    """``model_class.from_pretrained`` + ``processor_class.from_pretrained`` of ``model_id``.

    ``model_id`` is a Hub id or a folder; ``revision`` a branch, tag or commit (a revision
    given as ``org/name@rev`` in ``model_id`` is used when ``revision`` is None); ``expected``
    names what is wanted ("a CLIP model") in the error when the model is of another kind;
    ``allow_local=False`` refuses folders (:class:`hubaudit.errors.LocalPathRefused`).
    """
    reference = parse_model_reference(
        model_id if revision is None else f"{model_id}@{revision}", allow_local=allow_local
    )
    location = str(reference.local_path) if reference.is_local else str(reference.repo_id)
    pinned = None if reference.is_local else _pinned_commit(str(reference.repo_id), reference.revision, token=token)
    pickle_scan = (
        _scan_pickle_weights(reference, pinned, token=token, allow_pickle=allow_pickle) if allow_pickle else None
    )
    # A plain commit sha (not "main") also keeps transformers from asking the Hub to convert pickle weights.
    options = {"revision": pinned, "token": token, "trust_remote_code": False}
    try:
        weights = {
            "use_safetensors": None if allow_pickle else True,
            "dtype": torch.float32,
            "output_loading_info": True,
        }
        model, loading_info = model_class.from_pretrained(location, **weights, **options)
        processor = processor_class.from_pretrained(location, **options)
    except (OSError, ValueError, KeyError) as err:
        message = str(err)
        if "trust_remote_code" in message:
            raise RemoteCodeRefused(str(reference), "custom model code") from err
        if isinstance(err.__cause__, LocalEntryNotFoundError):
            raise OfflineNotCached(str(reference.repo_id), reference.revision) from err
        if isinstance(err, OSError) and "safetensors" in message:
            raise PickleWeightsRefused(str(reference), ["model"]) from err
        raise UnsupportedAnnotatorModel(f"cannot load {reference} as {expected}: {message.splitlines()[0]}") from err
    if loading_info["missing_keys"]:
        # e.g. a CLIP checkpoint loaded as a classifier: the head would be random
        missing = sorted(loading_info["missing_keys"])
        raise UnsupportedAnnotatorModel(
            f"{reference} is not {expected}: it has no weights for {', '.join(missing[:3])}"
        )
    return PretrainedModel(model.eval(), processor, location, pinned, pickle_scan)


def _scan_pickle_weights(
    reference: ModelReference, pinned: str | None, *, token: str | None, allow_pickle: bool | str
) -> dict | None:
    """picklescan's verdict on the pickle weights transformers would load (none where safetensors exist).

    Raises:
        UnsafePickle: a pickle imports dangerous globals and ``allow_pickle`` is not ``"unsafe"``.
    """
    if reference.is_local:
        root = Path(reference.local_path)
        files = {str(path.relative_to(root)): path for path in root.rglob("*") if path.is_file()}
        loaded = loaded_pickle_files(files)
        paths = {name: files[name] for name in loaded}
    else:
        repo_id = str(reference.repo_id)
        with hub_errors(repo_id, reference.revision, token=token):
            loaded = loaded_pickle_files(huggingface_hub.list_repo_files(repo_id, revision=pinned, token=token))
            paths = {
                name: Path(huggingface_hub.hf_hub_download(repo_id, name, revision=pinned, token=token))
                for name in loaded
            }
    return scan_pickle_files(str(reference), paths, allow_pickle=allow_pickle) if paths else None


def _pinned_commit(repo_id: str, revision: str | None, *, token: str | None) -> str:
    """The commit ``revision`` of ``repo_id`` points to (from the local cache when offline)."""
    with hub_errors(repo_id, revision, token=token):
        try:
            return huggingface_hub.resolve_revision(repo_id, revision=revision, token=token).resolved
        except RevisionResolutionError as err:
            raise OfflineNotCached(repo_id, revision) from err
