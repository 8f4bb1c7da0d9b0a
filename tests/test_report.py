"""Rendering reports people and CI read: HTML, Markdown, JUnit, from report dicts of the schema's shape."""

from __future__ import annotations

import base64
import io
import re
import shutil
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image

from hubaudit.report.charts import attribute_chart_png, fairness_heatmap_png
from hubaudit.report.content import fail_on_exit_code
from hubaudit.report.html_report import render_html
from hubaudit.report.junit_report import render_junit
from hubaudit.report.markdown_report import render_markdown
from report_examples import IMAGE_SOURCES, full_report, minimal_report, share


def _decoded_images(page: str) -> list[np.ndarray]:
    images = []
    for source in IMAGE_SOURCES.findall(page):
        assert source.startswith("data:image/png;base64,"), source[:60]
        images.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))))
    return images


def _testcases(xml: str) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(xml)
    return {f"{case.get('classname')}/{case.get('name')}": case for case in root.iter("testcase")}


def test_html_report_is_one_file_with_samples_charts_and_every_section(tmp_path):
    report = full_report(tmp_path)
    page = render_html(report)
    images = _decoded_images(page)
    samples = [image for image in images if image.shape[:2] == (8, 8)]
    charts = [image for image in images if image.shape[0] > 100]
    assert len(samples) == 8  # 4 per condition, both conditions
    assert len(charts) == 2  # the is_zero bar chart and the S x Y heat map
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # nothing loaded from elsewhere
    for text in (
        "org/model",
        "abc123",
        "DDIMScheduler",
        report["command"],
        "class 0",
        "class 1",
        "all conditions",
        "0.680 [0.650, 0.710]",
        report["findings"][0]["message"],
        "Probe classifiers",
        "1e-12",
        "load",
    ):
        assert text in page, text


def test_html_report_of_a_scan_without_audits_says_not_tested_never_pass(tmp_path):
    page = render_html(minimal_report(tmp_path))
    assert "2 not tested" in page and ">pass<" not in page and "no findings" not in page
    assert "not tested: no fairness audit was asked for" in page
    assert "Property inference" not in page and "Fairness signature" not in page
    assert len(_decoded_images(page)) == 4


def test_html_report_escapes_prompts_and_messages(tmp_path):
    report = minimal_report(tmp_path, conditions=("<script>alert(1)</script>",))
    report["findings"] = [{"kind": "privacy", "message": "<img src=x onerror=alert(1)>"}]
    page = render_html(report)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_moved_report_finds_its_samples_beside_it_and_notes_lost_ones(tmp_path):
    report = minimal_report(tmp_path / "scan", conditions=(0, 1))
    shutil.move(tmp_path / "scan", tmp_path / "moved")
    assert len(_decoded_images(render_html(report, report_dir=tmp_path / "moved"))) == 8
    shutil.rmtree(tmp_path / "moved" / "samples" / report["samples"][1]["store_path"].rsplit("/", 1)[1])
    page = render_html(report, report_dir=tmp_path / "moved")
    assert len(_decoded_images(page)) == 4
    assert "sample store not found" in page


def test_html_report_of_many_conditions_shows_the_first_and_says_how_many_more(tmp_path):
    page = render_html(minimal_report(tmp_path, conditions=tuple(range(30)), n=1))
    assert len(_decoded_images(page)) == 24
    assert "The samples of 6 more conditions are in the sample stores" in page


def test_estimates_fall_back_to_classify_and_count_when_correction_is_undefined(tmp_path):
    report = full_report(tmp_path)
    attribute = report["properties"]["attributes"][0]
    attribute["annotator"] = {"type": "clip", "description": "zero-shot CLIP"}
    for entry in attribute["by_condition"] + [attribute["overall"]]:
        del entry["estimates"]["corrected"]
        entry["corrected_error"] = "the annotator is no better than chance"
    markdown = render_markdown(report)
    assert "| is_zero | class 0 | 1 | 0.300 [0.270, 0.330] | classify_and_count | 2000 |" in markdown
    page = render_html(report)
    assert "no corrected estimate: the annotator is no better than chance" in page
    assert "Annotator: zero-shot CLIP." in page  # no calibration accuracy to report


def test_junit_has_one_testcase_per_check_and_findings_as_failures(tmp_path):
    report = full_report(tmp_path)
    cases = _testcases(render_junit(report))
    assert sorted(cases) == ["hubaudit.fairness/color/label", "hubaudit.privacy/is_zero", "hubaudit.sampling/samples"]
    assert cases["hubaudit.sampling/samples"].find("failure") is None
    assert cases["hubaudit.privacy/is_zero"].find("failure").get("message") == report["findings"][0]["message"]
    assert cases["hubaudit.fairness/color/label"].find("failure").get("type") == "finding"
    root = ElementTree.fromstring(render_junit(report))
    assert (root.get("tests"), root.get("failures")) == ("3", "2")


