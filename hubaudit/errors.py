"""Every failure hubaudit reports, one class each, grouped like huggingface_hub's errors.

Each class has a one-line docstring and carries the fields a caller needs. The CLI maps
any :class:`HubAuditError` to its one-line message and its ``exit_code`` (2: bad input or an
environment the tool cannot work in). Nothing else in the package prints errors.

A caller catches a whole layer by its group, or a failure by its class; built-in bases let
code that knows nothing of hubaudit catch what it expects::

    HubAuditError
    ├── HubError            resolving a reference: RepoNotFound (a FileNotFoundError; GatedRepo is one),
    │                       RevisionNotFound, OfflineNotCached, InvalidModelReference (ModelFolderNotFound), ...;
    │                       writing: HubWriteFailed (NoWriteAccess, WriteTargetNotFound, WriteConflict, HubUnreachable)
    ├── LoadingError        loading what it names: NotADiffusersRepo, ComponentFolderGiven, MissingComponent,
    │                       PickleWeightsRefused, PipelineLoadFailed, AdapterDoesNotFit, the NCSNv2 import, ...
    ├── SamplingError       sampler options, sampling, the sample store: InvalidSamplerConfig, StoreLocked, ...
    ├── StorageError        files: CannotWrite and CannotRead (OSErrors), NotEnoughDisk (a SamplingError too)
    ├── DataError           InvalidData
    ├── AnnotationError     attribute specs, annotators, gold labels: InvalidAttributeSpec, InvalidSavedAnnotator, ...
    ├── StatisticsError     ClassifierNoBetterThanChance, EmptyGroup, TooFewSamples, InvalidStatisticsOption
    ├── AuditError          audit options and failures: InvalidPropertyOptions, InvalidFairnessOptions, InvalidPlan, ...
    ├── SharerError         the sharer's side: InvalidAttackConfig, TrainingError, UploadFailed
    ├── ReportError         InvalidReport
    └── FrontEndError       the Space, scan-many, publish: ModelTooLarge, ScanNotAvailable, FleetUnavailable,
                            PublishNeedsToken, StaleReport, BotNeedsSecret, BotUnavailable

Every ``Invalid*`` class is also a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable


def first_line(err: BaseException) -> str:
    """The first line of a library exception's message (or its class name): what a one-line error quotes."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def loading_reason(err: BaseException) -> str:
    """A library's loading error in one line; torch's ``load_state_dict`` says what did not fit on the line after its first."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{lines[0]} {lines[1]}" if len(lines) > 1 and lines[0].endswith(":") else first_line(err)


class HubAuditError(Exception):
    """Base class: a failure the user can act on; the CLI prints ``str(err)`` and exits 2.

    ``options`` names the options of :func:`hubaudit.scan` (and the other API verbs) that the
    message speaks of, spelled as the API spells them (``aux_data``); a front end with its own
    spelling rewrites those words (the CLI: ``--aux-data``).
    """

    exit_code = 2

    def __init__(self, *args, options: Iterable[str] = ()):
        super().__init__(*args)
        self.options = tuple(options)


# --- groups: one per layer ----------------------------------------------------------------


class HubError(HubAuditError):
    """A model reference cannot be resolved: not found, gated, offline, malformed, or refused by this front end."""


class LoadingError(HubAuditError):
    """What a reference names cannot be loaded safely: not a pipeline, refused weights or code, files that do not fit."""


class SamplingError(HubAuditError):
    """Sampler options, drawing samples, or the sample store failed."""


class StorageError(HubAuditError):
    """A file or folder the command reads or writes cannot be (missing, permissions, disk full)."""


class DataError(HubAuditError):
    """A labelled data set cannot be used: unreadable, empty, or lacking a column or value."""


class AnnotationError(HubAuditError):
    """An attribute spec, an annotator, or gold labels cannot be used."""


class StatisticsError(HubAuditError):
    """An estimate or test is undefined for the data given, or a statistics option is out of range."""


class AuditError(HubAuditError):
    """An audit's options do not fit together, or an audit failed after sampling."""


class SharerError(HubAuditError):
    """The sharer's side (``hubaudit poison``, ``train``): a poisoning, a training run or an upload failed."""


class ReportError(HubAuditError):
    """A report file cannot be read back."""


class FrontEndError(HubAuditError):
    """A front end (the Space, ``scan-many``) cannot serve the request."""


# --- hub: resolving a reference -------------------------------------------------------------------


