"""Resolve a model reference to exact content and check, from metadata alone, that it is safe to load.

Nothing here imports torch or diffusers: a refusal that the repository's files decide (not found,
gated, offline, not a pipeline, pickle-only weights, code from an unknown library) answers in
well under a second. Every Hub failure becomes one :mod:`hubaudit.errors` class.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import huggingface_hub
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hubaudit import families
from hubaudit.errors import (
    AdapterWithoutBase,
    ComponentFolderGiven,
    GatedRepo,
    InvalidModelIndex,
    InvalidSamplerConfig,
    MissingComponent,
    NotADiffusersRepo,
    OfflineNotCached,
    PickleWeightsRefused,
    RemoteCodeRefused,
    RepoNotFound,
    RevisionNotFound,
)
from hubaudit.hub.adapters import MODEL_CARD, AdapterSpec, detect_adapter, safetensors_tensor_names
from hubaudit.hub.pickles import loaded_pickle_files, pickle_only_components, scan_pickle_files
from hubaudit.hub.reference import ModelReference, parse_model_reference

MODEL_INDEX = "model_index.json"
#: Libraries whose classes ``from_pretrained`` imports from installed packages (no repository code).
TRUSTED_LIBRARIES = ("diffusers", "transformers")
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
        adapter: for a LoRA, embedding or single-file repository, what it holds (else None);
            ``pipeline_class`` and ``model_index`` are then the base pipeline's.
        base: the resolved base pipeline of an adapter (else None).
        pickle_scan: with ``allow_pickle``, picklescan's verdict on the pickle weights that load
            (:func:`hubaudit.hub.pickles.scan_pickle_files`); None when none load.
    """

    reference: ModelReference
    sha: str
    pipeline_class: str
    model_index: dict
    files: list[str] = field(repr=False)
    location: str
    offline: bool = False
    adapter: AdapterSpec | None = None
    base: ResolvedModel | None = None
    pickle_scan: dict | None = None

    @property
    def pipeline_model(self) -> ResolvedModel:
        """The model whose ``model_index.json`` and component folders build the pipeline: the base of an adapter."""
        return self.base if self.base is not None else self

    @property
    def components(self) -> dict[str, tuple[str, str]]:
        """Component name -> (library, class) for every non-empty component of ``model_index.json``."""
        return {
            name: (str(spec[0]), str(spec[1]))
            for name, spec in self.model_index.items()
            if not name.startswith("_") and isinstance(spec, list) and len(spec) == 2 and spec[0] and spec[1]
        }

    @property
    def custom_code(self) -> str | None:
        """What in ``model_index.json`` would import code from outside diffusers and transformers, or None.

        A component's library is trusted when it is ``diffusers``, ``transformers`` or one of the
        pipeline modules inside the installed diffusers (``stable_diffusion``, ``deepfloyd_if``, ...),
        where diffusers records the classes those modules define. Whether the class exists there is
        checked when the pipeline class is imported (:func:`hubaudit.hub.loading.pipeline_class_of`).
        A ``["hubaudit", class]`` component is trusted for exactly hubaudit's own classes
        (:data:`hubaudit.families.FAMILY_CLASSES`).
        """
        if isinstance(self.model_index.get("_class_name"), list):
            return f"custom pipeline {self.pipeline_class} from the repository"
        for name, (library, class_name) in self.components.items():
            if library == families.LIBRARY and class_name not in families.FAMILY_CLASSES:
                return f"component {name!r}: {class_name} is not one of hubaudit's classes"
            if library not in (*TRUSTED_LIBRARIES, families.LIBRARY) and not is_diffusers_pipeline_module(library):
                return f"component {name!r} from {library!r}"
        return None

    def fetch(self, relative_path: str, *, token: str | None = None) -> Path:
        """A local path to one of the model's files (downloaded at the pinned sha for Hub models)."""
        return _fetch_pinned(self, relative_path, token=token)

    def read_json(self, relative_path: str, *, token: str | None = None) -> dict:
        """A JSON file of the model (a component config), parsed; {} when the model has no such file."""
        if relative_path not in self.files:
            return {}
        return read_json_object(self.fetch(relative_path, token=token), str(self.reference))


