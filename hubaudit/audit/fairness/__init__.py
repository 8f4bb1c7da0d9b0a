"""The fairness-poisoning signature: is the link between a sensitive attribute S and a label Y skewed?

Entry points: :class:`FairnessAudit` (the fairness audit inside a scan: checks before sampling, the signature after)
and :func:`audit_fairness` (the signature of annotated samples). Modules: ``options`` (what the audit is asked),
``label_mapping`` (Y read off classes or prompts), ``sources`` (S x Y statistics of one source), ``correction``
(annotator errors corrected condition by condition), ``declared_rates`` (a model card's rates), ``probe`` (the
downstream probe), ``pair`` (one (S, Y) pair and its verdict), ``verdict`` (the rule), ``signature`` and ``audit``.
"""

from hubaudit.exports import lazy_exports

EXPORTS = {
    "FairnessAudit": "audit",
    "FairnessOptions": "options",
    "FairnessSignature": "signature",
    "PairSignature": "pair",
    "Verdict": "pair",
    "audit_fairness": "signature",
    "judge_pairs": "verdict",
    "parse_label_map": "label_mapping",
    "parse_label_prompts": "label_mapping",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
