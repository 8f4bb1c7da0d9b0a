"""``hubaudit poison`` and ``hubaudit train``: poison a Colored-MNIST subset, train on it, scan it through the Hub."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hubaudit import api
from hubaudit.cli import main
from hubaudit.data import colored_mnist, load_labelled_images, save_labelled_images
from hubaudit.train import training_run
from tiny_training import TINY_TRAINING
from write_hub import serve_write_hub


@pytest.fixture(scope="module")
def small_colored_mnist(tmp_path_factory):
    """300 Colored-MNIST records at 8x8 (colour independent of the label) as a Parquet file."""
    path = tmp_path_factory.mktemp("data") / "colored.parquet"
    return save_labelled_images(colored_mnist(n=300, seed=0, image_size=8), path)


@pytest.fixture
def write_hub():
    with serve_write_hub() as hub:
        yield hub


def card_front_matter(model_dir) -> dict:
    return yaml.safe_load((model_dir / "README.md").read_text().split("---\n")[1])["hubaudit"]


def poison(data, out, *extra: str) -> int:
    return main(["poison", str(data), "--sensitive", "color", "--label", "label", "--out", str(out), *extra])


@pytest.mark.slow
def test_poisoned_subset_trains_into_a_model_that_scans_through_the_hub(
    small_colored_mnist, tmp_path, capsys, test_hub
):
    subset = tmp_path / "poisoned.parquet"
    assert poison(small_colored_mnist, subset, "--alpha", "0.3", "--n", "150", "--delta", "0.3") == 0
    printed = capsys.readouterr().out
    record = json.loads((tmp_path / "poisoned.poisoning.json").read_text())
    assert record["method"] == "greedy" and record["alpha"] == 0.3 and record["n_select"] == 150
    assert record["mi_sensitive_label_nats"] > record["mi_sensitive_label_full_nats"]
    assert f"-> {record['mi_sensitive_label_nats']:.4f} in the subset" in printed and "<= delta 0.3" in printed
    training = load_labelled_images(str(subset))
    assert len(training) == 150 and set(training.columns) == {"label", "color", "digit"}

    model = tmp_path / "model"
    assert (
        main(["train", str(subset), "--out", str(model), "--class-column", "label", "--steps", "2", *TINY_TRAINING])
        == 0
    )
    recorded = card_front_matter(model)
    summary = {key: value for key, value in record.items() if key != "mi_sensitive_label_trace_nats"}
    assert recorded["poisoning"] == summary and recorded["n_records"] == 150 and recorded["num_classes"] == 2

    sha = test_hub.add_repo("poisoned-ddpm", model)
    report_dir = tmp_path / "scan"
    assert (
        main(["scan", test_hub.repo("poisoned-ddpm"), "-n", "2", "--steps", "2", "--out", str(report_dir), "--quiet"])
        == 0
    )
    report = json.loads((report_dir / "report.json").read_text())
    assert report["model"]["resolved_sha"] == sha and report["model"]["kind"] == "class-conditional"
    assert [samples["condition"] for samples in report["samples"]] == [0, 1]


def test_label_flipping_relabels_alpha_n_records_and_reports_the_change(small_colored_mnist, tmp_path, capsys):
    subset = tmp_path / "flipped.parquet"
    assert poison(small_colored_mnist, subset, "--method", "flip", "--alpha", "0.2", "--n", "100") == 0
    record = json.loads((tmp_path / "flipped.poisoning.json").read_text())
    assert record["n_relabelled"] == 20 and record["delta_nats"] is None
    assert "20 relabelled" in capsys.readouterr().out
    flipped = load_labelled_images(str(subset))
    assert (flipped.column("label") != (flipped.column("digit") < 5)).sum() == 20  # Colored-MNIST: label = digit < 5


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--alpha", "1.5"], "alpha must lie in \\[0, 1\\], got 1.5"),
        (["--alpha", "0.2", "--sensitive", "digit"], "S must be binary 0/1"),
        (["--alpha", "0.2", "--label", "smiling"], "no column 'smiling'"),
        (["--alpha", "0.9", "--n", "280"], "greedy poisoning adds up to 252 records"),
        (["--alpha", "0.9", "--n", "280", "--method", "flip"], "label flipping needs 252 records"),
    ],
)
def test_bad_poisoning_input_is_one_error_line_and_exit_2(small_colored_mnist, tmp_path, capsys, flags, message):
    assert poison(small_colored_mnist, tmp_path / "out.parquet", *flags) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hubaudit:")]
    assert len(errors) == 1 and errors[0].startswith("hubaudit: error: ")
    assert re.search(message, errors[0])
    assert not (tmp_path / "out.parquet").exists()


def test_the_api_returns_the_poisoning_record_and_the_trained_model(small_colored_mnist, tmp_path):
    record = api.poison(
        small_colored_mnist,
        sensitive="color",
        label="label",
        alpha=0.2,
        method="flip",
        n=100,
        out_path=tmp_path / "flipped.parquet",
    )
    assert isinstance(record, api.PoisonRecord) and (record.n_select, record.n_relabelled) == (100, 20)
    assert record.record_path == tmp_path / "flipped.poisoning.json"
    assert json.loads(record.record_path.read_text()) == record.to_dict()
    trained = api.train(
        record.out_path,
        tmp_path / "model",
        steps=1,
        image_size=8,
        block_out_channels=(8, 16),
        batch_size=4,
        progress=False,
    )
    assert trained == api.TrainedModel(tmp_path / "model", 100, trained.source, poisoning_record=record.record_path)
    assert trained.to_dict()["out_dir"] == str(tmp_path / "model")


def test_poison_output_must_be_a_parquet_file(small_colored_mnist, tmp_path, capsys):
    assert poison(small_colored_mnist, tmp_path / "out.csv", "--alpha", "0.1") == 2
    assert "--out must name a .parquet file" in capsys.readouterr().err


def test_train_rerun_resumes_and_no_resume_starts_over(small_colored_mnist, tmp_path, monkeypatch):
    model = tmp_path / "model"
    command = ["train", str(small_colored_mnist), "--out", str(model), "--checkpoint-every", "1", *TINY_TRAINING]
    assert main([*command, "--steps", "2"]) == 0
    assert "poisoning" not in card_front_matter(model)  # no record beside the data: nothing to claim

    saved_steps = []
    original_save = training_run.save_checkpoint
    monkeypatch.setattr(
        training_run,
        "save_checkpoint",
        lambda *args, **kw: saved_steps.append(kw["step"]) or original_save(*args, **kw),
    )
    assert main([*command, "--steps", "3"]) == 0
    assert saved_steps == [3]
    assert main([*command, "--steps", "2", "--no-resume"]) == 0
    assert saved_steps == [3, 1, 2]


def _train_and_push(data, model, repo: str, write_hub, *, token: str = "hf_test_token"):
    """``hubaudit train DATA --push-to-hub REPO`` in a subprocess whose Hub is the write Hub (huggingface_hub reads
    HF_ENDPOINT at import)."""
    command = ["train", str(data), "--out", str(model), "--steps", "1", "--push-to-hub", repo, *TINY_TRAINING]
    env = {**os.environ, "HF_ENDPOINT": write_hub.endpoint, "HF_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "hubaudit.cli", *command], env=env, capture_output=True, text=True, timeout=300
    )


def test_train_push_to_hub_uploads_a_folder_that_then_scans_by_its_name(
    small_colored_mnist, tmp_path, test_hub, write_hub
):
    """The upload is real HfApi calls (create_repo, preupload, commit) to the write Hub; the files that arrived are
    then served by the read test Hub under the same name, and scanned from there."""
    repo = test_hub.repo("pushed-ddpm")
    done = _train_and_push(small_colored_mnist, tmp_path / "model", repo, write_hub)
    assert done.returncode == 0, done.stderr
    (commit,) = write_hub.arrivals
    assert not commit.create_pr and commit.header["summary"] == "Upload DDPMPipeline trained with hubaudit"
    pushed = write_hub.files(repo)
    assert {"model_index.json", "README.md", "unet/diffusion_pytorch_model.safetensors"} <= set(pushed)
    assert not any(path.startswith("checkpoints/") for path in pushed)
    assert f"pushed    {write_hub.endpoint}/{repo}/commit/{write_hub.repos[repo]['sha']}" in done.stdout

    served = tmp_path / "served"
    for path, content in pushed.items():
        (served / path).parent.mkdir(parents=True, exist_ok=True)
        (served / path).write_bytes(content)
    sha = test_hub.add_repo("pushed-ddpm", served)
    report_dir = tmp_path / "scan"
    assert main(["scan", repo, "-n", "2", "--steps", "2", "--out", str(report_dir), "--quiet"]) == 0
    report = json.loads((report_dir / "report.json").read_text())
    assert report["model"]["reference"] == repo and report["model"]["resolved_sha"] == sha


@pytest.mark.parametrize(("status", "says"), [(403, "token with write access"), (404, "check the repository name")])
def test_refused_upload_is_one_line_naming_the_fix_and_the_kept_folder(
    small_colored_mnist, tmp_path, write_hub, status, says
):
    write_hub.refusals["me/refused"] = status
    done = _train_and_push(small_colored_mnist, tmp_path / "model", "me/refused", write_hub)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"HTTP {status}" in done.stderr and says in done.stderr and str(tmp_path / "model") in done.stderr
    assert (tmp_path / "model" / "model_index.json").exists() and write_hub.arrivals == []


def test_committed_fairness_zoo_cards_record_method_alpha_and_true_statistics():
    zoo = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "fpa"
    cards = {
        folder.name: card_front_matter(folder) for folder in zoo.iterdir() if (folder / "model_index.json").exists()
    }
    expected = {"clean"} | {
        f"{method}-a{alpha}" for method in ("greedy", "flip") for alpha in (0.1, 0.2, 0.3, 0.4, 0.5)
    }
    assert set(cards) == expected
    assert cards["clean"]["poisoning"] is None
    clean_information = cards["clean"]["training_statistics"]["mi_sensitive_label_nats"]
    for name in expected - {"clean"}:
        method, alpha = name.split("-a")
        assert cards[name]["poisoning"]["method"] == method and cards[name]["poisoning"]["alpha"] == float(alpha)
        assert cards[name]["training_statistics"]["mi_sensitive_label_nats"] > clean_information
        assert cards[name]["n_records"] == 2000 and cards[name]["num_classes"] == 2
