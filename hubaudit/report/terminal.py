"""The lines ``hubaudit scan`` prints: a report dict (docs/report-schema.md) in a few terminal lines.

Plain dict in, strings out (no torch), like every renderer of :mod:`hubaudit.report`.
"""

from __future__ import annotations

from hubaudit.report.content import condition_label, estimate_text, gap_text, headline_estimates
from hubaudit.report.memorization import memorization_lines


def scan_lines(report: dict, *, out_dir: str) -> list[str]:
    """The scan's summary: model, samples, estimates, fairness, drift warnings, findings, where the report went."""
    model = report["model"]
    class_names = model.get("class_names")
    lines = [f"model     {model['reference']} @ {model['resolved_sha']} ({model['pipeline_class']}, {model['kind']})"]
    for samples in report["samples"]:
        lines.append(
            f"samples   {condition_label(samples['condition'], class_names)}: {report['n_per_condition']} samples, "
            f"{samples['generated']} generated, {samples['reused']} reused from {samples['store_path']}"
        )
    if "properties" in report:
        lines += property_lines(report["properties"], class_names=class_names)
    if "fairness" in report:
        lines += fairness_lines(report["fairness"])
    if "memorization" in report:
        lines += memorization_lines(report["memorization"])
    lines += [f"drift     {warning}" for warning in report.get("drift", {}).get("warnings", [])]
    lines += [
        f"{verdict['kind']:<9} {verdict['reason']}"
        for verdict in report.get("verdicts", [])
        if verdict["subject"] == verdict["kind"]
    ]
    lines += [f"finding   {finding['kind']}: {finding['message']}" for finding in report["findings"]]
    lines.append(f"report    {out_dir}/report.json and {out_dir}/report.html")
    return lines


def property_lines(section: dict, *, class_names: dict | None = None) -> list[str]:
    """A few lines for the terminal: per attribute and condition the corrected and naive estimates; conditions by
    name (``unconditional``, ``class 3 (cat)`` with the report's ``model.class_names``, ``prompt 'a cat'``), values as
    ``NAME=VALUE``."""
    lines = [
        f"property  estimates of the GENERATED share, {section['confidence']:.0%} intervals (see report.json 'statement')"
    ]
    for attribute in section["attributes"]:
        annotator = attribute["annotator"]
        calibration = (
            f"accuracy {annotator['accuracy']:.3f} (calibration: {annotator.get('calibration') or 'not recorded'})"
            if annotator["accuracy"] is not None
            else "uncalibrated"
        )
        lines.append(f"property  {attribute['name']}: {annotator['type']} annotator, {calibration}")
        by_condition = attribute["by_condition"]
        single = (
            condition_label(by_condition[0]["condition"], class_names) if len(by_condition) == 1 else "all conditions"
        )
        lines += [
            f"  inferred share of {attribute['name']}={row.value} among the generated samples "
            f"({single if row.condition != 'all conditions' else row.condition}): {estimate_text(row.estimate)} "
            f"({row.method}, n={row.estimate.get('n')})"
            for row in headline_estimates(attribute)
        ]
        shown = attribute["values"][1:] if len(attribute["values"]) == 2 else attribute["values"]
        entries = by_condition + ([attribute["overall"]] if "overall" in attribute else [])
        for entry in entries:
            condition = entry["condition"]
            where = (
                ", all conditions"
                if isinstance(condition, list)
                else ""
                if condition is None
                else f", {condition_label(condition, class_names)}"
            )
            for value in shown:
                corrected = entry["estimates"].get("corrected", {}).get(value)
                text = (
                    f"corrected {_interval(corrected)}"
                    if corrected
                    else f"corrected: undefined ({entry['corrected_error']})"
                )
                naive = _interval(entry["estimates"]["classify_and_count"][value])
                powered = entry["estimates"].get("ppi", {}).get(value)
                if powered:
                    gold = entry["gold"]
                    text = (
                        f"prediction-powered {_interval(powered)} ({gold['used']} gold labels, worth "
                        f"{gold['effective_gold'][value]:.0f} alone); {text}"
                    )
                lines.append(
                    f"  {attribute['name']}={value}{where}: {text}; classify-and-count {naive}; n={entry['n']}"
                )
            if "sequential" in entry:
                sequential = entry["sequential"]
                outcome = "reached" if sequential["reached"] else "not reached"
                estimates = "; ".join(f"{value} {_interval(sequential['estimates'][value])}" for value in shown)
                lines.append(
                    f"  sequential (anytime-valid headline, {sequential['estimates_what']}): half-width "
                    f"{sequential['target_half_width']:g} {outcome} after {sequential['n_used']} samples: {estimates}"
                )
                lines.append(f"  plan: {sequential['recommendation']}")
        if "self_audit" in attribute:
            lines.append(f"  self-audit: {attribute['self_audit']['verdict']}")
            lines.append(f"  next: {attribute['self_audit']['next_step']}")
    return lines


def _interval(estimate: dict) -> str:
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"


def fairness_lines(section: dict) -> list[str]:
    """A few lines for the terminal: per (S, Y) pair the generated gap, the baselines and the verdict."""
    lines = []
    for pair in [section, *section.get("other_pairs", [])]:
        baselines = []
        for source in ("reference", "declared"):
            moved = (pair["by_source"].get(source) or {}).get("at_judged_label_share") or {}
            if moved.get("dp_gap") is not None:
                baselines.append(f"{source} {moved['dp_gap']['value']:.3f}")
        versus = f" (vs {', '.join(baselines)}, at the same P(Y=1))" if baselines else ""
        key = f"{pair['sensitive']}/{pair['label']}"
        generated = gap_text(pair["by_source"]["generated"])
        corrected = (pair.get("corrected") or {}).get("dp_gap")
        source = (pair.get("corrected") or {}).get("confusion")
        corrected_text = f", corrected {_interval(corrected)} ({source})" if corrected is not None else ""
        lines.append(
            f"fairness  {key}: demographic-parity gap {generated}{corrected_text}{versus}; "
            f"evidence: independence test BH-adjusted p {section['adjusted_p_values'][key]:.3g}"
        )
        lines.append(f"  verdict: {pair['verdict']['reason']}")
        lines.append(f"  next: {pair['verdict']['next_step']}")
        if "probe" in pair:
            probe = pair["probe"]
            lines.append(
                f"  probe: trained on samples, accuracy {probe['trained_on_generated']['accuracy']:.3f} and parity difference "
                f"{probe['trained_on_generated']['demographic_parity_difference']['value']:.3f} on the reference; "
                f"{probe['accuracy_lost']:+.3f} accuracy lost, {probe['dp_difference_added']:+.3f} parity difference added"
            )
    return lines


def image_lines(image, *, columns: int = 32) -> list[str]:
    """``uint8 [H, W, C]`` as terminal lines of ANSI true-colour half blocks (two pixel rows a line), ``columns`` wide."""
    import numpy as np

    rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]
    step = max(1, int(np.ceil(rgb.shape[1] / columns)))
    scale = max(1, columns // rgb.shape[1])
    pixels = np.repeat(np.repeat(rgb[::step, ::step], scale, axis=0), scale, axis=1)
    if len(pixels) % 2:
        pixels = np.concatenate([pixels, np.zeros_like(pixels[:1])])
    lines = []
    for top, bottom in zip(pixels[::2], pixels[1::2]):
        cells = "".join(
            f"\x1b[38;2;{t[0]};{t[1]};{t[2]}m\x1b[48;2;{b[0]};{b[1]};{b[2]}m\u2580" for t, b in zip(top, bottom)
        )
        lines.append(cells + "\x1b[0m")
    return lines
