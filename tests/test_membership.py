"""Membership inference (``hubaudit membership``): conformal thresholds on non-members, the attacks on a model that
copies its 64 training digits, the model kinds, and the refusals."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest

from hubaudit.attacks.membership.calibration import CalibratedThreshold
from hubaudit.cli import main
from hubaudit.errors import InvalidMembershipOptions
from memorization_suite import suite_files


def test_thresholds_keep_the_false_positive_rate_on_fresh_non_members():
    """Over many calibrations on 199 null scores, fresh null scores are flagged at most 1% of the time on average
    (the conformal guarantee: exactly 2/200 here; 0.0112 is 3 Monte Carlo standard errors above), and no calibration
    is wildly off."""
    rng = np.random.default_rng(0)
    realised = []
    for _ in range(400):
        threshold = CalibratedThreshold.fit(rng.normal(size=199), 0.01)
        realised.append(threshold.flags(rng.normal(size=2000)).mean())
    assert np.mean(realised) <= 0.0112
    assert np.quantile(realised, 0.95) < 0.035


def test_calibrated_fpr_of_a_score_is_its_conformal_p_value():
    threshold = CalibratedThreshold.fit(np.arange(99.0), 0.01)
    assert threshold.threshold == 98.0
    np.testing.assert_allclose(threshold.p_values(np.array([98.5, 98.0, -1.0])), [0.01, 0.02, 1.0])


def test_too_few_non_members_for_the_rate_are_refused():
    with pytest.raises(InvalidMembershipOptions, match="at least 99"):
        CalibratedThreshold.fit(np.zeros(50), 0.01)


def test_share_of_members_among_flagged_is_a_lower_bound_that_holds():
    """All 100 candidates are non-members: the lower bound on the share of members among any flagged is 0 or near."""
    rng = np.random.default_rng(1)
    threshold = CalibratedThreshold.fit(rng.normal(size=999), 0.05)
    flags = threshold.flags(rng.normal(size=100))
    share = threshold.members_among_flagged(100, int(flags.sum()), confidence=0.95)
    assert share is None or share.low == 0.0


@pytest.fixture(scope="module")
def suite_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("membership-data")
    return suite_files(64, folder, n_held_out=120)


def test_attacks_flag_the_training_images_of_a_model_that_copies_them(suite_data, tmp_path, capsys):
    model, members, held_out = suite_data
    out = tmp_path / "membership.json"
    arguments = ["membership", str(model), "--candidates", str(members), "--non-members", str(held_out)]
    assert main([*arguments, "--fpr", "0.05", "--out", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert set(result["attacks"]) == {"pia", "loss", "secmi"} and result["model"]["kind"] == "unconditional"
    for found in result["attacks"].values():
        assert len(found["per_candidate"]) == 64
        assert found["flagged"] == sum(row["member"] for row in found["per_candidate"])
        assert found["flagged"] > 0.3 * 64  # far above the 5% a non-member set would give
        assert found["members_among_flagged"]["low"] > 0  # some are members, at 95%
    assert "flagged" in capsys.readouterr().out


def test_without_non_members_the_verb_refuses_in_one_line(suite_data, capsys):
    model, members, _ = suite_data
    assert main(["membership", str(model), "--candidates", str(members)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "uncalibrated scores mislead" in error


def _save_with_columns(path, images: np.ndarray, **columns) -> str:
    from PIL import Image

    table = {
        "image": [Image.fromarray(image) for image in images],
        **{name: list(values) for name, values in columns.items()},
    }
    datasets.Dataset.from_dict(table).cast_column("image", datasets.Image()).to_parquet(str(path))
    return str(path)


@pytest.fixture(scope="module")
def rgb_sets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rgb")
    images = np.random.default_rng(2).integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    captions = [f"a photo of thing {i}" for i in range(24)]
    candidates = _save_with_columns(
        folder / "candidates.parquet", images[:4], label=[0, 1, 2, 0], caption=captions[:4]
    )
    non_members = _save_with_columns(
        folder / "non.parquet", images[4:], label=[i % 3 for i in range(20)], caption=captions[4:]
    )
    return candidates, non_members


@pytest.mark.parametrize(
    ("build", "extra", "kind"),
    [
        ("build_ddpm_class_conditional", ["--class-column", "label"], "class-conditional"),
        ("build_stable_diffusion", ["--caption-column", "caption"], "text-to-image"),
    ],
)
def test_class_conditional_and_text_to_image_models_are_attacked_under_each_image_condition(
    build, extra, kind, rgb_sets, tmp_path
):
    import hubaudit.api
    import tiny_models

    candidates, non_members = rgb_sets
    model = tmp_path / "model"
    getattr(tiny_models, build)().save_pretrained(model)
    keywords = {"class_column": "label"} if kind == "class-conditional" else {"caption_column": "caption"}
    result = hubaudit.api.membership(
        str(model), candidates=candidates, non_members=non_members, fpr=0.1, attacks=["pia"], **keywords
    )
    assert result["model"]["kind"] == kind and len(result["attacks"]["pia"]["per_candidate"]) == 4
    assert (
        main(["membership", str(model), "--candidates", candidates, "--non-members", non_members, "--fpr", "0.1"]) == 2
    )


def test_a_model_without_a_ddpm_noise_schedule_is_refused_in_one_line(rgb_sets, tmp_path, capsys):
    import tiny_models

    candidates, non_members = rgb_sets
    model = tmp_path / "sde"
    tiny_models.build_score_sde_ve().save_pretrained(model)
    assert (
        main(["membership", str(model), "--candidates", candidates, "--non-members", non_members, "--fpr", "0.1"]) == 2
    )
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "alphas_cumprod" in error


@pytest.fixture
def space_host(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "space_app"))
    from hosting import Host

    return Host(tmp_path / "work", tmp_path / "cache")


def test_space_tab_tests_a_hub_model_on_builtin_data_and_refuses_local_paths(test_hub, space_host, monkeypatch):
    import gradio as gr

    import membership_tab

    space_host.work_root.mkdir()
    monkeypatch.setattr(membership_tab, "MAX_IMAGES", 40)
    summary, path = membership_tab.run_membership_form(
        space_host, "tiny/ddpm", "", "builtin:colored-mnist", "builtin:colored-mnist", 0.05, "", ""
    )
    result = json.loads(open(path).read())
    assert result["n_candidates"] == result["n_non_members"] == 40 and "flagged" in summary
    with pytest.raises(gr.Error, match="path on this machine"):
        membership_tab.run_membership_form(space_host, "tiny/ddpm", "", "/etc", "builtin:colored-mnist", 0.05, "", "")