class RepoNotFound(HubError, FileNotFoundError):
    """The model repository does not exist (or is private and the token cannot see it)."""

    def __init__(self, repo_id: str, message: str | None = None):
        self.repo_id = repo_id
        super().__init__(
            message or f"repository not found: {repo_id!r} (check the name, or set HF_TOKEN for a private repo)"
        )


class GatedRepo(RepoNotFound):
    """The repository is gated and the token (if any) has not been granted access."""

    def __init__(self, repo_id: str, has_token: bool):
        self.has_token = has_token
        hint = "your token has not been granted access" if has_token else "set HF_TOKEN to a token with access"
        super().__init__(repo_id, f"{repo_id!r} is gated: {hint}")


class RevisionNotFound(HubError):
    """The branch, tag or commit does not exist in the repository."""

    def __init__(self, repo_id: str, revision: str):
        self.repo_id, self.revision = repo_id, revision
        super().__init__(f"revision {revision!r} not found in {repo_id!r}")


class OfflineNotCached(HubError):
    """The Hub cannot be reached (or offline mode is on) and the model is not in the local cache."""

    def __init__(self, repo_id: str, revision: str | None):
        self.repo_id, self.revision = repo_id, revision
        at = f"@{revision}" if revision else ""
        super().__init__(f"cannot reach the Hub and {repo_id}{at} is not in the local cache")


class InvalidModelReference(HubError, ValueError):
    """The model reference is neither ``org/name[@revision]`` nor an existing local folder."""

    def __init__(self, reference: str, message: str | None = None):
        self.reference = reference
        super().__init__(
            message or f"not a model reference: {reference!r} (expected org/name, org/name@revision or a folder)"
        )


class ModelFolderNotFound(InvalidModelReference, FileNotFoundError):
    """A model reference that is a path (``./x``, ``/x``, ``~/x``, ``a/b/c``) names no folder."""

    def __init__(self, reference: str, suggestion: str | None = None):
        self.suggestion = suggestion
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        super().__init__(reference, f"no such folder: {reference}{hint}")


class LocalPathRefused(HubError):
    """A front end that takes Hub ids only (the Space) was given a path on its own machine."""

    def __init__(self, text: str, field: str = "model"):
        self.text, self.field = text, field
        super().__init__(f"{field} {text!r} is a path on this machine; only Hub ids (org/name) are accepted here")


# --- loading: a pipeline, an adapter, a reference checkpoint --------------------------------------


class NotADiffusersRepo(LoadingError):
    """The repository or folder has no ``model_index.json``: it is not a diffusers pipeline."""

    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"{reference!r} is not a diffusers pipeline (no model_index.json)")


class ComponentFolderGiven(LoadingError):
    """The folder given is one component of a pipeline (a ``config.json`` whose parent has ``model_index.json``)."""

    def __init__(self, folder, component: str, pipeline_folder):
        self.folder, self.component, self.pipeline_folder = folder, component, pipeline_folder
        super().__init__(
            f"{folder} is a component ({component}), not a pipeline; its parent {pipeline_folder} is the pipeline: scan that"
        )


class MissingComponent(LoadingError):
    """A component that ``model_index.json`` names has no folder in the model."""

    def __init__(self, reference: str, component: str, class_name: str, folder):
        self.reference, self.component, self.class_name, self.folder = reference, component, class_name, folder
        super().__init__(
            f"component {component} of {reference!r} is missing: no folder {folder} (model_index.json lists {component} as {class_name})"
        )


class UnsupportedPipeline(LoadingError):
    """The pipeline's call cannot be driven as unconditional, class-conditional or text-to-image sampling."""

    def __init__(self, reference: str, pipeline_class: str, reason: str):
        self.reference, self.pipeline_class, self.reason = reference, pipeline_class, reason
        super().__init__(f"{reference!r} is a {pipeline_class}, which hubaudit cannot sample: {reason}")


class UnknownPipelineClass(LoadingError):
    """``model_index.json`` names a class the trusted library it points to does not have (a typo, or a newer diffusers)."""

    def __init__(self, reference: str, class_name: str, library: str):
        self.reference, self.class_name, self.library = reference, class_name, library
        super().__init__(
            f"{reference!r} names unknown class {class_name} ({library} {_installed_version(library)} has no such class; "
            "check model_index.json, or upgrade diffusers/transformers)"
        )