def test_junit_skips_a_check_that_did_not_run_and_fails_an_inconclusive_one(tmp_path):
    # a demo scan without --training-data used to pass hubaudit.privacy/is_zero although no privacy test ran
    report = full_report(tmp_path)
    report["findings"] = []
    report["verdicts"][0] |= {
        "outcome": "not tested",
        "reason": "not tested: needs --training-data DATA with a column 'is_zero'",
    }
    report["verdicts"][1] |= {
        "outcome": "inconclusive",
        "reason": "inconclusive: ...",
        "next_step": "rerun with -n 9300",
    }
    cases = _testcases(render_junit(report))
    assert (
        cases["hubaudit.privacy/is_zero"]
        .find("skipped")
        .get("message")
        .startswith("not tested: needs --training-data")
    )
    assert cases["hubaudit.privacy/is_zero"].find("failure") is None
    failure = cases["hubaudit.fairness/color/label"].find("failure")
    assert failure.get("type") == "inconclusive" and "rerun with -n 9300" in failure.text
    root = ElementTree.fromstring(render_junit(report))
    assert (root.get("failures"), root.get("skipped")) == ("1", "1")
    markdown = render_markdown(report)
    assert "Findings: none" not in markdown and "- **not tested** (privacy, is_zero)" in markdown


def test_fail_on_exit_codes_follow_the_three_outcomes(tmp_path):
    report = full_report(tmp_path)
    assert fail_on_exit_code(report, "fairness") == 1 and fail_on_exit_code(report, None) == 0
    report["findings"] = []
    report["verdicts"][1]["outcome"] = "inconclusive"
    report["verdicts"][0]["outcome"] = "no finding"
    assert fail_on_exit_code(report, "fairness") == 3 and fail_on_exit_code(report, "any") == 3
    assert fail_on_exit_code(report, "privacy") == 0
    report["verdicts"][1]["outcome"] = "no finding"
    assert fail_on_exit_code(report, "any") == 0
    assert fail_on_exit_code(minimal_report(tmp_path / "minimal"), "fairness") == 3  # not tested is never a pass
    legacy = {key: value for key, value in full_report(tmp_path / "legacy").items() if key != "verdicts"}
    legacy["findings"] = []
    assert fail_on_exit_code(legacy, "fairness") == 3


def test_junit_passes_when_everything_settled_on_no_finding_and_keeps_findings_no_check_names(tmp_path):
    report = full_report(tmp_path)
    report["findings"] = []
    for verdict in report["verdicts"]:
        verdict["outcome"] = "no finding"
    assert all(case.find("failure") is None for case in _testcases(render_junit(report)).values())
    report["findings"] = [{"kind": "privacy", "message": "a risk of an attribute the report does not list"}]
    assert (
        _testcases(render_junit(report))["hubaudit.privacy/is_zero"].find("failure") is not None
    )  # the only privacy check
    report["properties"]["attributes"].append({**report["properties"]["attributes"][0], "name": "is_one"})
    report["verdicts"].append({**report["verdicts"][0], "subject": "is_one"})
    cases = _testcases(render_junit(report))
    assert cases["hubaudit.privacy/privacy"].find("failure").text == "a risk of an attribute the report does not list"
    assert (
        cases["hubaudit.privacy/is_zero"].find("failure") is None
        and cases["hubaudit.privacy/is_one"].find("failure") is None
    )


def test_junit_privacy_finding_goes_to_the_attribute_it_names(tmp_path):
    report = full_report(tmp_path)
    attribute = report["properties"]["attributes"][0]
    report["properties"]["attributes"].append({**attribute, "name": "is_one"})
    report["verdicts"].append({**report["verdicts"][0], "subject": "is_one"})
    report["findings"] = [
        {"kind": "privacy", "message": "x", "attribute": "is_one"},
        {"kind": "privacy", "message": "the share of is_zero=1 leaks"},
    ]
    cases = _testcases(render_junit(report))
    assert cases["hubaudit.privacy/is_one"].find("failure").text == "x"
    assert cases["hubaudit.privacy/is_zero"].find("failure").text == "the share of is_zero=1 leaks"


def _with_second_pair(report: dict) -> dict:
    """``report`` with a second (S, Y) pair, a model-card declared gap, and a finding on the second pair."""
    second = {
        **report["fairness"],
        "sensitive": "shade",
        "verdict": {"finding": True, "reason": "gap 0.40, above 0.10"},
    }
    for name in ("threshold", "adjusted_p_values", "notes"):
        second.pop(name, None)
    report["fairness"]["by_source"]["declared"] = {
        "source": "model card",
        "positive_rates": {"red": 0.5, "green": 0.45},
        "dp_gap": 0.05,
        "gap_difference": share(0.35),
    }
    report["fairness"]["other_pairs"] = [second]
    report["findings"].append({"kind": "fairness", "message": "shade/label: gap 0.40, above 0.10"})
    report["verdicts"].append(
        {
            "kind": "fairness",
            "subject": "shade/label",
            "outcome": "finding",
            "reason": "gap 0.40, above 0.10",
            "next_step": "rebalance",
        }
    )
    return report


