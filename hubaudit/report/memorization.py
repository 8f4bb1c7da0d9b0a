"""The memorization section of a scan report and the ``hubaudit membership`` result, as terminal and Markdown lines."""

from __future__ import annotations

from hubaudit.report.content import condition_label, estimate_text


def memorization_lines(section: dict) -> list[str]:
    """The terminal lines of a report's ``memorization`` section."""
    lines = [
        f"memorize  {section['copies']} of {section['n']} samples copy one of {section['distinct_training_images']} "
        f"training images ({section['n_training']} compared, {section['space']}): replication rate "
        f"{estimate_text(section['replication_rate'])}",
        f"memorize  median distance to the nearest training image {section['distances']['training']['q50']:.3f}"
        + (
            f", to the nearest held-out image {section['distances']['held_out']['q50']:.3f}; the criterion on "
            f"held-out images: {estimate_text(section['held_out_rate'])}"
            if "held_out" in section["distances"]
            else ""
        ),
        f"memorize  criterion: {section['criterion']}"
        + (
            f"; Carlini et al.'s relative criterion for comparison: {estimate_text(section['relative_rate'])}"
            if section.get("relative_rate")
            else ""
        ),
        f"memorize  {section['verdict']}" + (f"; next: {section['next_step']}" if section.get("next_step") else ""),
    ]
    return lines


def memorization_markdown(section: dict | None) -> list[str]:
    """A ``### Memorization`` Markdown block (nothing without a section)."""
    if not section:
        return []
    distances = section.get("distances") or {}
    rows = [("training images", distances.get("training"))]
    if distances.get("held_out"):
        rows.append(("held-out images", distances["held_out"]))
    table = ["| nearest distance to | 5% | 25% | median | 75% | 95% |", "| --- | --- | --- | --- | --- | --- |"]
    table += [
        f"| {name} | " + " | ".join(f"{quantiles[key]:.3f}" for key in ("q05", "q25", "q50", "q75", "q95")) + " |"
        for name, quantiles in rows
        if quantiles
    ]
    return [
        "### Memorization",
        "",
        f"{section.get('copies')} of {section.get('n')} samples copy one of {section.get('distinct_training_images')} "
        f"distinct training images: replication rate {estimate_text(section.get('replication_rate'))} "
        f"({section.get('criterion')}; distance: {section.get('distance')}).",
        *(
            [
                "",
                f"Carlini et al.'s relative criterion (uncalibrated), for comparison: "
                f"{estimate_text(section['relative_rate'])}.",
            ]
            if section.get("relative_rate")
            else []
        ),
        "",
        *table,
        "",
    ]


def membership_lines(result: dict) -> list[str]:
    """The terminal summary of a ``hubaudit membership`` result: per attack its threshold and flagged candidates."""
    model = result["model"]
    lines = [
        f"model       {model['reference']} @ {model['resolved_sha']} ({model['kind']})",
        f"data        {result['n_candidates']} candidates; thresholds calibrated on {result['n_non_members']} "
        f"non-members at FPR {result['fpr']:g}",
    ]
    for attack, found in result["attacks"].items():
        share = found["members_among_flagged"]
        among = (
            f"; members among them at least {share['low']:.3f} ({100 * share['confidence']:g}% bound)" if share else ""
        )
        lines.append(f"{attack:<11} flagged {found['flagged']} of {result['n_candidates']}{among}")
        top = sorted(found["per_candidate"], key=lambda row: -row["score"])[:5]
        lines += [
            f"  candidate {row['index']}: score {row['score']:.4g}, calibrated FPR {row['calibrated_fpr']:.3f}"
            + (" (member)" if row["member"] else "")
            for row in top
        ]
    lines.append(f"caveat      {result['caveat']}")
    return lines


def pair_condition(pair: dict) -> str:
    """A top pair's sample as people read it: ``unconditional #12``."""
    return f"{condition_label(pair.get('condition'))} #{pair.get('sample_index')}"