class MissingBackend(LoadingError):
    """A component class the model names needs a package that is not installed (transformers stands a placeholder
    in for it, which diffusers cannot load)."""

    def __init__(self, reference: str, class_name: str, packages: list[str]):
        self.reference, self.class_name, self.packages = reference, class_name, packages
        super().__init__(
            f"{reference!r} needs {' and '.join(packages)} for its {class_name}: pip install {' '.join(packages)}"
        )


def _installed_version(library: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(library)
    except PackageNotFoundError:
        return "(not installed)"


class InvalidModelIndex(LoadingError, ValueError):
    """``model_index.json`` or a component config is not valid JSON, or names no pipeline class."""

    def __init__(self, reference: str, file_name: str, reason: str):
        self.reference, self.file_name, self.reason = reference, file_name, reason
        super().__init__(f"{file_name} of {reference!r} is {reason}")


class PickleWeightsRefused(LoadingError):
    """A component has only pickle weights (.bin/.ckpt/.pt), which can run code when loaded."""

    def __init__(self, reference: str, components: list[str]):
        self.reference, self.components = reference, components
        super().__init__(
            f"{reference!r} has pickle-only weights for {', '.join(components)}; "
            "loading them can run arbitrary code (pass --allow-pickle to load them once picklescan finds no dangerous import)"
        )


class UnsafePickle(LoadingError):
    """With ``--allow-pickle``, a pickle file the scanner flags (dangerous imports, or unparseable)."""

    def __init__(self, reference: str, file_name: str, found: str):
        self.reference, self.file_name, self.found = reference, file_name, found
        super().__init__(
            f"{file_name} of {reference!r} imports {found} when unpickled (picklescan); refused, "
            "it can run code (pass --allow-pickle=unsafe only if you trust its author)"
        )


class RemoteCodeRefused(LoadingError):
    """The pipeline needs custom code from the repository, which is never run unless asked."""

    def __init__(self, reference: str, what: str):
        self.reference, self.what = reference, what
        super().__init__(f"{reference!r} needs remote code ({what}); pass --trust-remote-code to run it")


class PipelineLoadFailed(LoadingError):
    """diffusers could not build the pipeline from the files (corrupt or incomplete weights, bad config)."""

    def __init__(self, reference: str, reason: str):
        self.reference, self.reason = reference, reason
        super().__init__(f"could not load {reference!r}: {reason}")


class AdapterWithoutBase(LoadingError):
    """A LoRA, embedding or single-file repository whose base pipeline is unknown, or is itself an adapter."""

    def __init__(self, reference: str, kind: str, base: str | None = None):
        self.reference, self.kind, self.base = reference, kind, base
        if base is None:
            message = (
                f"{reference!r} holds {kind} weights but its model card names no base_model: pass --base ORG/NAME"
            )
        else:
            message = f"{reference!r} holds {kind} weights whose base {base!r} is not a diffusers pipeline either: pass --base ORG/NAME"
        super().__init__(message)


class AdapterDoesNotFit(LoadingError):
    """A LoRA or textual-inversion file cannot be applied to the base pipeline (keys, shapes or token do not fit)."""

    def __init__(self, weight_name: str, kind: str, reason: str):
        self.weight_name, self.kind, self.reason = weight_name, kind, reason
        super().__init__(
            f"{kind} {weight_name!r} does not fit the base model: {reason} "
            "(check base_model in its model card, or pass --base ORG/NAME)"
        )


class SingleFileNeedsConfig(LoadingError):
    """A single-file checkpoint has no diffusers config (the base model's folder with ``model_index.json``) to load it by."""

    def __init__(self, weight_name: str, config_folder: str | None):
        self.weight_name, self.config_folder = weight_name, config_folder
        where = "none was given" if config_folder is None else f"{config_folder} has no model_index.json"
        super().__init__(
            f"single-file checkpoint {weight_name!r} needs a diffusers config ({where}): pass --base ORG/NAME"
        )


class CheckpointNeedsPickle(LoadingError):
    """A checkpoint holds objects ``torch.load(weights_only=True)`` refuses: unpickling them could run code."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path} holds objects a weights-only load refuses ({reason}); hubaudit never unpickles them")


class NotAReferenceCheckpoint(LoadingError):
    """A file is not a checkpoint of the reference implementation (ermongroup/ncsnv2: a ``torch.save`` list of state dicts)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path} is not an ermongroup/ncsnv2 checkpoint: {reason}")


class CheckpointDoesNotFit(LoadingError):
    """A checkpoint's state-dict keys or shapes do not map onto the network its config describes."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"the weights in {path} do not fit the network of its config: {reason}")


class UnsupportedReferenceConfig(LoadingError):
    """A reference config cannot be read, or asks for what hubaudit's implementation lacks (another normalization, say)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"config {path}: {reason}")


