"""Resolve a model reference to an exact commit and load its diffusers pipeline safely.

Safety rules: weights load from safetensors only unless ``allow_pickle``; code from the
repository (custom pipelines or components) never runs unless ``trust_remote_code``.
Every Hub failure becomes one :mod:`hubaudit.errors` class.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import diffusers
import huggingface_hub
import torch
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hubaudit.errors import (
    GatedRepo,
    HubAuditError,
    NotADiffusersRepo,
    OfflineNotCached,
    PickleWeightsRefused,
    PipelineLoadFailed,
    RemoteCodeRefused,
    RepoNotFound,
    RevisionNotFound,
    UnsupportedPipeline,
)
from hubaudit.hub.reference import ModelReference

#: Pipeline classes hubaudit samples, by how they are conditioned.
SUPPORTED_PIPELINES: dict[str, str] = {
    "DDPMPipeline": "unconditional",  # becomes class-conditional when its UNet has class embeddings
    "DDIMPipeline": "unconditional",
    "ScoreSdeVePipeline": "unconditional",
    "LDMPipeline": "unconditional",
    "DiTPipeline": "class-conditional",
    "StableDiffusionPipeline": "text-to-image",
    "StableDiffusionXLPipeline": "text-to-image",
}
_TRUSTED_LIBRARIES = {"diffusers", "transformers", None}
_PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
# The HTTP library's base error (httpx or requests, by huggingface_hub version); its
# subclasses other than HfHubHTTPError are transport failures: no connection, time-out.
_HTTP_LIBRARY_ERROR = HfHubHTTPError.__mro__[1]


@dataclass(frozen=True)
class ResolvedModel:
    """A model pinned to exact content, checked and ready to load.

    Attributes:
        reference: what the user asked for.
        sha: the commit sha on the Hub, or ``local-<sha256 of the files>`` for a folder.
        pipeline_class: ``_class_name`` from ``model_index.json``.
        model_index: the parsed ``model_index.json``.
        files: repository-relative paths of every file in the model.
        location: what ``from_pretrained`` is given: the repo id, or the local folder.
        offline: True when the Hub could not be reached and the local cache was used.
    """

    reference: ModelReference
    sha: str
    pipeline_class: str
    model_index: dict
    files: list[str] = field(repr=False)
    location: str
    offline: bool = False

    @property
    def needs_remote_code(self) -> str | None:
        """What in the model would run repository code, or None."""
        if isinstance(self.model_index.get("_class_name"), list) or self.pipeline_class not in dir(diffusers):
            return f"custom pipeline {self.pipeline_class}"
        for name, spec in self.model_index.items():
            if not name.startswith("_") and isinstance(spec, list) and spec and spec[0] not in _TRUSTED_LIBRARIES:
                return f"component {name!r} from {spec[0]!r}"
        return None


def resolve_model(
    reference: ModelReference,
    *,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
) -> ResolvedModel:
    """Pin ``reference`` to a commit, read its ``model_index.json`` and check it is safe to load.

    Raises:
        RepoNotFound, RevisionNotFound, GatedRepo, OfflineNotCached: the Hub said no.
        NotADiffusersRepo: no ``model_index.json``.
        RemoteCodeRefused: custom code needed and ``trust_remote_code`` is False.
        UnsupportedPipeline: a pipeline class hubaudit cannot sample.
        PickleWeightsRefused: a component has only pickle weights and ``allow_pickle`` is False.
    """
    if reference.local_path is not None:
        resolved = _resolve_local(reference)
    else:
        resolved = _resolve_hub(reference, token=token)
    remote_code = resolved.needs_remote_code
    if remote_code and not trust_remote_code:
        raise RemoteCodeRefused(str(reference), remote_code)
    if not remote_code and resolved.pipeline_class not in SUPPORTED_PIPELINES:
        raise UnsupportedPipeline(str(reference), resolved.pipeline_class, sorted(SUPPORTED_PIPELINES))
    pickle_only = pickle_only_components(resolved.files)
    if pickle_only and not allow_pickle:
        raise PickleWeightsRefused(str(reference), pickle_only)
    return resolved


def load_pipeline(
    resolved: ResolvedModel,
    *,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    dtype: torch.dtype = torch.float32,
) -> diffusers.DiffusionPipeline:
    """Load the pinned pipeline through ``DiffusionPipeline.from_pretrained``, on the CPU in ``dtype``."""
    options: dict = {
        "use_safetensors": None if allow_pickle else True,
        "trust_remote_code": trust_remote_code,
        "dtype": dtype,
    }
    if resolved.reference.local_path is None:
        options |= {"revision": resolved.sha, "token": token, "local_files_only": resolved.offline}
    if resolved.pipeline_class.startswith("StableDiffusion"):
        options |= {"safety_checker": None, "requires_safety_checker": False}
    diffusers.utils.logging.disable_progress_bar()
    try:
        with hub_errors(str(resolved.reference.repo_id), resolved.sha, token=token):
            return diffusers.DiffusionPipeline.from_pretrained(resolved.location, **options)
    except (OSError, ValueError, KeyError) as err:
        if isinstance(err, HubAuditError):
            raise
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise PipelineLoadFailed(str(resolved.reference), reason) from err


def pickle_only_components(files: list[str]) -> list[str]:
    """Folders (pipeline components) holding pickle weights but no ``.safetensors`` file."""
    by_folder: dict[str, set[str]] = {}
    for path in files:
        parts = PurePosixPath(path)
        folder = str(parts.parent) if str(parts.parent) != "." else "(root)"
        if parts.suffix == ".safetensors":
            by_folder.setdefault(folder, set()).add("safe")
        elif parts.suffix in _PICKLE_SUFFIXES:
            by_folder.setdefault(folder, set()).add("pickle")
    return sorted(folder for folder, kinds in by_folder.items() if kinds == {"pickle"})


@contextmanager
def hub_errors(repo_id: str, revision: str | None, *, token: str | None) -> Iterator[None]:
    """Turn huggingface_hub's repository errors raised inside the block into hubaudit's.

    Some Hub servers answer "repository not found" for an unknown revision; then the
    repository itself is looked up to tell the two apart.
    """
    try:
        yield
    except GatedRepoError as err:
        raise GatedRepo(repo_id, has_token=_has_token(token)) from err
    except RevisionNotFoundError as err:
        raise RevisionNotFound(repo_id, str(revision)) from err
    except RepositoryNotFoundError as err:
        if revision is not None and _repo_exists(repo_id, token=token):
            raise RevisionNotFound(repo_id, revision) from err
        raise RepoNotFound(repo_id) from err


def _has_token(token: str | None) -> bool:
    return bool(token or huggingface_hub.get_token())


def _is_network_failure(err: Exception) -> bool:
    if isinstance(err, HfHubHTTPError):
        return False
    return isinstance(err, (OfflineModeIsEnabled, ConnectionError, TimeoutError, _HTTP_LIBRARY_ERROR))


def _resolve_hub(reference: ModelReference, *, token: str | None) -> ResolvedModel:
    repo_id, revision = str(reference.repo_id), reference.revision
    try:
        with hub_errors(repo_id, revision, token=token):
            info = HfApi().model_info(repo_id, revision=revision, token=token)
    except Exception as err:
        if not _is_network_failure(err):
            raise
        return _resolve_cached(reference, token=token)
    files = [sibling.rfilename for sibling in info.siblings or []]
    if "model_index.json" not in files:
        raise NotADiffusersRepo(str(reference))
    # Downloading by the user's revision records revision -> sha in the cache, for offline reruns.
    index_path = Path(hf_hub_download(repo_id, "model_index.json", revision=revision, token=token))
    if index_path.parent.name != info.sha:  # the branch moved since model_info: stay on what it saw
        index_path = Path(hf_hub_download(repo_id, "model_index.json", revision=info.sha, token=token))
    model_index = _read_model_index(index_path, reference)
    return ResolvedModel(reference, str(info.sha), _pipeline_class(model_index), model_index, files, repo_id)


def _repo_exists(repo_id: str, *, token: str | None) -> bool:
    try:
        HfApi().model_info(repo_id, token=token)
    except HfHubHTTPError:
        return False
    return True


def _resolve_cached(reference: ModelReference, *, token: str | None) -> ResolvedModel:
    """The Hub is unreachable: use the cached snapshot of the revision, if any."""
    repo_id = str(reference.repo_id)
    try:
        snapshot = Path(snapshot_download(repo_id, revision=reference.revision, token=token, local_files_only=True))
    except Exception as err:
        raise OfflineNotCached(repo_id, reference.revision) from err
    index_file = snapshot / "model_index.json"
    if not index_file.is_file():
        raise NotADiffusersRepo(str(reference))
    model_index = _read_model_index(index_file, reference)
    files = sorted(str(p.relative_to(snapshot).as_posix()) for p in snapshot.rglob("*") if p.is_file())
    return ResolvedModel(reference, snapshot.name, _pipeline_class(model_index), model_index, files, repo_id, offline=True)


def _resolve_local(reference: ModelReference) -> ResolvedModel:
    folder = Path(str(reference.local_path))
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise NotADiffusersRepo(str(reference))
    model_index = _read_model_index(index_file, reference)
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts)
    files = [p.relative_to(folder).as_posix() for p in paths]
    return ResolvedModel(reference, _fingerprint(folder, paths), _pipeline_class(model_index), model_index, files, str(folder))


def _fingerprint(folder: Path, paths: list[Path]) -> str:
    """``local-`` + sha256 over every file's relative path and content."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return "local-" + digest.hexdigest()


def _read_model_index(path: Path, reference: ModelReference) -> dict:
    try:
        model_index = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise NotADiffusersRepo(str(reference)) from err
    if not isinstance(model_index, dict) or "_class_name" not in model_index:
        raise NotADiffusersRepo(str(reference))
    return model_index


def _pipeline_class(model_index: dict) -> str:
    name = model_index["_class_name"]
    return str(name[-1] if isinstance(name, list) else name)

