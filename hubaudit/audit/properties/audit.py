"""Property inference: label a scan's samples with attribute annotators and estimate each value's share.

Every estimate is of the share among the model's GENERATED samples; it matches the share in the
private training data only as far as the model reproduces its training distribution. A sharer
who gives its own training data (a self-audit) sees that gap and how precisely an outsider
learns the training share.

Flow: :meth:`PropertyAudit.prepare` parses the ``NAME=SPEC`` strings, builds (trains, loads,
calibrates) the annotators and reads the training shares before any sampling, so bad input fails
fast; :meth:`PropertyAudit.annotate` streams each sample store batch by batch through the
annotators (with a target width it grows the stores round by round and stops when an
anytime-valid confidence sequence is narrow enough); :meth:`PropertyAudit.section` and
:meth:`PropertyAudit.findings` give the report's ``properties`` section and privacy findings
(shape: docs/report-schema.md).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import numpy as np

from hubaudit.annotate import Annotator, build_annotator, parse_attribute_spec
from hubaudit.annotate.base import value_labels
from hubaudit.annotate.spec import AuxTrainSpec
from hubaudit.audit.options import PropertyOptions
from hubaudit.audit.properties.entries import (
    condition_entry,
    gold_entry,
    gold_stratum,
    headline_sequence,
    pooled_sequential,
    sequential_entry,
)
from hubaudit.audit.properties.gold import GoldLabels
from hubaudit.audit.properties.self_audit import not_tested, self_audit
from hubaudit.audit.properties.training_shares import CLASS_COLUMNS, PROMPT_COLUMNS, TrainingRecords
from hubaudit.data import load_labelled_images, load_text_column
from hubaudit.errors import ClassifierNoBetterThanChance, InvalidAttributeSpec, InvalidData, InvalidGoldLabels
from hubaudit.sampling import fill_store
from hubaudit.stats import confusion_rates

if TYPE_CHECKING:
    from hubaudit.audit.sampled import SampledModel

ANNOTATION_BATCH = 256
"""Samples read from a store and labelled at a time (memory stays flat in n)."""
ROUND_GROWTH = 8
"""A sequential round adds at least one sampling batch and at most 1/ROUND_GROWTH of the samples so far."""
STATEMENT = (
    "Estimates are of the share of each value among the model's GENERATED samples, as labelled by the "
    "annotator (and, for 'corrected', adjusted for the annotator's errors measured on labelled data). "
    "They match the share in the model's training data only to the degree that the model covers its "
    "training distribution; a self-audit with the training data (--training-data) measures that gap."
)
POOLED = (
    " With several conditions, 'overall' pools the samples of all conditions (equal numbers each); the self-audit "
    "weights the conditions by their training shares instead."
)
SEQUENTIAL = (
    " Sampling stopped by a sequential rule (--target-width): the headline, 'sequential', is anytime-valid (it holds "
    "at every sample count at once, so at the data-dependent stop too) and, for a calibrated annotator, is of the "
    "corrected share with the calibration uncertainty carried (alpha split between the two); the other intervals "
    "use the same samples but are exact only for a sample count fixed in advance."
)


def first_sample_count(options: PropertyOptions, n: int, batch_size: int) -> int:
    """Samples per condition to draw before the first look: ``n``, or one batch when sequential."""
    return n if options.target_width is None else min(n, batch_size)


def next_look(filled: int, *, n: int, batch_size: int) -> int:
    """The samples per condition of the sequential look after one at ``filled``: at least a batch more, at most
    1/ROUND_GROWTH of the samples so far more, never beyond ``n``."""
    return min(n, filled + max(batch_size, filled // ROUND_GROWTH))


def look_schedule(options: PropertyOptions, n: int, batch_size: int) -> list[int]:
    """Every sample count per condition at which a scan looks (one, ``n``, without a target width): the counts a
    sequential stop may end at, fixed before any sample is drawn."""
    counts = [first_sample_count(options, n, batch_size)]
    while counts[-1] < n:
        counts.append(next_look(counts[-1], n=n, batch_size=batch_size))
    return counts


def sample_until_narrow(audit: PropertyAudit | None, sampled: SampledModel, *, n: int) -> None:
    """Grow the stores in rounds until every confidence sequence reaches the target width, or ``n``.

    Every process calls this: all of them sample each round, the main one (which holds ``audit``;
    None elsewhere) labels and decides, and its decision is shared. Sets ``sampled.options.n`` to
    the samples per condition the estimates use.
    """
    shard, filled = sampled.shard, sampled.options.n
    generated = [samples.generated for samples in sampled.samples]
    while True:
        stop_at = shard.share(shard.on_main(lambda: audit._look(sampled, filled, n)))
        if stop_at is not None:
            break
        filled = next_look(filled, n=n, batch_size=sampled.options.batch_size)
        for position, samples in enumerate(sampled.samples):
            stats = fill_store(
                sampled.sampler,
                samples.store,
                n=filled,
                condition=samples.condition,
                batch_size=samples.final_batch_size,
                shard=shard,
                progress=sampled.options.progress,
            )
            generated[position] += stats.generated
            samples.seconds += stats.seconds
            samples.final_batch_size = stats.batch_size
            sampled.timings["sample_seconds"] += stats.seconds
    for samples, count in zip(sampled.samples, generated):
        samples.generated, samples.reused = count, filled - count
    sampled.options = dataclasses.replace(sampled.options, n=stop_at)


class PropertyAudit:
    """Annotators and their labels for one scan; build with :meth:`prepare`."""

    def __init__(
        self,
        options: PropertyOptions,
        annotators: list[Annotator],
        training: TrainingRecords | None,
        gold: list[GoldLabels] | None = None,
    ):
        self.options = options
        self.annotators = annotators
        self.training = training
        self.gold = gold or []
        self.conditions: list = []
        self.stores: list[str] = []  # the digest (folder name) of each condition's store
        self.probabilities: list[list[np.ndarray]] = []  # [condition][attribute] -> float [n, K]
        self.n_used = 0
        self.sequence_reached: bool | None = None
        self._sequences: list[list] | None = None  # sequential looks: [condition][attribute] headline sequence
        self._seen = 0
        self._section: dict | None = None

    @classmethod
    def prepare(
        cls,
        options: PropertyOptions,
        *,
        device: str | None = None,
        token: str | None = None,
        allow_pickle: bool = False,
        allow_local: bool = True,
    ) -> PropertyAudit:
        """Parse the specs, build every annotator and read the training shares (before any sampling).

        With auxiliary data, every attribute needs its column there: ``aux`` annotators train on it
        and every other annotator is calibrated on it (a saved one is recalibrated, as its report
        entry's ``calibration`` says). ``allow_local=False`` refuses local paths in every option.

        Raises:
            InvalidAttributeSpec: a spec does not parse, a name repeats, or ``aux`` lacks its column.
            InvalidData: a data set lacks an attribute's column or it holds values other than 0..K-1.
            AuxDataTooSmall: too few auxiliary records to train and calibrate an annotator.
            ClassifierNoBetterThanChance: an annotator's confusion matrix is no better than chance.
        """
        specs = [parse_attribute_spec(text, allow_local=allow_local) for text in options.attributes]
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise InvalidAttributeSpec(f"each attribute may be given once, got {', '.join(names)}")
        aux_data = load_labelled_images(options.aux_data, allow_local=allow_local) if options.aux_data else None
        for spec in specs if aux_data is not None else ():
            try:
                aux_data.column(spec.name)
            except InvalidData as err:
                use = (
                    f"{spec.name}=aux trains its annotator on that column"
                    if isinstance(spec, AuxTrainSpec)
                    else "every other annotator is calibrated on its attribute's column"
                )
                raise InvalidData(f"aux_data: {err}; {use}", options=["aux_data"]) from None
        annotators = []
        for spec in specs:
            annotator = build_annotator(
                spec, device=device, aux_data=aux_data, token=token, allow_pickle=allow_pickle, allow_local=allow_local
            )
            if annotator.confusion is not None:
                require_better_than_chance(annotator)
            annotators.append(annotator)
        training = (
            read_training(options.training_data, annotators, allow_local=allow_local)
            if options.training_data
            else None
        )
        gold = [read_gold(path, annotators) for path in options.gold]
        labelled = [(labels.store, labels.attribute) for labels in gold]
        if len(set(labelled)) != len(labelled):
            raise InvalidGoldLabels(
                options.gold[0], "two --gold files label the same attribute of the same store: give one"
            )
        return cls(options, annotators, training, gold)

    def annotate(self, sampled: SampledModel, *, n: int) -> None:
        """Label the first ``n`` samples of every store (a fixed sample count; main process only)."""
        self._start(sampled)
        self._label_up_to(sampled, n)
        self.n_used = n

    def _start(self, sampled: SampledModel) -> None:
        self.conditions, self._section = [samples.condition for samples in sampled.samples], None
        self.stores = [samples.store.path.name for samples in sampled.samples]
        for gold in self.gold:
            if gold.store not in self.stores:
                raise InvalidGoldLabels(
                    gold.path,
                    f"it labels the samples of store {gold.store}, which this scan does not draw (another model "
                    "revision, sampler, seed or condition): label this scan's samples with hubaudit label REPORT",
                )
        self.probabilities = [
            [np.zeros((0, len(a.attribute.values))) for a in self.annotators] for _ in self.conditions
        ]

    def _label_up_to(self, sampled: SampledModel, n: int) -> None:
        """Append the labels of samples ``len(done) .. n-1`` of every condition (reading each store batch by batch)."""
        clock = time.perf_counter()
        for position, samples in enumerate(sampled.samples):
            done = len(self.probabilities[position][0])
            fresh = [np.zeros((n - done, len(a.attribute.values))) for a in self.annotators]
            for indices, images in samples.store.iter_batches(n, start=done, batch_size=ANNOTATION_BATCH):
                for labels, annotator in zip(fresh, self.annotators):
                    labels[indices - done] = annotator.predict_proba(images)
            self.probabilities[position] = [
                np.concatenate([old, new]) for old, new in zip(self.probabilities[position], fresh)
            ]
        timings = sampled.timings
        timings["annotate_seconds"] = timings.get("annotate_seconds", 0.0) + time.perf_counter() - clock

    def _look(self, sampled: SampledModel, filled: int, n: int) -> int | None:
        """One sequential look at the first ``filled`` samples: the sample count to stop at, or None to go on.

        Stops once every headline interval (each condition's and attribute's anytime-valid sequence) is at most
        the target half-width; any look may stop, since the sequences hold at every sample count at once.
        """
        if self._sequences is None:
            self._start(sampled)
            self._sequences = [
                [headline_sequence(annotator, self.options) for annotator in self.annotators] for _ in self.conditions
            ]
        self._label_up_to(sampled, filled)
        for sequences, per_attribute in zip(self._sequences, self.probabilities):
            for sequence, probabilities in zip(sequences, per_attribute):
                sequence.update(probabilities[self._seen : filled].argmax(axis=1))
        self._seen = filled
        self.sequence_reached = all(
            sequence.half_width <= self.options.target_width for sequences in self._sequences for sequence in sequences
        )
        if self.sequence_reached or filled >= n:
            self.n_used = filled
            return filled
        return None

    def section(self) -> dict:
        """The report's ``properties`` section (docs/report-schema.md), computed once after :meth:`annotate`."""
        if self._section is None:
            statement = (
                STATEMENT
                + (POOLED if len(self.conditions) > 1 else "")
                + (SEQUENTIAL if self.options.target_width else "")
            )
            self._section = {
                "confidence": self.options.confidence,
                "statement": statement,
                "attributes": [self._attribute_entry(position) for position in range(len(self.annotators))],
            }
        return self._section

    def _attribute_entry(self, position: int) -> dict:
        annotator, options = self.annotators[position], self.options
        by_condition = [
            condition_entry(condition, per_attribute[position][: self.n_used], annotator, options.confidence)
            for condition, per_attribute in zip(self.conditions, self.probabilities)
        ]
        values = list(annotator.attribute.values)
        strata = []
        for entry, store, per_attribute in zip(by_condition, self.stores, self.probabilities):
            gold = self.gold_for(store, annotator.attribute.name)
            if gold is not None:
                strata.append(gold_stratum(gold, per_attribute[position][: self.n_used]))
                gold_entry(
                    entry,
                    strata[-1:],
                    values,
                    options.confidence,
                    described=gold.describe(),
                    calibration=annotator.confusion,
                )
        if options.target_width is not None:
            for entry, per_attribute in zip(by_condition, self.probabilities):
                entry["sequential"] = sequential_entry(
                    per_attribute[position][: self.n_used], annotator, options, self.sequence_reached
                )
                entry["estimates"]["sequential"] = entry["sequential"]["estimates"]
        entry = {
            "name": annotator.attribute.name,
            "values": list(annotator.attribute.values),
            "annotator": {
                "type": annotator.kind,
                "description": annotator.description,
                "accuracy": annotator.accuracy,
                "confusion": None if annotator.confusion is None else annotator.confusion.tolist(),
                "calibration": annotator.calibration,
            },
            "by_condition": by_condition,
        }
        if len(self.conditions) > 1:
            per_condition = [per_attribute[position][: self.n_used] for per_attribute in self.probabilities]
            entry["overall"] = condition_entry(
                self.conditions, np.concatenate(per_condition), annotator, options.confidence
            )
            if options.target_width is not None:
                entry["overall"]["estimates"]["sequential"] = pooled_sequential(per_condition, annotator, options)
            if len(strata) == len(self.conditions):  # gold labels for every condition: the pooled share gets PPI too
                golds = [item["gold"] for item in by_condition]
                described = {
                    "files": [gold["file"] for gold in golds],
                    "labels": sum(gold["labels"] for gold in golds),
                    "labellers": sorted({name for gold in golds for name in gold["labellers"]}),
                }
                gold_entry(
                    entry["overall"],
                    strata,
                    values,
                    options.confidence,
                    described=described,
                    calibration=annotator.confusion,
                )
        entry["primary_method"] = primary_method(entry.get("overall") or by_condition[0])
        entry["self_audit"] = self._self_audit(entry, position)
        return entry

    def _self_audit(self, entry: dict, position: int) -> dict:
        """The attribute's ``self_audit`` block: ``not tested`` without training data; with several conditions and a
        sequential headline, the per-condition sequences are pooled by the conditions' training shares."""
        annotator, options = self.annotators[position], self.options
        name = annotator.attribute.name
        if self.training is None:
            return not_tested(name, self.conditions, options.max_property_error)
        training = self.training.shares(name, len(annotator.attribute.values), self.conditions)
        sequential = None
        if (
            entry["primary_method"] == "sequential"
            and len(self.conditions) > 1
            and training.condition_weights is not None
        ):
            per_condition = [per_attribute[position][: self.n_used] for per_attribute in self.probabilities]
            sequential = pooled_sequential(per_condition, annotator, options, weights=training.condition_weights)
        return self_audit(
            entry, training, options.max_property_error, confidence=options.confidence, sequential=sequential
        )

    def gold_for(self, store: str, attribute: str) -> GoldLabels | None:
        """The gold labels of ``attribute`` for the samples of ``store`` (a store digest), or None."""
        return next((gold for gold in self.gold if (gold.store, gold.attribute) == (store, attribute)), None)

    @staticmethod
    def findings(section: dict) -> list[dict]:
        """Privacy findings of a :meth:`section`: each self-audited attribute whose outcome is ``finding`` (its
        generated share shown within ``max_property_error`` of the training share, for every value)."""
        return [
            {"kind": "privacy", "attribute": entry["name"], "message": entry["self_audit"]["finding"]}
            for entry in section["attributes"]
            if (entry.get("self_audit") or {}).get("outcome") == "finding"
        ]

    @staticmethod
    def verdicts(section: dict) -> list[dict]:
        """The report's ``verdicts`` entries (kind ``privacy``): one per attribute, its self-audit's outcome."""
        return [
            {
                "kind": "privacy",
                "subject": entry["name"],
                "outcome": entry["self_audit"]["outcome"],
                "reason": entry["self_audit"]["verdict"],
                "next_step": entry["self_audit"]["next_step"],
            }
            for entry in section["attributes"]
            if "self_audit" in entry
        ]


def primary_method(headline: dict) -> str:
    """The headline estimator of the ``headline`` entry (the pooled ``overall`` with several conditions, else the one
    condition's): the anytime-valid sequence when a sequential rule stopped sampling (the fixed-n intervals are not
    valid at a data-dependent stop); else prediction-powered with gold labels (pooled only when every condition has
    them); else corrected; else classify-and-count."""
    estimates = headline["estimates"]
    for method in ("sequential", "ppi", "corrected"):
        if method in estimates:
            return method
    return "classify_and_count"


def read_gold(path: str, annotators: list[Annotator]) -> GoldLabels:
    """The gold labels in ``path``, checked against the annotated attributes and their values (before any sampling)."""
    gold = GoldLabels.read(path)
    annotator = next((annotator for annotator in annotators if annotator.attribute.name == gold.attribute), None)
    if annotator is None:
        raise InvalidGoldLabels(
            path, f"it labels {gold.attribute!r}, which no --attribute {gold.attribute}=SPEC annotates"
        )
    if tuple(annotator.attribute.values) != gold.values:
        raise InvalidGoldLabels(
            path, f"its values {list(gold.values)} are not the annotator's {list(annotator.attribute.values)}"
        )
    return gold


def require_better_than_chance(annotator: Annotator) -> None:
    """Raise :class:`ClassifierNoBetterThanChance` unless, for every value v, the annotator predicts v
    more often for images whose true value is v than for images of any other value (binary: tpr > fpr)."""
    values = annotator.attribute.values
    rates = confusion_rates(annotator.confusion, names=values)
    for k, value in enumerate(values):
        other = int(np.argmax(np.where(np.arange(len(values)) == k, -1.0, rates[:, k])))
        if not rates[k, k] > rates[other, k]:
            raise ClassifierNoBetterThanChance(
                f"the {annotator.attribute.name!r} annotator is no better than chance on its labelled data: it predicts "
                f"{value!r} for {rates[k, k]:.0%} of true {value!r} images but for {rates[other, k]:.0%} of true "
                f"{values[other]!r} ones, so its labels say nothing about the share (use a better annotator)"
            )


def read_training(source: str, annotators: list[Annotator], *, allow_local: bool) -> TrainingRecords:
    """The sharer's training data without its images: each attribute's values (its column named like the attribute,
    values 0..K-1) and the columns that may give each record's class (``class``, ``label``) or prompt (``prompt``)."""
    training = load_labelled_images(source, allow_local=allow_local)
    labels = {
        annotator.attribute.name: value_labels(
            training, annotator.attribute.name, value_count=len(annotator.attribute.values)
        )
        for annotator in annotators
    }
    conditions = {name: training.column(name) for name in CLASS_COLUMNS if name in training.columns}
    for name in PROMPT_COLUMNS:
        prompts = load_text_column(source, name, allow_local=allow_local)
        if prompts is not None:
            conditions[name] = np.asarray(prompts, dtype=object)
    return TrainingRecords(labels, conditions)
