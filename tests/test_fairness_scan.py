"""The fairness signature inside ``hubaudit scan``, end to end against the test Hub's tiny models."""

from __future__ import annotations

import json

import pytest

from hubaudit.cli import main
from hubaudit.data import LabelledImages, colored_mnist, save_labelled_images

FAST = ["--steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Trusted Colored-MNIST with columns color, label (and digit), colour independent of the label."""
    return save_labelled_images(
        colored_mnist(n=200, seed=3, image_size=16), tmp_path_factory.mktemp("reference") / "reference.parquet"
    )


def scan(args: list[str], out, capsys) -> tuple[int, dict | None, str]:
    """Run ``hubaudit scan ARGS`` in-process: (exit code, report or None, stdout + stderr).

    Progress bars of the ``datasets`` library (loading a Parquet reference) are dropped.
    """
    code = main(["scan", *args, *FAST, "--out", str(out)])
    captured = capsys.readouterr()
    report_path = out / "report.json"
    lines = [line.rsplit("\r", 1)[-1] for line in (captured.out + captured.err).splitlines(keepends=True)]
    output = "".join(line for line in lines if not line.startswith(("Generating", "Creating")))
    return code, json.loads(report_path.read_text()) if report_path.exists() else None, output


def test_class_conditional_scan_reports_the_signature_with_reference_and_probe(
    test_hub, tmp_path, capsys, colour_annotator, reference
):
    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "40",
        "--batch-size",
        "40",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label-map",
        "0=0,1=0,2=1",
        "--reference",
        str(reference),
    ]
    code, report, output = scan(args, tmp_path, capsys)
    assert code == 0, output
    fairness = report["fairness"]
    assert (fairness["sensitive"], fairness["label"], fairness["group_names"]) == ("color", "label", ["0", "1"])
    assert fairness["label_source"] == "0 -> 0; 1 -> 0; 2 -> 1"
    generated = fairness["by_source"]["generated"]
    # the table is the property section's colour counts, classes 0 and 1 in column Y=0 and class 2 in Y=1
    counts = [entry["counts"] for entry in report["properties"]["attributes"][0]["by_condition"]]
    expected = [[counts[0][value] + counts[1][value], counts[2][value]] for value in ("0", "1")]
    assert generated["table"] == expected and generated["n"] == 120
    reference_table = fairness["by_source"]["reference"]["table"]
    assert sum(map(sum, reference_table)) == 200
    difference = fairness["gap_difference"]
    assert difference["value"] == pytest.approx(
        generated["dp_gap"]["value"] - fairness["by_source"]["reference"]["dp_gap"]["value"]
    )
    probe = fairness["probe"]
    assert probe["n_test"] == 100 and probe["trained_on_generated"]["n_train"] == 120
    assert set(probe["trained_on_reference"]["selection_rate"]) == {"0", "1"}
    assert fairness["verdict"]["finding"] == any(finding["kind"] == "fairness" for finding in report["findings"])
    assert "fairness  color/label: demographic-parity gap" in output
    assert "--label-map 0=0,1=0,2=1" in report["command"] and "--sensitive color" in report["command"]
    assert {"annotator_seconds", "annotate_seconds", "fairness_seconds"} <= set(report["timings"])


@pytest.mark.slow
def test_fail_on_fairness_exits_1_on_a_finding_and_3_when_nothing_could_be_shown(
    test_hub, tmp_path, capsys, colour_annotator
):
    # S and Y annotated by the same annotator: Y = S, a gap of 1
    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "40",
        "--batch-size",
        "40",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--attribute",
        f"tint=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label",
        "tint",
    ]
    args += ["--store", str(tmp_path / "samples")]  # the four scans share their samples
    code, report, output = scan([*args, "--fail-on", "fairness"], tmp_path / "fail", capsys)
    assert code == 1, output
    assert report["fairness"]["by_source"]["generated"]["dp_gap"]["value"] == 1.0 and report["n_total"] == 120
    assert report["fairness"]["label_source"] == "annotated"
    assert [finding["kind"] for finding in report["findings"]] == ["fairness"]
    assert "finding   fairness: color/tint: finding: the demographic-parity gap at P(Y=1) = " in output
    assert scan([*args, "--fail-on", "any"], tmp_path / "any", capsys)[0] == 1
    code, report, output = scan([*args, "--fail-on", "privacy"], tmp_path / "privacy", capsys)
    assert (
        code == 3 and "self-audit: not tested: needs --training-data" in output
    )  # no privacy check ran: never a pass
    code, report, output = scan(
        [*args, "--fail-on", "fairness", "--max-dp-gap", "0.99"], tmp_path / "unsettled", capsys
    )
    # Y annotated too: its errors are not removed, so the gap cannot be shown within any margin
    assert code == 3 and report["findings"] == [] and report["fairness"]["verdict"]["outcome"] == "inconclusive"
    assert "no finding can be shown" in report["fairness"]["verdict"]["reason"]


