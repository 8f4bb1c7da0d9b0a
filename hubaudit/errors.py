"""Every failure hubaudit reports, one class each.

Each class has a one-line docstring and carries the fields a caller needs. The CLI maps
any :class:`HubAuditError` to its one-line message and its ``exit_code`` (2: bad input or an
environment the tool cannot work in). Nothing else in the package prints errors.
"""

from __future__ import annotations


def first_line(err: BaseException) -> str:
    """The first line of a library exception's message (or its class name): what a one-line error quotes."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def loading_reason(err: BaseException) -> str:
    """A library's loading error in one line; torch's ``load_state_dict`` says what did not fit on the line after its first."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{lines[0]} {lines[1]}" if len(lines) > 1 and lines[0].endswith(":") else first_line(err)


class HubAuditError(Exception):
    """Base class: a failure the user can act on; the CLI prints ``str(err)`` and exits 2."""

    exit_code = 2


# --- hub: resolving and loading a model -------------------------------------------------


class RepoNotFound(HubAuditError):
    """The model repository does not exist (or is private and the token cannot see it)."""

    def __init__(self, repo_id: str):
        self.repo_id = repo_id
        super().__init__(f"repository not found: {repo_id!r} (check the name, or set HF_TOKEN for a private repo)")


class RevisionNotFound(HubAuditError):
    """The branch, tag or commit does not exist in the repository."""

    def __init__(self, repo_id: str, revision: str):
        self.repo_id, self.revision = repo_id, revision
        super().__init__(f"revision {revision!r} not found in {repo_id!r}")


class GatedRepo(HubAuditError):
    """The repository is gated and the token (if any) has not been granted access."""

    def __init__(self, repo_id: str, has_token: bool):
        self.repo_id, self.has_token = repo_id, has_token
        hint = "your token has not been granted access" if has_token else "set HF_TOKEN to a token with access"
        super().__init__(f"{repo_id!r} is gated: {hint}")


class NotADiffusersRepo(HubAuditError):
    """The repository or folder has no ``model_index.json``: it is not a diffusers pipeline."""

    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"{reference!r} is not a diffusers pipeline (no model_index.json)")


class UnsupportedPipeline(HubAuditError):
    """The pipeline's call cannot be driven as unconditional, class-conditional or text-to-image sampling."""

    def __init__(self, reference: str, pipeline_class: str, reason: str):
        self.reference, self.pipeline_class, self.reason = reference, pipeline_class, reason
        super().__init__(f"{reference!r} is a {pipeline_class}, which hubaudit cannot sample: {reason}")


class UnknownPipelineClass(HubAuditError):
    """``model_index.json`` names a class the trusted library it points to does not have (a typo, or a newer diffusers)."""

    def __init__(self, reference: str, class_name: str, library: str):
        self.reference, self.class_name, self.library = reference, class_name, library
        super().__init__(
            f"{reference!r} names unknown class {class_name} ({library} {_installed_version(library)} has no such class; "
            "check model_index.json, or upgrade diffusers/transformers)"
        )