def is_diffusers_pipeline_module(library: str) -> bool:
    """True when ``library`` names a pipeline module of the installed diffusers (``diffusers/pipelines/<library>``,
    or ``diffusers/pipelines/deprecated/<library>`` where diffusers moved it: see :func:`is_deprecated_pipeline_module`).

    Checked on the file system, so diffusers is not imported.
    """
    return _pipeline_module_file("pipelines", library) or is_deprecated_pipeline_module(library)


def is_deprecated_pipeline_module(library: str) -> bool:
    """True when ``library`` names a pipeline module diffusers moved to ``diffusers/pipelines/deprecated/<library>``
    (``wuerstchen``: Würstchen's and Stable Cascade's ``PaellaVQModel``, ...). Repositories still name it
    ``["wuerstchen", class]``, which ``DiffusionPipeline.from_pretrained`` no longer imports."""
    return _pipeline_module_file("pipelines/deprecated", library)


def _pipeline_module_file(folder: str, library: str) -> bool:
    """True when the installed diffusers has ``<folder>/<library>/__init__.py`` (diffusers not imported)."""
    spec = importlib.util.find_spec("diffusers")
    if spec is None or not spec.submodule_search_locations or not library.isidentifier():
        return False
    return any((Path(root) / folder / library / "__init__.py").is_file() for root in spec.submodule_search_locations)


def resolve_model(
    reference: ModelReference,
    *,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    base: str | None = None,
    allow_local: bool = True,
) -> ResolvedModel:
    """Pin ``reference`` to a commit, read its ``model_index.json`` and check it is safe to load.

    A repository without ``model_index.json`` that holds a LoRA, a textual-inversion embedding
    or a single-file checkpoint resolves to that adapter on its base pipeline: ``base``
    (``org/name[@revision]``, or a folder with ``allow_local``) or the card's ``base_model``.

    Raises:
        RepoNotFound, RevisionNotFound, GatedRepo, OfflineNotCached: the Hub said no.
        NotADiffusersRepo: no ``model_index.json`` and no adapter weights.
        ComponentFolderGiven: a local folder that is a component of the pipeline in its parent folder.
        MissingComponent: a component ``model_index.json`` names has no folder.
        AdapterWithoutBase: an adapter whose base model is unknown (or is itself an adapter).
        InvalidModelIndex: ``model_index.json`` is not valid JSON or names no pipeline class.
        RemoteCodeRefused: custom code needed and ``trust_remote_code`` is False.
        PickleWeightsRefused: a component has only pickle weights and ``allow_pickle`` is False.
        UnsafePickle: with ``allow_pickle``, such weights import dangerous globals (unless ``allow_pickle="unsafe"``).
    """
    pinned = _pin_local(reference) if reference.local_path is not None else _pin_hub(reference, token=token)
    if MODEL_INDEX not in pinned.files:
        _refuse_component_folder(pinned)
        return _resolve_adapter(
            pinned,
            token=token,
            base=base,
            allow_local=allow_local,
            allow_pickle=allow_pickle,
            trust_remote_code=trust_remote_code,
        )
    model_index = _read_model_index(pinned.fetch(MODEL_INDEX, token=token), reference)
    resolved = ResolvedModel(
        reference, pinned.sha, _pipeline_class(model_index), model_index, pinned.files, pinned.location, pinned.offline
    )
    _check_component_folders(resolved)
    custom_code = resolved.custom_code
    if custom_code and not trust_remote_code:
        raise RemoteCodeRefused(str(reference), custom_code)
    pickle_only = pickle_only_components(resolved.files)
    if pickle_only and not allow_pickle:
        raise PickleWeightsRefused(str(reference), pickle_only)
    if pickle_only:
        files = {path: resolved.fetch(path, token=token) for path in loaded_pickle_files(resolved.files)}
        resolved = replace(resolved, pickle_scan=scan_pickle_files(str(reference), files, allow_pickle=allow_pickle))
    return resolved


