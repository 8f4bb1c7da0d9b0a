"""Planning before the scan: the samples per condition an audit needs for a verdict with a given power.

Entry points: :func:`plan_fairness`, :func:`plan_privacy` and :func:`simulated_power` (``plans``); ``scenarios`` is what
one simulated scan is, ``inputs`` how the inputs are parsed and checked.
"""

from hubaudit.exports import lazy_exports

EXPORTS = {
    "AuditPlan": "plans",
    "DEFAULT_ANNOTATOR_ERROR": "plans",
    "DEFAULT_CALIBRATION_PER_CLASS": "plans",
    "DEFAULT_FAIRNESS_EFFECT": "plans",
    "DEFAULT_POWER": "plans",
    "DEFAULT_TRIALS": "plans",
    "FairnessPlan": "plans",
    "PlannedOutcome": "plans",
    "PrivacyPlan": "plans",
    "parse_effect": "plans",
    "parse_shares": "plans",
    "plan_fairness": "plans",
    "plan_privacy": "plans",
    "simulated_power": "plans",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