def _installed_version(library: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(library)
    except PackageNotFoundError:
        return "(not installed)"


class InvalidModelIndex(HubAuditError):
    """``model_index.json`` or a component config is not valid JSON, or names no pipeline class."""

    def __init__(self, reference: str, file_name: str, reason: str):
        self.reference, self.file_name, self.reason = reference, file_name, reason
        super().__init__(f"{file_name} of {reference!r} is {reason}")


class PickleWeightsRefused(HubAuditError):
    """A component has only pickle weights (.bin/.ckpt/.pt), which can run code when loaded."""

    def __init__(self, reference: str, components: list[str]):
        self.reference, self.components = reference, components
        super().__init__(
            f"{reference!r} has pickle-only weights for {', '.join(components)}; "
            "loading them can run arbitrary code (pass --allow-pickle to load them once picklescan finds no dangerous import)"
        )


class UnsafePickle(HubAuditError):
    """With ``--allow-pickle``, a pickle file the scanner flags (dangerous imports, or unparseable)."""

    def __init__(self, reference: str, file_name: str, found: str):
        self.reference, self.file_name, self.found = reference, file_name, found
        super().__init__(
            f"{file_name} of {reference!r} imports {found} when unpickled (picklescan); refused, "
            "it can run code (pass --allow-pickle=unsafe only if you trust its author)"
        )


class RemoteCodeRefused(HubAuditError):
    """The pipeline needs custom code from the repository, which is never run unless asked."""

    def __init__(self, reference: str, what: str):
        self.reference, self.what = reference, what
        super().__init__(f"{reference!r} needs remote code ({what}); pass --trust-remote-code to run it")


class OfflineNotCached(HubAuditError):
    """The Hub cannot be reached (or offline mode is on) and the model is not in the local cache."""

    def __init__(self, repo_id: str, revision: str | None):
        self.repo_id, self.revision = repo_id, revision
        at = f"@{revision}" if revision else ""
        super().__init__(f"cannot reach the Hub and {repo_id}{at} is not in the local cache")


class InvalidModelReference(HubAuditError):
    """The model reference is neither ``org/name[@revision]`` nor an existing local folder."""

    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"not a model reference: {reference!r} (expected org/name, org/name@revision or a folder)")


class LocalPathRefused(HubAuditError):
    """A front end that takes Hub ids only (the Space) was given a path on its own machine."""

    def __init__(self, text: str, field: str = "model"):
        self.text, self.field = text, field
        super().__init__(f"{field} {text!r} is a path on this machine; only Hub ids (org/name) are accepted here")


class PipelineLoadFailed(HubAuditError):
    """diffusers could not build the pipeline from the files (corrupt or incomplete weights, bad config)."""

    def __init__(self, reference: str, reason: str):
        self.reference, self.reason = reference, reason
        super().__init__(f"could not load {reference!r}: {reason}")


# --- sampling ------------------------------------------------------------------------------


class InvalidSamplerConfig(HubAuditError):
    """A sampler option is out of range or does not fit the pipeline kind."""


class OutOfMemory(HubAuditError):
    """Sampling ran out of device memory even at batch size 1."""

    def __init__(self, device: str):
        self.device = device
        super().__init__(f"out of memory on {device} even at batch size 1 (try --dtype float16 or a smaller model)")


class SamplingFailed(HubAuditError):
    """The pipeline, its scheduler or its components raised while drawing samples."""

    def __init__(self, pipeline_class: str, reason: str):
        self.pipeline_class, self.reason = pipeline_class, reason
        super().__init__(f"sampling {pipeline_class} failed: {reason}")


class RankFailed(HubAuditError):
    """In a scan over several processes (torchrun, accelerate launch), another process failed; all stop."""

    def __init__(self, rank: int, message: str):
        self.rank, self.message = rank, message
        super().__init__(f"process {rank} of the scan failed: {message}")


class StoreMismatch(HubAuditError):
    """The sample store folder belongs to a different model or sampler configuration."""


class IncompleteSampleStore(HubAuditError):
    """The sample store lacks some of the samples asked for (the scan that fills it did not finish)."""


class InvalidSampleStore(HubAuditError):
    """A sample store's ``manifest.json`` cannot be read or is not a JSON object."""

    def __init__(self, manifest, reason: str):
        self.manifest, self.reason = manifest, reason
        super().__init__(
            f"sample store manifest {manifest} is {reason}: delete the folder {manifest.parent} "
            "to draw its samples again, or pass another --store"
        )


class StoreLocked(HubAuditError):
    """Another scan is filling the same sample store."""

    def __init__(self, path, owner: str | None):
        self.path, self.owner = path, owner
        by = f" (process {owner})" if owner else ""
        super().__init__(
            f"sample store {path} is in use by another scan{by}: wait for it to finish (then rerun to reuse its "
            "samples), or pass another --store"
        )


class NotEnoughDisk(HubAuditError):
    """The samples asked for would not fit on the disk that holds the sample store."""

    def __init__(self, path, needed_bytes: float, free_bytes: float, kept: int):
        self.path, self.needed_bytes, self.free_bytes, self.kept = path, needed_bytes, free_bytes, kept
        super().__init__(
            f"the samples asked for need about {_gib(needed_bytes)} more in {path}, which has {_gib(free_bytes)} free: "
            f"lower -n, free space or pass --store on a larger disk ({kept} samples drawn so far are kept)"
        )