def test_label_prompts_give_text_to_image_samples_their_label(test_hub, tmp_path, capsys, colour_annotator):
    args = [
        test_hub.repo("stable-diffusion"),
        "-n",
        "80",
        "--batch-size",
        "40",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label-prompt",
        "1=a photo of a doctor",
        "--label-prompt",
        "0=a photo of a nurse",
    ]
    code, report, output = scan(args, tmp_path, capsys)
    assert code == 0, output
    assert [samples["condition"] for samples in report["samples"]] == ["a photo of a doctor", "a photo of a nurse"]
    assert report["fairness"]["label_source"] == "'a photo of a doctor' -> 1; 'a photo of a nurse' -> 0"
    assert report["fairness"]["by_source"]["generated"]["n"] == 160


@pytest.fixture(scope="module")
def bad_references(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-references")
    data = colored_mnist(n=100, image_size=16)
    without_color = LabelledImages(data.images, {"label": data.column("label")}, "no colour")
    all_red = colored_mnist(n=100, p_color_given_label=(0.0, 0.0), image_size=16)
    return {
        "no-color": save_labelled_images(without_color, folder / "no-color.parquet"),
        "all-red": save_labelled_images(all_red, folder / "all-red.parquet"),
    }


BAD_INPUT = {
    "label map missing a class": (["--label-map", "0=0,1=1"], "no label for class 2: add it to --label-map"),
    "no label map for three classes": ([], "the scan covers classes 0, 1, 2: map them to a binary label"),
    "label map not binary": (["--label-map", "0=0,1=0,2=2"], "--label-map '0=0,1=0,2=2': expected CLASS=LABEL"),
    "reference without the sensitive column": (
        ["--label-map", "0=0,1=0,2=1", "--reference", "no-color"],
        "has no column 'color' (columns: label)",
    ),
    "reference group without records": (
        ["--label-map", "0=0,1=0,2=1", "--reference", "all-red"],
        "sensitive group(s) '1' have no records",
    ),
    "label named like the sensitive attribute": (["--label", "color"], "color is named both --sensitive and --label"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_fairness_input_is_one_line_and_exit_code_2(
    test_hub, tmp_path, capsys, colour_annotator, bad_references, case
):
    extra, message = BAD_INPUT[case]
    extra = [str(bad_references.get(word, word)) for word in extra]
    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "20",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
    ]
    code, _, output = scan([*args, *extra], tmp_path, capsys)
    assert code == 2
    assert output.startswith("hubaudit: error: ") and output.count("\n") == 1, output
    assert message in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sensitive", "color"], "--sensitive color: no --attribute color=SPEC annotates it"),
        (["--attribute", "colour=aux:ANNOTATOR", "--sensitive", "color"], "--sensitive color: no --attribute"),
        (
            ["--reference", "builtin:colored-mnist"],
            "--reference belongs to the fairness audit, which needs --sensitive",
        ),
        (
            ["--attribute", "color=aux:ANNOTATOR", "--sensitive", "color", "--max-dp-gap", "1.5"],
            "--max-dp-gap must lie in [0, 1)",
        ),
        (
            ["--attribute", "color=aux:ANNOTATOR", "--sensitive", "color", "--min-group-share", "0"],
            "--min-group-share must lie in (0, 1)",
        ),
    ],
)
def test_fairness_flags_that_do_not_fit_together_are_refused(
    test_hub, tmp_path, capsys, colour_annotator, args, message
):
    args = [word.replace("ANNOTATOR", str(colour_annotator)) for word in args]
    code, _, output = scan([test_hub.repo("ddpm-class-conditional"), "-n", "4", *args], tmp_path, capsys)
    assert code == 2 and output.count("\n") == 1 and message in output, output


def test_unconditional_model_needs_an_annotated_label(test_hub, tmp_path, capsys, colour_annotator):
    args = [test_hub.repo("ddpm"), "-n", "4", "--attribute", f"color=aux:{colour_annotator}", "--sensitive", "color"]
    code, _, output = scan(args, tmp_path, capsys)
    assert code == 2 and "annotate it with --attribute NAME=SPEC and --label NAME" in output, output


def test_sparse_table_gets_an_exact_test_and_a_saved_calibration_corrects_overall(
    test_hub, tmp_path, capsys, colour_annotator
):
    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "5",
        "--batch-size",
        "5",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label-map",
        "0=0,1=0,2=1",
    ]
    code, report, output = scan(args, tmp_path, capsys)
    assert code == 0, output
    fairness = report["fairness"]
    generated = fairness["by_source"]["generated"]
    assert generated["n"] == 15 and generated["independence_test"]["method"] != "g-test"
    corrected = fairness["corrected"]  # the saved annotator's confusion matrix: no records to split by class
    assert (
        corrected["confusion"] == "overall calibration"
        and "calibration records are not known here" in corrected["calibration"]
    )
    assert not corrected["class_dependent_error_removed"] and fairness["verdict"]["guarantee"] is None
    assert fairness["verdict"]["finding"] == any(finding["kind"] == "fairness" for finding in report["findings"])


