"""Membership inference (the data owner's question): was this image in the model's training set?

Modules: ``whitebox`` (a pipeline's denoiser and noise schedule), ``scores`` (the loss and PIA attacks),
``calibration`` (conformal thresholds on non-members, the share of members among the flagged), ``run`` (the verb).
"""

from hubaudit.exports import lazy_exports

EXPORTS = {
    "ATTACKS": "scores",
    "CalibratedThreshold": "calibration",
    "MembershipRequest": "run",
    "membership_scores": "scores",
    "run_membership": "run",
    "white_box": "whitebox",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