# --- sampling and the sample store ----------------------------------------------------------------


class InvalidSamplerConfig(SamplingError, ValueError):
    """A sampler option is out of range or does not fit the pipeline kind."""


class OutOfMemory(SamplingError):
    """Sampling ran out of device memory even at batch size 1."""

    def __init__(self, device: str):
        self.device = device
        super().__init__(f"out of memory on {device} even at batch size 1 (try --dtype float16 or a smaller model)")


class SamplingFailed(SamplingError):
    """The pipeline, its scheduler or its components raised while drawing samples."""

    def __init__(self, pipeline_class: str, reason: str):
        self.pipeline_class, self.reason = pipeline_class, reason
        super().__init__(f"sampling {pipeline_class} failed: {reason}")


class RankFailed(SamplingError):
    """In a scan over several processes (torchrun, accelerate launch), another process failed; all stop."""

    def __init__(self, rank: int, message: str, options: Iterable[str] = ()):
        self.rank, self.message = rank, message
        super().__init__(f"process {rank} of the scan failed: {message}", options=options)


class StoreMismatch(SamplingError):
    """The sample store folder belongs to a different model or sampler configuration."""


class IncompleteSampleStore(SamplingError):
    """The sample store lacks some of the samples asked for (the scan that fills it did not finish)."""


class InvalidSampleStore(SamplingError, ValueError):
    """A sample store's ``manifest.json`` cannot be read or is not a JSON object."""

    def __init__(self, manifest, reason: str):
        self.manifest, self.reason = manifest, reason
        super().__init__(
            f"sample store manifest {manifest} is {reason}: delete the folder {manifest.parent} "
            "to draw its samples again, or pass another --store"
        )


class StoreLocked(SamplingError):
    """Another scan is filling the same sample store."""

    def __init__(self, path, owner: str | None):
        self.path, self.owner = path, owner
        by = f" (process {owner})" if owner else ""
        super().__init__(
            f"sample store {path} is in use by another scan{by}: wait for it to finish (then rerun to reuse its "
            "samples), or pass another --store"
        )


class NotEnoughDisk(SamplingError, StorageError):
    """The samples asked for would not fit on the disk that holds the sample store."""

    def __init__(self, path, needed_bytes: float, free_bytes: float, kept: int):
        self.path, self.needed_bytes, self.free_bytes, self.kept = path, needed_bytes, free_bytes, kept
        super().__init__(
            f"the samples asked for need about {_gib(needed_bytes)} more in {path}, which has {_gib(free_bytes)} free: "
            f"lower -n, free space or pass --store on a larger disk ({kept} samples drawn so far are kept)"
        )


def _gib(size: float) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**27 else f"{size / 2**20:.1f} MiB"


# --- files ----------------------------------------------------------------------------------------


class CannotWrite(StorageError, OSError):
    """A file or folder the command writes cannot be written (a file where a folder should be, permissions, disk full)."""

    def __init__(self, path, reason: str, kept: str = ""):
        self.path, self.reason, self.kept = path, reason, kept
        super().__init__(f"cannot write {path}: {reason}" + (f" ({kept})" if kept else ""))


class CannotRead(StorageError, OSError):
    """An input file or folder named on the command line cannot be read (missing, permissions, a folder where a file should be)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"cannot read {path}: {reason}")


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM). Like ``KeyboardInterrupt`` it is no ``Exception``, so no
    handler that turns library errors into one-line errors catches it; the CLI exits 143."""


# --- data -----------------------------------------------------------------------------------------


class InvalidData(DataError, ValueError):
    """A data set is empty, lacks a named column, or a column has the wrong values."""


# --- annotation -----------------------------------------------------------------------------------


class InvalidAttributeSpec(AnnotationError, ValueError):
    """An ``--attribute NAME=SPEC`` does not parse or names an unknown attribute."""


class InvalidAnnotatorOption(AnnotationError, ValueError):
    """An annotator's option is out of range (a batch size below 1, a held-out fraction outside (0, 1))."""


class AuxDataTooSmall(AnnotationError):
    """The auxiliary data set is too small to train a classifier and estimate its confusion matrix."""


class UnsupportedAnnotatorModel(AnnotationError):
    """The model cannot serve as the requested annotator (not CLIP/SigLIP, not an image classifier, no processor)."""