def test_aux_data_with_the_label_column_gives_per_class_calibration(test_hub, tmp_path, capsys, reference):
    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "20",
        "--batch-size",
        "20",
        "--attribute",
        "color=aux",
        "--aux-data",
        str(reference),
        "--sensitive",
        "color",
        "--label-map",
        "0=0,1=0,2=1",
    ]
    code, report, output = scan(args, tmp_path, capsys)
    assert code == 0, output
    corrected = report["fairness"]["corrected"]
    # classes 0 and 1 share label 0: the 0/1 column pools them; class 2 alone has label 1
    assert corrected["calibration_by_label"] == {"0": "per-label calibration", "1": "per-class calibration"}, corrected
    assert [entry["condition"] for entry in corrected["calibration_by_condition"]] == [0, 1, 2]
    assert "records with label=1" in corrected["calibration_by_condition"][2]["description"]
    held_out = sum(map(sum, report["properties"]["attributes"][0]["annotator"]["confusion"]))
    per_label = [sum(map(sum, entry["confusion"])) for entry in corrected["calibration_by_condition"]]
    assert per_label[0] == per_label[1] and per_label[0] + per_label[2] == held_out
    assert set(corrected["shares_by_label"]) == {"0", "1"} and set(corrected["shares_by_label"]["1"]) == {"0", "1"}


def test_a_fairness_test_failing_after_sampling_still_writes_the_report_with_its_error(
    test_hub, tmp_path, capsys, colour_annotator, reference
):
    args = [  # one sample of class 2, the only class with label 1: too few for the probe to train on
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "1",
        "--batch-size",
        "1",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label-map",
        "0=0,1=0,2=1",
        "--reference",
        str(reference),
    ]
    code, report, output = scan(args, tmp_path, capsys)
    assert code == 2
    assert [line for line in output.splitlines() if line.startswith("hubaudit: error:")] == [
        line for line in output.splitlines() if "the probe needs at least 2 records of each label value" in line
    ]
    assert report is not None and "properties" in report and "fairness" not in report  # the finished section is kept
    assert [(entry["section"], entry["error"]) for entry in report["errors"]] == [("fairness", "TooFewSamples")]
    assert "Audits that did not finish" in (tmp_path / "report.html").read_text()
    assert main(["report", str(tmp_path / "report.json"), "--format", "junit"]) == 0
    junit = (tmp_path / "junit.xml").read_text()
    assert 'errors="1"' in junit and 'classname="hubaudit.error" name="fairness"' in junit


def test_a_malformed_model_card_is_ignored_and_an_unexpected_late_error_still_writes_the_report(
    test_hub, tmp_path, capsys, colour_annotator, monkeypatch
):
    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "4",
        "--batch-size",
        "4",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label-map",
        "0=0,1=0,2=1",
        "--store",
        str(tmp_path / "samples"),
    ]
    read = []
    monkeypatch.setattr(
        "hubaudit.audit.fairness.audit.read_card_section",
        lambda *a, **k: read.append(1) or {"training_statistics": "x"},
    )
    code, report, output = scan(args, tmp_path / "card", capsys)
    assert code == 0, output
    assert read == [1] and "declared" not in report["fairness"]["by_source"]  # read once, before sampling
    assert any("training_statistics is a str, not a mapping" in note for note in report["fairness"]["notes"])

    def broken(**kwargs):
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr("hubaudit.audit.fairness.audit.audit_fairness", broken)
    code, report, output = scan(args, tmp_path / "late", capsys)
    assert code == 2 and "properties" in report and "fairness" not in report
    assert report["errors"] == [
        {
            "section": "fairness",
            "error": "AttributeError",
            "message": "the fairness audit failed: AttributeError: 'str' object has no attribute 'get' (HUBAUDIT_DEBUG=1 shows the traceback)",
        }
    ]
    assert [line for line in output.splitlines() if line.startswith("hubaudit: error:")] == [
        f"hubaudit: error: {report['errors'][0]['message']}"
    ]


def test_gold_labels_of_the_sensitive_attribute_correct_the_fairness_signature(
    test_hub, tmp_path, capsys, colour_annotator
):
    from hubaudit.audit.properties.gold import GoldLabels
    from hubaudit.sampling import open_sample_store

    args = [
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "20",
        "--batch-size",
        "20",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label-map",
        "0=0,1=0,2=1",
        "--store",
        str(tmp_path / "samples"),
    ]
    code, first, output = scan(args, tmp_path / "first", capsys)
    assert code == 0, output
    gold_files = []
    for position, samples in enumerate(first["samples"][:2]):  # classes 0 and 1 get gold labels, class 2 none
        gold = GoldLabels.open(open_sample_store(samples["store_path"]), "color", ("0", "1"), n=10, pool=20)
        gold.record_many({int(index): str((int(index) + position) % 2) for index in gold.plan}, labeller="test")
        gold_files += ["--gold", str(gold.path)]
    code, report, output = scan([*args, *gold_files], tmp_path / "gold", capsys)
    assert code == 0, output
    by_condition = report["fairness"]["corrected"]["calibration_by_condition"]
    assert [entry["source"].startswith("gold labels") for entry in by_condition] == [True, True, False]
    assert by_condition[0]["description"].startswith("10 gold labels of its 20 samples")
    assert by_condition[2]["source"] == "overall calibration"  # the saved annotator keeps no records
