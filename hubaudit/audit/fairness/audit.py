"""The fairness audit inside a scan: checks before sampling, then the signature of the annotated samples.

:meth:`FairnessAudit.prepare` checks the ``--sensitive`` names against the ``--attribute`` names
and loads the reference data; :meth:`FairnessAudit.check_conditions` refuses a label mapping that
does not fit the scanned classes or prompts before any sample is drawn; :meth:`FairnessAudit.run`
reads the property audit's annotations (and, for the probe, the sample stores) and returns the
:class:`~hubaudit.audit.fairness.FairnessSignature`, corrected for each S annotator's errors condition
by condition (:func:`~hubaudit.audit.fairness.correction.condition_calibrations`): with the gold labels
of the condition's store (``--gold``) where given, else the annotator's calibration records of that
class or label, else its overall confusion matrix. :meth:`FairnessAudit.read_card` reads the model
card's declared rates; the scan calls it before sampling when the model is already resolved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from hubaudit.annotate import Annotator
from hubaudit.audit.fairness.correction import ConditionCalibration, condition_calibrations
from hubaudit.audit.fairness.declared_rates import read_card_section
from hubaudit.audit.fairness.label_mapping import condition_labels
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.probe import PROBE_IMAGE_SIZE
from hubaudit.audit.fairness.signature import FairnessSignature, audit_fairness, check_sensitive_names
from hubaudit.audit.fairness.sources import reference_signature
from hubaudit.data import LabelledImages, load_labelled_images
from hubaudit.errors import InvalidData
from hubaudit.hub import ResolvedModel
from hubaudit.sampling import Condition

if TYPE_CHECKING:
    from hubaudit.audit.properties.audit import PropertyAudit
    from hubaudit.audit.sampled import SampledModel


class FairnessAudit:
    """The fairness audit of one scan: :meth:`prepare` before sampling, :meth:`run` once the samples are annotated."""

    def __init__(self, options: FairnessOptions, annotated: Sequence[str], reference: LabelledImages | None):
        self.options, self.annotated, self.reference = options, tuple(annotated), reference
        self.card: dict | None = None  # the model card's hubaudit section, once read

    @classmethod
    def prepare(
        cls, options: FairnessOptions, *, attribute_values: Mapping[str, tuple[str, ...]], allow_local: bool = True
    ) -> FairnessAudit:
        """Check the names, load the reference data (images at the probe's size) and check its S x Y tables,
        so that bad input fails before sampling; ``attribute_values`` maps each annotated attribute to its values;
        ``allow_local=False`` refuses a local reference.

        Raises:
            InvalidAttributeSpec: a ``--sensitive`` name is not an ``--attribute``.
            InvalidData: the reference cannot be read, lacks an S or Y column, or holds values out of range.
            EmptyGroup: a reference group has no records.
        """
        check_sensitive_names(options, attribute_values)
        reference = None
        if options.reference is not None:
            try:
                reference = load_labelled_images(
                    options.reference,
                    columns=[*options.sensitive, *options.labels],
                    image_size=PROBE_IMAGE_SIZE,
                    allow_local=allow_local,
                )
                for sensitive, label in product(options.sensitive, options.labels):
                    reference_signature(
                        reference,
                        sensitive=sensitive,
                        label=label,
                        group_names=attribute_values[sensitive],
                        confidence=options.confidence,
                    )
            except InvalidData as err:
                raise InvalidData(f"--reference: {err}") from err
        return cls(options, list(attribute_values), reference)

    def check_conditions(self, kind: str, conditions: Sequence[Condition]) -> None:
        """Raise :class:`InvalidLabelMapping` if a label that is not annotated cannot be read off ``conditions``."""
        if any(label not in self.annotated for label in self.options.labels):
            condition_labels(
                conditions, kind=kind, label_map=self.options.label_map, label_prompts=self.options.label_prompts
            )

    def read_card(self, resolved: ResolvedModel, *, token: str | None = None) -> None:
        """Read the model card's ``hubaudit`` section (its declared rates), once."""
        if self.card is None:
            self.card = read_card_section(resolved, token=token)

    def run(
        self, sampled: SampledModel, properties: PropertyAudit, *, token: str | None = None, looks: int = 1
    ) -> FairnessSignature:
        """The signature of the first ``properties.n_used`` samples of each condition, as annotated by ``properties``,
        corrected with the gold labels of ``properties`` where they label a sensitive attribute's samples; ``looks``:
        the sample counts a sequential stop could have ended at (each test is then at alpha / looks)."""
        n = properties.n_used
        probe = self.reference is not None and self.options.probe
        annotators = {annotator.attribute.name: annotator for annotator in properties.annotators}
        conditions = [samples.condition for samples in sampled.samples]
        probabilities = {
            annotator.attribute.name: [per_attribute[position][:n] for per_attribute in properties.probabilities]
            for position, annotator in enumerate(properties.annotators)
        }
        self.read_card(sampled.resolved, token=token)
        return audit_fairness(
            kind=sampled.sampler.kind,
            conditions=conditions,
            images=[samples.store.load(n) for samples in sampled.samples] if probe else None,
            probabilities=probabilities,
            attribute_values={name: annotator.attribute.values for name, annotator in annotators.items()},
            options=self.options,
            reference=self.reference,
            card=self.card,
            calibrations=self._calibrations(sampled.sampler.kind, conditions, probabilities, annotators, properties),
            seed=sampled.options.sampler.seed,
            looks=looks,
        )

    def _calibrations(
        self,
        kind: str,
        conditions: list[Condition],
        probabilities: dict[str, list[np.ndarray]],
        annotators: dict[str, Annotator],
        properties: PropertyAudit,
    ) -> dict[tuple[str, str], list[ConditionCalibration | None]]:
        """(S, Y) -> per condition the correction of the S annotator's errors; pairs with an annotated Y get none."""
        labels_read = [label for label in self.options.labels if label not in probabilities]
        if not labels_read:
            return {}
        by_condition = condition_labels(
            conditions, kind=kind, label_map=self.options.label_map, label_prompts=self.options.label_prompts
        )
        found = {}
        for sensitive, label in product(self.options.sensitive, labels_read):
            annotated = [batch.argmax(axis=1) for batch in probabilities[sensitive]]
            gold = [
                labels.codes(below=len(codes))
                if (labels := properties.gold_for(store, sensitive)) is not None
                else None
                for store, codes in zip(properties.stores, annotated)
            ]
            found[(sensitive, label)] = condition_calibrations(
                annotators[sensitive],
                label=label,
                conditions=conditions,
                condition_labels=by_condition,
                kind=kind,
                annotated=annotated,
                gold=gold,
            )
        return found