class AnnotationFailed(AnnotationError):
    """An annotator's model raised on the samples (weights that do not fit its config, wrong image shape)."""

    def __init__(self, annotator: str, reason: str):
        self.annotator, self.reason = annotator, reason
        super().__init__(f"annotating with {annotator} failed: {reason}")


class InvalidSavedAnnotator(AnnotationError, ValueError):
    """A saved annotator folder is missing, unreadable, or of an unknown type or format version."""


class SavedAnnotatorNotFound(InvalidSavedAnnotator, FileNotFoundError):
    """An ``aux:PATH`` names a folder that does not exist."""

    def __init__(self, path):
        self.path = path
        super().__init__(f"no such annotator folder: {path}")


class InvalidGoldLabels(AnnotationError, ValueError):
    """A gold-label file cannot be read, or does not fit the scan (another store, attribute or values)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"gold labels {path}: {reason}")


# --- statistics -----------------------------------------------------------------------------------


class InvalidStatisticsOption(StatisticsError, ValueError):
    """A statistics function was given an option outside its range (a confidence level, a half-width) or an unknown method."""


class ClassifierNoBetterThanChance(StatisticsError):
    """The annotator's confusion matrix is singular or no better than chance: the corrected estimate is undefined."""


class EmptyGroup(StatisticsError):
    """A sensitive group has no samples, so its statistics are undefined."""


class TooFewSamples(StatisticsError):
    """Fewer samples than the requested test or estimate needs."""


# --- audits ---------------------------------------------------------------------------------------


class InvalidPropertyOptions(AuditError, ValueError):
    """A property-inference option (confidence, target width, maximum error) is out of range or lacks an ``--attribute``."""


class InvalidFairnessOptions(AuditError, ValueError):
    """A fairness option (threshold, ``--sensitive``/``--label`` names) is out of range, clashes, or lacks ``--sensitive``."""


class InvalidLabelMapping(AuditError, ValueError):
    """The class-to-label mapping does not cover the model's classes or is not binary."""


class InvalidPlan(AuditError, ValueError):
    """An input of ``hubaudit plan`` (an effect, a margin, the calibration, the power) is malformed or out of range."""


class AuditFailed(AuditError):
    """An audit raised an error hubaudit did not anticipate after sampling; the report keeps every section that finished."""

    def __init__(self, section: str, error: Exception):
        self.section, self.error_name = section, type(error).__name__
        super().__init__(
            f"the {section} audit failed: {self.error_name}: {first_line(error)} (HUBAUDIT_DEBUG=1 shows the traceback)"
        )


# --- the sharer's side: poisoning, training, uploading --------------------------------------------


class InvalidAttackConfig(SharerError, ValueError):
    """Poisoning rate outside [0, 1], non-binary S or Y, or a cell with too few records."""


class TrainingError(SharerError):
    """A training run cannot start or resume (bad data folder, incompatible checkpoint)."""


class UploadFailed(SharerError):
    """A trained model could not be uploaded to the Hub (offline, no token, refused); it stays saved locally."""

    def __init__(self, repo_id: str, reason: str, folder: str | None = None):
        self.repo_id, self.reason, self.folder = repo_id, reason, folder
        kept = f"; the trained model is saved in {folder}" if folder else " (nothing was trained)"
        super().__init__(f"cannot upload to {repo_id}: {reason}{kept}")


# --- report ---------------------------------------------------------------------------------------


class InvalidReport(ReportError, ValueError):
    """A report file is missing, not JSON, or of an unknown schema version."""


# --- front ends: the Space, scan-many -------------------------------------------------------------


class ModelTooLarge(FrontEndError):
    """A model repository is larger than the Space downloads for one scan (its files at the revision, summed)."""

    def __init__(self, reference: str, size_bytes: int, max_bytes: int):
        self.reference, self.size_bytes, self.max_bytes = reference, size_bytes, max_bytes
        super().__init__(
            f"{reference} is {_gib(size_bytes)} on the Hub, over this Space's cap of {_gib(max_bytes)} per model: "
            "scan it with the hubaudit command line instead"
        )


class ScanNotAvailable(FrontEndError):
    """A Space tab needs this page's scan, and none has run yet or its folder has expired (been deleted by age)."""


class FleetUnavailable(FrontEndError):
    """``hubaudit scan-many`` needs ray, which is not installed."""

    def __init__(self):
        super().__init__("scan-many needs ray: pip install 'hubaudit[fleet]'")


# --- settings: config files and reruns from a report ---------------------------------------------


