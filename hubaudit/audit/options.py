"""What a scan and its audits are asked to do: options checked when built, before anything loads.

The lowest module of the audit layer: the sampled model, the audits and the scan that composes
them all read these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.memorization.options import MemorizationOptions
from hubaudit.declarations import scan_default
from hubaudit.errors import InvalidPropertyOptions, InvalidSamplerConfig
from hubaudit.sampling.config import Condition, SamplerConfig


@dataclass(frozen=True)
class PropertyOptions:
    """What a property-inference audit needs (its defaults are the declared ones: :mod:`hubaudit.declarations`).

    Attributes:
        attributes: ``NAME=SPEC`` strings (grammar: :mod:`hubaudit.annotate.spec`).
        aux_data: labelled images (any :func:`hubaudit.data.load_labelled_images` source) to train
            ``aux`` annotators on and to calibrate the others; column NAME per attribute.
        training_data: the sharer's own training data, column NAME per attribute: a self-audit.
        confidence: the intervals' nominal coverage, in (0, 1).
        target_width: stop sampling once the confidence sequence's half-width is at most this
            (in (0, 0.5)); None samples the full n.
        max_property_error: the self-audit's margin: a privacy finding when every value's interval
            lies within this of its training share, no finding when some value's lies wholly outside.
        gold: gold-label files (``hubaudit label``): prediction-powered estimates of the stores they label.
    """

    attributes: tuple[str, ...]
    aux_data: str | None = None
    training_data: str | None = None
    confidence: float = scan_default("confidence")
    target_width: float | None = None
    max_property_error: float = scan_default("max_property_error")
    gold: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.attributes:
            raise InvalidPropertyOptions("property inference needs at least one --attribute NAME=SPEC")
        if not 0 < self.confidence < 1:
            raise InvalidPropertyOptions(f"--confidence must lie strictly between 0 and 1, got {self.confidence}")
        if self.target_width is not None and not 0 < self.target_width < 0.5:
            raise InvalidPropertyOptions(
                f"--target-width must lie strictly between 0 and 0.5, got {self.target_width}"
            )
        if not 0 < self.max_property_error < 1:
            raise InvalidPropertyOptions(
                f"--max-property-error must lie strictly between 0 and 1, got {self.max_property_error}"
            )
        if self.gold and self.target_width is not None:
            raise InvalidPropertyOptions(
                "--gold gives prediction-powered intervals for a sample count fixed in advance: drop --target-width (or --gold)"
            )

    @classmethod
    def from_arguments(
        cls,
        attributes: Sequence[str] | None,
        *,
        aux_data: str | Path | None = None,
        training_data: str | Path | None = None,
        confidence: float = scan_default("confidence"),
        target_width: float | None = None,
        max_property_error: float = scan_default("max_property_error"),
        gold: Sequence[str | Path] | None = None,
    ) -> PropertyOptions | None:
        """The options the CLI/API arguments give; None (no property inference) without attributes."""
        if not attributes:
            if aux_data is not None or training_data is not None or target_width is not None or gold:
                raise InvalidPropertyOptions(
                    "--aux-data, --training-data, --target-width and --gold need an --attribute NAME=SPEC"
                )
            return None
        return cls(
            tuple(attributes),
            aux_data=str(aux_data) if aux_data is not None else None,
            training_data=str(training_data) if training_data is not None else None,
            confidence=confidence,
            target_width=target_width,
            max_property_error=max_property_error,
            gold=tuple(str(path) for path in gold or ()),
        )


MAX_SAMPLES_PER_CONDITION = 10_000_000
"""Most samples per condition a scan may ask for (the store's index bookkeeping is O(n) memory)."""


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scan needs, checked: built by :func:`hubaudit.api.scan_options` from the declared options
    (:class:`hubaudit.declarations.ScanSettings`, whose defaults these are).

    Attributes:
        model: ``org/name``, ``org/name@revision`` or a local folder.
        n: samples per condition.
        batch_size: samples per forward pass (halved automatically on out-of-memory).
        sampler: steps, scheduler swap, guidance, dtype, seed.
        conditions: class ids or prompts; None scans the model's default (unconditional: one
            condition; class-conditional: every class).
        device: ``cuda``, ``mps`` or ``cpu``; None picks the best available.
        out_dir: where ``report.json`` (and, by default, the sample store) go.
        store_dir: the sample store root; default ``out_dir / "samples"``.
        token: Hub token; None uses ``HF_TOKEN`` or the stored login.
        allow_pickle: accept pickle weights (they can run code when loaded) once picklescan finds no
            dangerous import in them; ``"unsafe"`` accepts those it flags too.
        trust_remote_code: run custom pipeline code from the repository.
        allow_local: accept local folders as models (the Space turns this off).
        base: the base pipeline of a LoRA, embedding or single-file repository (default: the
            ``base_model`` its card names).
        lora_scale: weight of a LoRA adapter (0 gives the base model).
        keep_safety_checker: keep a safety checker the model ships (it blacks out the images it
            flags, which biases every share; by default it is left out and the report says so).
        progress: show progress bars.
        properties: property inference (attributes, annotators, target width); None skips it.
        fairness: fairness signature (sensitive attributes and labels among the properties'
            attributes, label mapping, reference data, thresholds); None skips it.
        compile: ``torch.compile`` the denoiser (a slower first batch, then faster; worth it for large n on a GPU).
        check_drift: draw this many samples per condition again with the model's own scheduler at
            its default steps and report how far the fast sampler moves each estimated share.
        memorization: the memorization check (training data, held-out data, embedding, threshold); None skips it.
        option_table: every option the scan was asked, by API keyword, as the report's ``options`` table holds
            it (JSON values; ``dtype`` the one that ran; the Hub token left out).
    """

    model: str
    n: int = scan_default("n")
    batch_size: int = scan_default("batch_size")
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    conditions: tuple[Condition, ...] | None = None
    device: str | None = None
    out_dir: Path = Path(scan_default("out_dir"))
    store_dir: Path | None = None
    token: str | None = None
    allow_pickle: bool | str = scan_default("allow_pickle")
    trust_remote_code: bool = scan_default("trust_remote_code")
    allow_local: bool = scan_default("allow_local")
    keep_safety_checker: bool = scan_default("keep_safety_checker")
    base: str | None = None
    lora_scale: float = scan_default("lora_scale")
    progress: bool = scan_default("progress")
    properties: PropertyOptions | None = None
    fairness: FairnessOptions | None = None
    check_drift: int | None = None
    compile: bool = scan_default("compile")
    memorization: MemorizationOptions | None = None
    option_table: Mapping[str, object] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_SAMPLES_PER_CONDITION:
            raise InvalidSamplerConfig(
                f"n must be from 1 to {MAX_SAMPLES_PER_CONDITION:,} samples per condition, got {self.n:,}"
            )
        if self.batch_size < 1:
            raise InvalidSamplerConfig(f"batch size must be at least 1, got {self.batch_size}")
        if self.check_drift is not None:
            if not 1 <= self.check_drift <= self.n:
                raise InvalidSamplerConfig(f"--check-drift K must be from 1 to n = {self.n}, got {self.check_drift}")
            if self.properties is None:
                raise InvalidSamplerConfig("--check-drift compares estimated shares: give an --attribute")
            if self.sampler.scheduler is None and self.sampler.num_inference_steps is None:
                raise InvalidSamplerConfig(
                    "--check-drift compares a fast sampler (--scheduler, --steps) with the model's own scheduler at its "
                    "default steps, which this scan already uses"
                )

    @property
    def sample_root(self) -> Path:
        return Path(self.store_dir) if self.store_dir is not None else Path(self.out_dir) / "samples"
