"""Property inference: the share of each attribute value among a scan's generated samples, and the sharer's self-audit.

Entry point: :class:`PropertyAudit` (annotators built before sampling, the ``properties`` section after). Modules:
``entries`` (the report's per-condition entries), ``gold`` (gold labels on generated samples), ``self_audit`` (the
equivalence test of disclosure), ``training_shares`` (what the training data says), ``drift`` (fast sampler vs the
model's own), ``audit``.
"""

from hubaudit.exports import lazy_exports

EXPORTS = {
    "GoldLabels": "gold",
    "PropertyAudit": "audit",
    "TrainingShares": "training_shares",
    "self_audit": "self_audit",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
