"""Statistics for audits: share intervals, corrected estimators, sequential scans, S x Y dependence.

Pure numpy/scipy/statsmodels; see docs/statistics.md for what each estimator estimates and
the coverage measured by simulation.
"""

from hubaudit.stats.anytime import CorrectedConfidenceSequence, FixedSamplePlan, LabelledShareSequences, fixed_n_plan
from hubaudit.stats.correction import confusion_rates, corrected_binary_share, corrected_shares
from hubaudit.stats.estimate import ShareEstimate
from hubaudit.stats.information import (
    IndependenceTest,
    benjamini_hochberg,
    contingency_table,
    demographic_parity_gap,
    holm,
    independence_tests,
    mutual_information,
    positive_rates,
)
from hubaudit.stats.ppi import PredictionPoweredShares, gold_confusion, ppi_shares
from hubaudit.stats.proportion import (
    clopper_pearson_interval,
    clopper_pearson_sample_size,
    hoeffding_interval,
    hoeffding_sample_size,
    simultaneous_intervals,
    soft_share_interval,
    soft_share_intervals,
)
from hubaudit.stats.sequential import ConfidenceSequence, samples_to_half_width

__all__ = [
    "ConfidenceSequence",
    "CorrectedConfidenceSequence",
    "FixedSamplePlan",
    "LabelledShareSequences",
    "PredictionPoweredShares",
    "IndependenceTest",
    "ShareEstimate",
    "benjamini_hochberg",
    "clopper_pearson_interval",
    "clopper_pearson_sample_size",
    "confusion_rates",
    "contingency_table",
    "corrected_binary_share",
    "corrected_shares",
    "demographic_parity_gap",
    "fixed_n_plan",
    "gold_confusion",
    "hoeffding_interval",
    "holm",
    "hoeffding_sample_size",
    "independence_tests",
    "mutual_information",
    "positive_rates",
    "ppi_shares",
    "samples_to_half_width",
    "simultaneous_intervals",
    "soft_share_interval",
    "soft_share_intervals",
]
