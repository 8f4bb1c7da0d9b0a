"""Charts of a report as PNG bytes: per-attribute shares with intervals, the S x Y heat map.

Figures are built with :class:`matplotlib.figure.Figure` on the Agg canvas (no pyplot, no
global state), so rendering is safe in servers and threads.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hubaudit.report.content import attribute_groups, confidence_text, fairness_sources, primary_estimates

CHART_CONDITIONS = 8
"""Most conditions drawn per value (besides the pooled one); with more, the chart shows only the
pooled estimate (or, without one, the first conditions)."""


def figure_png(figure: Figure) -> bytes:
    """``figure`` rendered to PNG bytes (tight bounding box)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def attribute_chart_png(attribute: dict, *, confidence: float | None = None) -> bytes | None:
    """Bar chart of an attribute's primary share estimates with their intervals, as PNG bytes.

    One bar group per value, one bar per condition (and ``all conditions`` when pooled); the
    sharer's training share, when the report has a self-audit, is a dashed line per value.
    None when the attribute has no estimates.
    """
    groups = []
    shown = attribute_groups(attribute)
    if len(shown) > CHART_CONDITIONS + 1:  # too many bars to tell apart
        shown = shown[-1:] if attribute.get("overall") else shown[:CHART_CONDITIONS]
    for label, entry in shown:
        method, estimates = primary_estimates(attribute, entry)
        if estimates:
            groups.append((label, method, estimates))
    if not groups:
        return None
    values = attribute.get("values") or list(groups[0][2])
    positions = np.arange(len(values), dtype=float)
    width = 0.8 / len(groups)
    figure = Figure(figsize=(max(4.0, 0.9 * len(values) * max(1, len(groups) / 2) + 1.5), 3.2), dpi=100)
    axes = figure.subplots()
    for number, (label, _, estimates) in enumerate(groups):
        shown = [index for index, value in enumerate(values) if value in estimates]
        centre = np.array([float(estimates[values[index]]["value"]) for index in shown])
        low = np.array([float(estimates[values[index]]["low"]) for index in shown])
        high = np.array([float(estimates[values[index]]["high"]) for index in shown])
        errors = np.clip(np.stack([centre - low, high - centre]), 0.0, None)
        offset = (number - (len(groups) - 1) / 2) * width
        axes.bar(positions[shown] + offset, centre, width, yerr=errors, capsize=3, label=label)
    training_share = (attribute.get("self_audit") or {}).get("training_share") or {}
    labelled = False
    for index, value in enumerate(values):
        if value in training_share:
            label = None if labelled else "training share"
            axes.hlines(
                float(training_share[value]),
                index - 0.45,
                index + 0.45,
                colors="black",
                linestyles="dashed",
                label=label,
            )
            labelled = True
    axes.set_xticks(positions, [str(value) for value in values])
    axes.set_ylim(0.0, 1.0)
    axes.set_ylabel("share of generated samples")
    axes.set_title(f"{attribute.get('name', '')}: {groups[0][1]} estimate, {confidence_text(confidence)} intervals")
    if len(groups) > 1 or training_share:
        axes.legend(fontsize="small")
    return figure_png(figure)


def fairness_heatmap_png(pair: dict) -> bytes | None:
    """Heat map of one (S, Y) pair's contingency table(s), coloured by P(Y | S), as PNG bytes.

    ``pair`` is the ``fairness`` section (its first pair) or one of its ``other_pairs``.

    One panel per source (generated samples, and the reference data when given); each cell
    shows its count and its share of the row. None when the pair has no table.
    """
    tables = [
        (name, np.asarray(section["table"], dtype=float))
        for name, section in fairness_sources(pair)
        if section.get("table")
    ]
    if not tables:
        return None
    figure = Figure(figsize=(3.6 * len(tables) + 1.0, 3.0), dpi=100)
    panels = figure.subplots(1, len(tables), squeeze=False)[0]
    for axes, (source, table) in zip(panels, tables):
        row_totals = table.sum(axis=1, keepdims=True)
        rates = np.divide(table, row_totals, out=np.zeros_like(table), where=row_totals > 0)
        image = axes.imshow(rates, vmin=0.0, vmax=1.0, cmap="viridis")
        for (row, column), count in np.ndenumerate(table):
            colour = "black" if rates[row, column] > 0.6 else "white"
            axes.text(column, row, f"{int(count)}\n{rates[row, column]:.2f}", ha="center", va="center", color=colour)
        axes.set_xticks(range(table.shape[1]), _names(pair.get("label_values"), table.shape[1]))
        axes.set_yticks(range(table.shape[0]), _names(pair.get("group_names"), table.shape[0]))
        axes.set_xlabel(str(pair.get("label", "Y")))
        if axes is panels[0]:
            axes.set_ylabel(str(pair.get("sensitive", "S")))
        axes.set_title(f"{source} data")
    figure.colorbar(image, ax=list(panels), label="P(Y | S)")
    return figure_png(figure)


def _names(names: list | None, count: int) -> list[str]:
    return [str(name) for name in names] if names and len(names) == count else [str(index) for index in range(count)]