def _refuse_component_folder(pinned: _PinnedFiles) -> None:
    """A local folder with a component's config whose parent holds ``model_index.json`` is a part of that
    pipeline (its ``unet/``, say): :class:`ComponentFolderGiven` names the parent."""
    folder = pinned.reference.local_path
    if folder is None or not (folder.parent / MODEL_INDEX).is_file():
        return
    if any(name.endswith("config.json") and "/" not in name for name in pinned.files):
        raise ComponentFolderGiven(folder, folder.name, folder.parent)


def _check_component_folders(resolved: ResolvedModel) -> None:
    """Every component ``model_index.json`` names (but the safety checker, which is left out by default) has its
    folder; a cached snapshot of an offline scan is not checked (what it lacks was never downloaded)."""
    if resolved.offline:
        return
    folders = {path.partition("/")[0] for path in resolved.files if "/" in path}
    for name, (_, class_name) in resolved.components.items():
        if name not in folders and name != "safety_checker":
            where = Path(resolved.location) / name if resolved.reference.local_path is not None else f"{name}/"
            raise MissingComponent(str(resolved.reference), name, class_name, where)


def _resolve_adapter(
    pinned: _PinnedFiles,
    *,
    token: str | None,
    base: str | None,
    allow_local: bool,
    allow_pickle: bool,
    trust_remote_code: bool,
) -> ResolvedModel:
    """A repository without ``model_index.json``: LoRA, embedding or single-file checkpoint on a base pipeline."""
    reference = str(pinned.reference)
    card = (
        pinned.fetch(MODEL_CARD, token=token).read_text(encoding="utf-8", errors="replace")
        if MODEL_CARD in pinned.files
        else None
    )
    adapter = detect_adapter(
        pinned.files, lambda name: safetensors_tensor_names(pinned.fetch(name, token=token)), card
    )
    if adapter is None:
        raise NotADiffusersRepo(reference)
    base_text = base or adapter.base_model
    if not base_text:
        raise AdapterWithoutBase(reference, adapter.kind)
    base_model = resolve_reference(
        base_text, token=token, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, allow_local=allow_local
    )
    if base_model.base is not None:
        raise AdapterWithoutBase(reference, adapter.kind, base_text)
    return ResolvedModel(
        pinned.reference,
        pinned.sha,
        base_model.pipeline_class,
        base_model.model_index,
        pinned.files,
        pinned.location,
        pinned.offline,
        adapter=adapter,
        base=base_model,
    )


def resolve_reference(
    text: str,
    *,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    base: str | None = None,
    allow_local: bool = True,
) -> ResolvedModel:
    """:func:`resolve_model` of the reference ``text`` (``org/name[@revision]``, or a folder with ``allow_local``)."""
    return resolve_model(
        parse_model_reference(text, allow_local=allow_local),
        token=token,
        allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code,
        base=base,
        allow_local=allow_local,
    )


def check_lora_scale(resolved: ResolvedModel, lora_scale: float) -> None:
    """Refuse a LoRA scale other than 1 for a model that holds no LoRA (a pipeline, an embedding, a single-file
    checkpoint): it would change nothing but the sample store's key.

    Raises:
        InvalidSamplerConfig: ``lora_scale`` is not 1 and ``resolved`` is no LoRA.
    """
    kind = resolved.adapter.kind if resolved.adapter is not None else None
    if lora_scale == 1.0 or kind == "lora":
        return
    holds = {
        None: "holds no LoRA",
        "textual-inversion": "is a textual-inversion embedding",
        "single-file": "is a single-file checkpoint",
    }.get(kind, f"holds {kind} weights")
    raise InvalidSamplerConfig(
        f"lora_scale {lora_scale:g} weighs a LoRA, and {str(resolved.reference)!r} {holds}: drop lora_scale",
        options=["lora_scale"],
    )


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