def test_every_fairness_pair_gets_its_check_heat_map_and_section(tmp_path):
    report = _with_second_pair(full_report(tmp_path))
    cases = _testcases(render_junit(report))
    assert cases["hubaudit.fairness/shade/label"].find("failure").text == "shade/label: gap 0.40, above 0.10"
    assert cases["hubaudit.fairness/color/label"].find("failure").text == report["findings"][1]["message"]
    page = render_html(report)
    assert len([image for image in _decoded_images(page) if image.shape[0] > 100]) == 3  # bar chart, two heat maps
    assert "<h3>shade/label</h3>" in page
    assert "Criteria: a finding is the gap above 0.10." in page and "significantly dependent" not in page
    assert "demographic-parity gap 0.050; the generated gap exceeds it by 0.350 [0.320, 0.380]" in page
    assert "### Fairness signature: shade/label" in render_markdown(report)


def test_markdown_section_pastes_into_a_model_card(tmp_path):
    report = full_report(tmp_path)
    markdown = render_markdown(report)
    assert markdown.startswith("## Privacy and fairness audit\n")
    assert "`abc123`" in markdown and report["command"] in markdown
    assert "| is_zero | all conditions | 1 | 0.370 [0.340, 0.400] | corrected | 2000 |" in markdown
    assert "- **finding** (fairness, color/label): finding: the demographic-parity gap" in markdown
    assert (
        "- **finding** (privacy, is_zero): finding: an outsider" in markdown
        and "  - next: rebalance the samples" in markdown
    )
    assert "  - finding: the training share of is_zero=1 is learnable" in markdown
    assert (
        "**Inferred share of is_zero=1** among the generated samples (all conditions): 0.370 [0.340, 0.400]"
        in markdown
    )
    assert "- reference data: demographic-parity gap 0.020 [0.000, 0.050]" in markdown
    assert "**Verdicts:** 2 not tested." in render_markdown(minimal_report(tmp_path / "minimal"))


def test_markdown_table_cells_escape_pipes(tmp_path):
    report = full_report(tmp_path)
    report["properties"]["attributes"][0]["by_condition"][0]["condition"] = "a | b"
    assert "prompt 'a \\| b'" in render_markdown(report)


@pytest.mark.parametrize("values", [["0", "1"], ["child", "young_adult", "middle_aged", "senior"]])
def test_attribute_chart_is_a_png_for_any_number_of_values(values):
    attribute = {
        "name": "age",
        "values": values,
        "primary_method": "classify_and_count",
        "by_condition": [
            {"condition": None, "estimates": {"classify_and_count": {v: share(1 / len(values)) for v in values}}}
        ],
    }
    chart = Image.open(io.BytesIO(attribute_chart_png(attribute)))
    assert chart.format == "PNG" and chart.width > 200


def test_charts_are_skipped_when_there_is_nothing_to_draw():
    assert attribute_chart_png({"name": "age", "values": ["0", "1"], "by_condition": [{"condition": None}]}) is None
    assert fairness_heatmap_png({"sensitive": "color", "by_source": {}}) is None


def test_scan_lines_name_conditions_and_values_never_null_or_brackets(tmp_path):
    from hubaudit.report.terminal import scan_lines

    report = minimal_report(tmp_path, conditions=(3, 5))
    report["model"]["class_names"] = {"3": "cat"}
    report["properties"] = {
        "confidence": 0.95,
        "attributes": [
            {
                "name": "is_zero",
                "values": ["0", "1"],
                "annotator": {"type": "auxiliary", "accuracy": None},
                "by_condition": [_naive_entry(3), _naive_entry(5)],
                "overall": _naive_entry([3, 5]),
            }
        ],
    }
    lines = scan_lines(report, out_dir="out")
    text = "\n".join(lines)
    assert "samples   class 3 (cat): 4 samples" in text and "samples   class 5: 4 samples" in text
    assert "inferred share of is_zero=1 among the generated samples (all conditions)" in text
    assert "  is_zero=1, class 3 (cat): corrected: undefined" in text and "  is_zero=1, all conditions: " in text
    assert not any(word in text for word in ("null", "None", "[3]", "[5]")), text
    unconditional = scan_lines(minimal_report(tmp_path / "u"), out_dir="out")
    assert any(line.startswith("samples   unconditional: 4 samples") for line in unconditional), unconditional
    prompted = scan_lines(minimal_report(tmp_path / "p", conditions=("a cat",)), out_dir="out")
    assert any(line.startswith("samples   prompt 'a cat': 4 samples") for line in prompted), prompted


def _naive_entry(condition: object) -> dict:
    """A ``by_condition`` entry with classify-and-count estimates only (the correction undefined)."""
    estimate = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 4, "method": "clopper-pearson"}
    return {
        "condition": condition,
        "n": 4,
        "counts": {"0": 2, "1": 2},
        "corrected_error": "no calibration",
        "estimates": {"classify_and_count": {"0": estimate, "1": estimate}},
    }