class InvalidConfigFile(FrontEndError, ValueError):
    """A config file (``hubaudit scan --config``) or a report's ``options`` table has an unknown key, a value of the
    wrong type, or is not TOML (JSON); the message names the file, and the key's line where it can."""

    def __init__(self, path, problem: str, line: int | None = None):
        self.path, self.problem, self.line = path, problem, line
        super().__init__(f"{path} line {line}: {problem}" if line is not None else f"{path}: {problem}")


class ModelChangedSinceReport(FrontEndError):
    """``hubaudit scan --from-report``: the local model folder the report recorded no longer holds the same files."""

    def __init__(self, folder, recorded_sha: str, current_sha: str):
        self.folder, self.recorded_sha, self.current_sha = folder, recorded_sha, current_sha
        super().__init__(
            f"{folder} has changed since the report was written ({current_sha[:18]}..., the report recorded "
            f"{recorded_sha[:18]}...): --from-report reruns only the model it recorded"
        )


# --- publishing an audit to the model's Hub repository --------------------------------------------


class PublishNeedsToken(FrontEndError):
    """``hubaudit publish`` writes to the Hub, which needs a token: none was given or found."""

    def __init__(self, repo: str):
        self.repo = repo
        super().__init__(
            f"publishing to {repo} needs a Hub token with write access: run `hf auth login`, set HF_TOKEN, or pass "
            "token (--dry-run shows what would be written without one)",
            options=("token",),
        )


class StaleReport(FrontEndError):
    """``hubaudit publish``: the report audited another commit than the one the repository's revision is at now."""

    def __init__(self, repo: str, revision: str, audited_sha: str, current_sha: str):
        self.repo, self.revision, self.audited_sha, self.current_sha = repo, revision, audited_sha, current_sha
        super().__init__(
            f"the report audited commit {audited_sha} but {repo}@{revision} is now at {current_sha}: rescan, or pass "
            "allow_stale to publish the older audit anyway",
            options=("allow_stale",),
        )


# --- hub: writing to a repository (publish, train --push-to-hub) -----------------------------------


class HubWriteFailed(HubError):
    """The Hub refused or never received a write (a commit, a pull request, a discussion, an upload)."""

    fix = "check the repository and retry"

    def __init__(self, repo_id: str, action: str, reason: str):
        self.repo_id, self.action, self.reason = repo_id, action, reason
        super().__init__(f"cannot {action} on {repo_id}: {reason}: {self.fix}", options=("token",))


class NoWriteAccess(HubWriteFailed):
    """HTTP 401/403: the token is missing, read-only, or not a member of the repository's owner."""

    fix = "use a token with write access to it (hf auth login, HF_TOKEN or token)"


class WriteTargetNotFound(HubWriteFailed, FileNotFoundError):
    """HTTP 404: the repository (or the branch written to) does not exist, or the token cannot see it."""

    fix = "check the repository name and revision, or use a token that can see it"


class WriteConflict(HubWriteFailed):
    """HTTP 409/412: the repository changed under the write (its branch moved past the commit read), or it clashes."""

    fix = "the repository changed since it was read: run the command again to write on top of the new revision"


class HubUnreachable(HubWriteFailed):
    """The Hub could not be reached (network error, timeout, offline mode)."""

    fix = "check the network and HF_ENDPOINT (and that HF_HUB_OFFLINE is unset), then retry"


class BotNeedsSecret(FrontEndError):
    """``hubaudit bot``: the environment variable the config names for the webhook secret is unset or empty."""

    def __init__(self, variable: str):
        self.variable = variable
        super().__init__(
            f"the bot needs its webhook secret in the environment variable {variable}: set it (in a Space: a secret "
            f"named {variable}) to the secret of the Hub webhook, or name another variable in [bot] secret_env"
        )


class BotUnavailable(FrontEndError):
    """``hubaudit bot`` needs gradio and fastapi (huggingface_hub's WebhooksServer runs on them)."""

    def __init__(self):
        super().__init__("the webhook bot needs gradio: pip install 'hubaudit[bot]'")


# --- memorization and membership ------------------------------------------------------------------


class InvalidMemorizationOptions(AuditError, ValueError):
    """A memorization option (``--memorization``, its data, threshold or margin) is missing or out of range."""


class InvalidMembershipOptions(AuditError, ValueError):
    """``hubaudit membership``: an option is out of range, or the non-members that calibrate its thresholds are missing."""


class UnsupportedMembershipModel(AuditError):
    """``hubaudit membership``: the model's denoiser or scheduler does not allow the white-box attacks."""