def _gib(size: float) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**27 else f"{size / 2**20:.1f} MiB"


# --- files -----------------------------------------------------------------------------------


class CannotWrite(HubAuditError):
    """A file or folder the command writes cannot be written (a file where a folder should be, permissions, disk full)."""

    def __init__(self, path, reason: str, kept: str = ""):
        self.path, self.reason, self.kept = path, reason, kept
        super().__init__(f"cannot write {path}: {reason}" + (f" ({kept})" if kept else ""))


class CannotRead(HubAuditError):
    """An input file or folder named on the command line cannot be read (missing, permissions, a folder where a file should be)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"cannot read {path}: {reason}")


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM). Like ``KeyboardInterrupt`` it is no ``Exception``, so no
    handler that turns library errors into one-line errors catches it; the CLI exits 143."""


# --- data, annotation, statistics ------------------------------------------------------------


class InvalidAttributeSpec(HubAuditError):
    """An ``--attribute NAME=SPEC`` does not parse or names an unknown attribute."""


class InvalidData(HubAuditError):
    """A data set is empty, lacks a named column, or a column has the wrong values."""


class AuxDataTooSmall(HubAuditError):
    """The auxiliary data set is too small to train a classifier and estimate its confusion matrix."""


class ClassifierNoBetterThanChance(HubAuditError):
    """The annotator's confusion matrix is singular or no better than chance: the corrected estimate is undefined."""


class InvalidLabelMapping(HubAuditError):
    """The class-to-label mapping does not cover the model's classes or is not binary."""


class EmptyGroup(HubAuditError):
    """A sensitive group has no samples, so its statistics are undefined."""


class TooFewSamples(HubAuditError):
    """Fewer samples than the requested test or estimate needs."""


class InvalidGoldLabels(HubAuditError):
    """A gold-label file cannot be read, or does not fit the scan (another store, attribute or values)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"gold labels {path}: {reason}")


# --- attacks and training -----------------------------------------------------------------


class InvalidAttackConfig(HubAuditError):
    """Poisoning rate outside [0, 1], non-binary S or Y, or a cell with too few records."""


class TrainingError(HubAuditError):
    """A training run cannot start or resume (bad data folder, incompatible checkpoint)."""


class UploadFailed(HubAuditError):
    """A trained model could not be uploaded to the Hub (offline, no token, refused); it stays saved locally."""

    def __init__(self, repo_id: str, reason: str, folder: str | None = None):
        self.repo_id, self.reason, self.folder = repo_id, reason, folder
        kept = f"; the trained model is saved in {folder}" if folder else " (nothing was trained)"
        super().__init__(f"cannot upload to {repo_id}: {reason}{kept}")


# --- report ---------------------------------------------------------------------------------


class InvalidReport(HubAuditError):
    """A report file is missing, not JSON, or of an unknown schema version."""


# --- annotation (appended) ------------------------------------------------------------------


class UnsupportedAnnotatorModel(HubAuditError):
    """The model cannot serve as the requested annotator (not CLIP/SigLIP, not an image classifier, no processor)."""


class AnnotationFailed(HubAuditError):
    """An annotator's model raised on the samples (weights that do not fit its config, wrong image shape)."""

    def __init__(self, annotator: str, reason: str):
        self.annotator, self.reason = annotator, reason
        super().__init__(f"annotating with {annotator} failed: {reason}")


class InvalidSavedAnnotator(HubAuditError):
    """A saved annotator folder is missing, unreadable, or of an unknown type or format version."""


class InvalidPropertyOptions(HubAuditError):
    """A property-inference option (confidence, target width, maximum error) is out of range or lacks an ``--attribute``."""


class InvalidFairnessOptions(HubAuditError):
    """A fairness option (threshold, ``--sensitive``/``--label`` names) is out of range, clashes, or lacks ``--sensitive``."""


