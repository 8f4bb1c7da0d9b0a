"""Planning before the scan: the samples per condition a verdict needs, found by simulating whole verdicts, reach
their power in an independent simulation; the CLI, the API and the Space show the same plan; bad input is one line.
Trial counts are small here (the defaults, 400 per candidate n, are for real plans)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hubaudit import api
from hubaudit.audit.plan import FairnessPlan, PrivacyPlan, plan_fairness, plan_privacy, simulated_power
from hubaudit.audit.plan.inputs import parse_effect
from hubaudit.audit.plan.scenarios import Correction, PrivacyScenario, draw_trial
from hubaudit.audit.properties.self_audit import self_audit
from hubaudit.cli import main
from hubaudit.errors import InvalidPlan

ACCURATE = (0.02, 0.02)


def test_planned_fairness_n_reaches_its_power_in_an_independent_simulation():
    plan = plan_fairness(effect=(0.1, 0.7), max_dp_gap=0.2, annotator_error=ACCURATE, trials=60, power=0.8)
    finding = plan.finding
    assert finding.outcome == "finding" and 8 <= finding.n_per_condition <= 200 and finding.power >= 0.8
    assert abs(simulated_power(finding, trials=100, seed=5) - 0.8) <= 0.12
    smaller = finding.n_per_condition // 2
    assert simulated_power(finding, smaller, trials=60, seed=6) < 0.8  # the planned n is not needlessly large


def test_planned_privacy_n_reaches_its_power_in_an_independent_simulation():
    plan = plan_privacy(training_share=0.3, max_property_error=0.1, annotator_error=ACCURATE, trials=150, power=0.9)
    for planned in (plan.finding, plan.no_finding):
        assert planned.n_per_condition is not None and planned.power >= 0.9
        assert abs(simulated_power(planned, trials=250, seed=3) - 0.9) <= 0.07
    assert plan.no_finding.scenario.generated_shares[1] == pytest.approx(0.5)  # off by twice the margin, towards 1/2


def test_no_finding_needs_more_samples_for_a_tighter_margin():
    wide, tight = (
        plan_fairness(effect=(0.1, 0.7), max_dp_gap=margin, annotator_error=ACCURATE, trials=40, power=0.8)
        for margin in (0.3, 0.15)
    )
    assert tight.no_finding.n_per_condition > 1.5 * wide.no_finding.n_per_condition
    assert "when fair (P(S=1|Y) = 0.40 under both labels, gap 0)" in tight.no_finding.line()


def test_privacy_plan_judges_each_scan_as_the_self_audit_does():
    outcomes = set()
    for generated in (0.3, 0.32, 0.45):
        scenario = PrivacyScenario(
            ("0", "1"),
            (0.7, 0.3),
            (1 - generated, generated),
            1,
            0.05,
            0.95,
            Correction(((0.95, 0.05), (0.1, 0.9)), 3000),
        )
        for index, n in enumerate((300, 20_000)):
            trial = draw_trial(np.random.default_rng(index), scenario.condition_shares, scenario.correction)
            entry, training = scenario.audited(trial, n)
            outcome = scenario.outcome(trial, n)
            assert outcome == self_audit(entry, training, 0.05, confidence=0.95)["outcome"]
            outcomes.add(outcome)
    assert outcomes == {"finding", "no finding", "inconclusive"}


def test_a_calibration_that_limits_the_interval_says_what_would_reach_the_power():
    plan = plan_privacy(training_share=0.3, gold_per_condition=20, trials=30)
    assert plan.finding.n_per_condition is None
    assert "no n up to 100,000 samples per condition reaches power 0.9" in plan.finding.note
    assert "the gold labels limit the interval" in plan.finding.note and "--gold " in plan.finding.note


def test_an_effect_within_the_margin_is_never_a_finding_and_is_not_simulated():
    plan = plan_fairness(gap=0.05, max_dp_gap=0.1, trials=20, annotator_error=ACCURATE)
    assert plan.finding.n_per_condition is None and plan.finding.simulated == 0
    assert plan.finding.note.startswith("not expected at any n: the effect's gap 0.050 is within --max-dp-gap 0.1")


def test_cli_plan_prints_the_inputs_both_outcomes_and_writes_json(capsys, tmp_path):
    path = tmp_path / "plan.json"
    code = main(
        [
            "plan",
            "privacy",
            "--effect",
            "0.3,0.3",
            "--max-property-error",
            "0.1",
            "--annotator-error",
            "0.02,0.02",
            "--trials",
            "40",
            "--json",
            str(path),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].startswith("plan      privacy self-audit of '1' over 1 condition; confidence 0.95, power 0.9")
    assert any(
        line.startswith("finding when the model is faithful") and "samples per condition (power 0." in line
        for line in lines
    )
    assert any(line.startswith("no finding when the model is off by twice the margin") for line in lines)
    assert any(line.startswith("assumed ") for line in lines)
    saved = json.loads(path.read_text())
    assert (
        saved["kind"] == "privacy" and saved["finding"]["trials"] == 40 and saved["no_finding"]["n_per_condition"] > 0
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "--effect", "0.3,abc"], "--effect takes comma-separated numbers, e.g. 0.3,0.5, got '0.3,abc'"),
        (["plan", "--effect", "0.3,0.5,0.2"], "--effect takes P(S=1|Y=0),P(S=1|Y=1)"),
        (["plan", "--effect", "0.3,1.5"], "--effect must lie in [0, 1], got 1.5"),
        (["plan", "privacy", "--max-dp-gap", "0.1"], "--max-dp-gap belongs to the fairness plan"),
        (["plan", "--calibration-per-class", "100", "--gold", "50"], "not both"),
        (["plan", "--annotator-error", "0.6,0.1"], "--annotator-error must lie in [0, 0.5)"),
    ],
)
def test_bad_plan_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hubaudit: error: ") and message in err


def test_api_plan_returns_the_dataclass_with_its_dict():
    found = api.plan("privacy", effect="0.3", max_property_error=0.1, annotator_error="0.02,0.02", trials=30)
    assert (
        isinstance(found, PrivacyPlan)
        and found.finding.outcome == "finding"
        and found.no_finding.outcome == "no finding"
    )
    assert json.loads(json.dumps(found.to_dict()))["inputs"]["margins"].startswith("--max-property-error 0.1")
    assert isinstance(
        api.plan("fairness", gap=0.05, max_dp_gap=0.1, trials=20, annotator_error=(0.02, 0.02)), FairnessPlan
    )


def test_effects_of_more_groups_are_read_as_two_lists():
    assert parse_effect("0.5,0.3,0.2/0.3,0.3,0.4") == ((0.5, 0.3, 0.2), (0.3, 0.3, 0.4))
    with pytest.raises(InvalidPlan, match="two lists of 3 shares each summing to 1"):
        plan_fairness(effect=((0.5, 0.3, 0.3), (0.3, 0.3, 0.4)), groups=("a", "b", "c"), trials=20)