def read_json_object(path: Path, reference: str) -> dict:
    """Parse the JSON object in ``path``; :class:`InvalidModelIndex` names the line and column when it is not one."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InvalidModelIndex(
            reference, Path(path).name, f"not valid JSON (line {err.lineno}, column {err.colno})"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidModelIndex(reference, Path(path).name, f"unreadable ({err.__class__.__name__})") from err
    if not isinstance(value, dict):
        raise InvalidModelIndex(reference, Path(path).name, "not a JSON object")
    return value


def _has_token(token: str | None) -> bool:
    return bool(token or huggingface_hub.get_token())


def _is_network_failure(err: Exception) -> bool:
    if isinstance(err, HfHubHTTPError):
        return False
    return isinstance(err, (OfflineModeIsEnabled, ConnectionError, TimeoutError, _HTTP_LIBRARY_ERROR))


@dataclass(frozen=True)
class _PinnedFiles:
    """A reference pinned to exact content: its sha, file list, and where ``from_pretrained`` finds it."""

    reference: ModelReference
    sha: str
    files: list[str]
    location: str
    offline: bool = False

    def fetch(self, relative_path: str, *, token: str | None) -> Path:
        return _fetch_pinned(self, relative_path, token=token)


def _fetch_pinned(pinned: ResolvedModel | _PinnedFiles, relative_path: str, *, token: str | None) -> Path:
    """A local path to a file of a pinned model: in its folder, or downloaded at its sha."""
    if pinned.reference.local_path is not None:
        return Path(pinned.location) / relative_path
    with hub_errors(pinned.location, pinned.sha, token=token):
        return Path(
            hf_hub_download(
                pinned.location, relative_path, revision=pinned.sha, token=token, local_files_only=pinned.offline
            )
        )


def _pin_hub(reference: ModelReference, *, token: str | None) -> _PinnedFiles:
    repo_id, revision = str(reference.repo_id), reference.revision
    try:
        with hub_errors(repo_id, revision, token=token):
            info = HfApi().model_info(repo_id, revision=revision, token=token)
    except Exception as err:
        if not _is_network_failure(err):
            raise
        return _pin_cached(reference, token=token)
    files = [sibling.rfilename for sibling in info.siblings or []]
    # One download by the user's revision records revision -> sha in the cache, for offline reruns;
    # every file is then read at the sha model_info saw, even if the branch has moved since.
    first_file = MODEL_INDEX if MODEL_INDEX in files else MODEL_CARD if MODEL_CARD in files else None
    if first_file is not None:
        with hub_errors(repo_id, revision, token=token):
            hf_hub_download(repo_id, first_file, revision=revision, token=token)
    return _PinnedFiles(reference, str(info.sha), files, repo_id)


def _repo_exists(repo_id: str, *, token: str | None) -> bool:
    try:
        HfApi().model_info(repo_id, token=token)
    except HfHubHTTPError:
        return False
    return True


def _pin_cached(reference: ModelReference, *, token: str | None) -> _PinnedFiles:
    """The Hub is unreachable: use the cached snapshot of the revision, if any."""
    repo_id = str(reference.repo_id)
    try:
        snapshot = Path(snapshot_download(repo_id, revision=reference.revision, token=token, local_files_only=True))
    except Exception as err:
        raise OfflineNotCached(repo_id, reference.revision) from err
    files = sorted(str(p.relative_to(snapshot).as_posix()) for p in snapshot.rglob("*") if p.is_file())
    return _PinnedFiles(reference, snapshot.name, files, repo_id, offline=True)


def _pin_local(reference: ModelReference) -> _PinnedFiles:
    folder = Path(str(reference.local_path))
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts)
    files = [p.relative_to(folder).as_posix() for p in paths]
    return _PinnedFiles(reference, _fingerprint(folder, paths), files, str(folder))


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
    model_index = read_json_object(path, str(reference))
    name = model_index.get("_class_name")
    if not (isinstance(name, str) and name) and not (
        isinstance(name, list) and name and all(isinstance(n, str) for n in name)
    ):
        raise InvalidModelIndex(str(reference), MODEL_INDEX, "missing its pipeline class (_class_name)")
    return model_index


def _pipeline_class(model_index: dict) -> str:
    name = model_index["_class_name"]
    return str(name[-1] if isinstance(name, list) else name)