class InvalidPlan(HubAuditError):
    """An input of ``hubaudit plan`` (an effect, a margin, the calibration, the power) is malformed or out of range."""


class AuditFailed(HubAuditError):
    """An audit raised an error hubaudit did not anticipate after sampling; the report keeps every section that finished."""

    def __init__(self, section: str, error: Exception):
        self.section, self.error_name = section, type(error).__name__
        super().__init__(f"the {section} audit failed: {self.error_name}: {first_line(error)} (HUBAUDIT_DEBUG=1 shows the traceback)")


# --- hub: adapters ----------------------------------------------------------------------------


class AdapterWithoutBase(HubAuditError):
    """A LoRA, embedding or single-file repository whose base pipeline is unknown, or is itself an adapter."""

    def __init__(self, reference: str, kind: str, base: str | None = None):
        self.reference, self.kind, self.base = reference, kind, base
        if base is None:
            message = f"{reference!r} holds {kind} weights but its model card names no base_model: pass --base ORG/NAME"
        else:
            message = f"{reference!r} holds {kind} weights whose base {base!r} is not a diffusers pipeline either: pass --base ORG/NAME"
        super().__init__(message)


class AdapterDoesNotFit(HubAuditError):
    """A LoRA or textual-inversion file cannot be applied to the base pipeline (keys, shapes or token do not fit)."""

    def __init__(self, weight_name: str, kind: str, reason: str):
        self.weight_name, self.kind, self.reason = weight_name, kind, reason
        super().__init__(
            f"{kind} {weight_name!r} does not fit the base model: {reason} "
            "(check base_model in its model card, or pass --base ORG/NAME)"
        )


class SingleFileNeedsConfig(HubAuditError):
    """A single-file checkpoint has no diffusers config (the base model's folder with ``model_index.json``) to load it by."""

    def __init__(self, weight_name: str, config_folder: str | None):
        self.weight_name, self.config_folder = weight_name, config_folder
        where = "none was given" if config_folder is None else f"{config_folder} has no model_index.json"
        super().__init__(f"single-file checkpoint {weight_name!r} needs a diffusers config ({where}): pass --base ORG/NAME")


# --- space ------------------------------------------------------------------------------------


class ModelTooLarge(HubAuditError):
    """A model repository is larger than the Space downloads for one scan (its files at the revision, summed)."""

    def __init__(self, reference: str, size_bytes: int, max_bytes: int):
        self.reference, self.size_bytes, self.max_bytes = reference, size_bytes, max_bytes
        super().__init__(
            f"{reference} is {_gib(size_bytes)} on the Hub, over this Space's cap of {_gib(max_bytes)} per model: "
            "scan it with the hubaudit command line instead"
        )


class ScanNotAvailable(HubAuditError):
    """A Space tab needs this page's scan, and none has run yet or its folder has expired (been deleted by age)."""


# --- fleet ------------------------------------------------------------------------------------


class FleetUnavailable(HubAuditError):
    """``hubaudit scan-many`` needs ray, which is not installed."""

    def __init__(self):
        super().__init__("scan-many needs ray: pip install 'hubaudit[fleet]'")


# --- families: importing reference checkpoints --------------------------------------------------


class CheckpointNeedsPickle(HubAuditError):
    """A checkpoint holds objects ``torch.load(weights_only=True)`` refuses: unpickling them could run code."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path} holds objects a weights-only load refuses ({reason}); hubaudit never unpickles them")


class NotAReferenceCheckpoint(HubAuditError):
    """A file is not a checkpoint of the reference implementation (ermongroup/ncsnv2: a ``torch.save`` list of state dicts)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path} is not an ermongroup/ncsnv2 checkpoint: {reason}")


class CheckpointDoesNotFit(HubAuditError):
    """A checkpoint's state-dict keys or shapes do not map onto the network its config describes."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"the weights in {path} do not fit the network of its config: {reason}")


class UnsupportedReferenceConfig(HubAuditError):
    """A reference config cannot be read, or asks for what hubaudit's implementation lacks (another normalization, say)."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"config {path}: {reason}")
