"""NCSNv2 as a hubaudit family: the network, annealed Langevin sampling, save/load, trust, scan, import, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

import tiny_models
from hubaudit.cli import main
from hubaudit.data import save_labelled_images
from hubaudit.errors import RemoteCodeRefused, UnknownPipelineClass
from hubaudit.families.ncsnv2 import NCSNv2Model
from hubaudit.families.ncsnv2_pipeline import NCSNv2Pipeline, langevin_step_lr
from hubaudit.hub import resolve_reference
from hubaudit.hub.loading import pipeline_class_of
from hubaudit.sampling import SamplerConfig, build_sampler, open_sample_store
from hubaudit.train import train_ncsnv2, training_run
from hubaudit.train.checkpoints import EMA_FILE, MODEL_FILE, latest_checkpoint

CPU = torch.device("cpu")
ANNOTATOR = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models" / "mnist-zero-annotator"
"""16x16 grey is-zero annotator: gives a scan of a grey 16x16 NCSNv2 its estimates."""
TINY_TRAINING = {"image_size": 16, "batch_size": 4, "ngf": 4, "noise_levels": 4, "progress": False}
REFERENCE_CONFIG = {
    "data": {"dataset": "CIFAR10", "image_size": 16, "channels": 1, "logit_transform": False, "rescaled": False},
    "model": {
        "sigma_begin": 5.0,
        "sigma_end": 0.01,
        "num_classes": 6,
        "sigma_dist": "geometric",
        "ema": True,
        "normalization": "InstanceNorm++",
        "nonlinearity": "elu",
        "ngf": 4,
    },
    "sampling": {"n_steps_each": 2, "step_lr": 6.2e-6, "denoise": True},
}
"""An ermongroup/ncsnv2 config (the fields of configs/cifar10.yml the importer reads), for a tiny grey network."""


@pytest.fixture(scope="module")
def grey_pipeline() -> NCSNv2Pipeline:
    torch.manual_seed(0)
    return tiny_models.build_ncsnv2(channels=1)


@pytest.fixture(scope="module")
def grey_folder(grey_pipeline, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ncsnv2") / "model"
    grey_pipeline.save_pretrained(folder, safe_serialization=True)
    return folder


def _scan(model: Path, out: Path, *extra: str, n: int = 3, batch_size: int = 3) -> dict:
    assert (
        main(["scan", str(model), "-n", str(n), "--batch-size", str(batch_size), "--quiet", "--out", str(out), *extra])
        == 0
    )
    return json.loads((out / "report.json").read_text())


def _images(report: dict) -> np.ndarray:
    (samples,) = report["samples"]
    return open_sample_store(samples["store_path"]).load(report["n_per_condition"])


# --- the network --------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (28, 1), (32, 3)])
def test_score_has_the_image_shape_and_is_the_output_divided_by_sigma(size, channels):
    network = NCSNv2Model(sample_size=size, in_channels=channels, ngf=4)
    sample = torch.rand(2, channels, size, size)
    with torch.no_grad():
        at_one, at_two = network(sample, torch.ones(2)), network(sample, 2.0)
    assert at_one.shape == sample.shape
    torch.testing.assert_close(at_two, at_one / 2)


def test_parameter_names_are_those_of_the_reference_network():
    names = set(NCSNv2Model(sample_size=16, in_channels=1, ngf=4).state_dict())
    assert len(names) == 153  # ermongroup/ncsnv2's NCSNv2 at this size has these 153 plus its 'sigmas' buffer
    assert {
        "begin_conv.weight",
        "res2.0.shortcut.conv.weight",
        "res3.0.shortcut.weight",
        "res4.1.normalize2.alpha",
        "refine1.crp.convs.1.weight",
        "refine2.msf.convs.1.bias",
        "refine4.output_convs.3_2_conv.weight",
        "normalizer.beta",
        "end_conv.bias",
    } <= names
    assert not any(name.startswith("refine1.msf") for name in names)  # the first RefineBlock fuses nothing


# --- sampling -------------------------------------------------------------------------------


def test_sample_i_is_the_same_image_in_any_batch_and_steps_default_to_the_trained_levels(grey_pipeline):
    sampler = build_sampler(grey_pipeline, SamplerConfig(seed=1), CPU)
    assert sampler.kind == "unconditional" and sampler.num_inference_steps == 4  # num_train_timesteps
    whole = sampler.generate(np.arange(3))
    alone = sampler.generate(np.array([1]))
    assert whole.shape == (3, 16, 16, 1) and whole.dtype == np.uint8
    assert np.abs(whole[1:2].astype(int) - alone).max() <= 1
    assert np.abs(whole[0].astype(int) - whole[2]).mean() > 5
    note = build_sampler(grey_pipeline, SamplerConfig(num_inference_steps=2), CPU).describe()["scheduler_note"]
    assert (
        note.startswith("annealed Langevin dynamics: 2 noise levels (of 4 trained") and "5 network evaluations" in note
    )


def test_saved_folder_is_safetensors_and_json_and_loads_the_same_pipeline(grey_pipeline, grey_folder):
    model_index = json.loads((grey_folder / "model_index.json").read_text())
    assert model_index["_class_name"] == "NCSNv2Pipeline"
    assert (model_index["unet"], model_index["scheduler"]) == (
        ["hubaudit", "NCSNv2Model"],
        ["hubaudit", "AnnealedLangevinScheduler"],
    )
    assert {path.suffix for path in grey_folder.rglob("*") if path.is_file()} == {".json", ".safetensors"}
    loaded = NCSNv2Pipeline.from_pretrained(grey_folder)
    public = lambda config: {key: value for key, value in config.items() if not key.startswith("_")}
    assert public(loaded.scheduler.config) == public(grey_pipeline.scheduler.config)
    for saved, original in zip(
        loaded.unet.state_dict().values(), grey_pipeline.unet.state_dict().values(), strict=True
    ):
        assert torch.equal(saved, original)
    loaded.set_progress_bar_config(disable=True)
    images = loaded(batch_size=1, generator=[torch.Generator().manual_seed(3)], output_type="np").images
    assert images.shape == (1, 16, 16, 1) and 0 <= images.min() and images.max() <= 1


# --- trust --------------------------------------------------------------------------------------


def _with_component(folder: Path, tmp_path: Path, spec: list[str]) -> Path:
    """A copy of ``folder`` whose ``model_index.json`` names ``spec`` as its ``unet``."""
    copy = tmp_path / "edited"
    for path in folder.rglob("*"):
        if path.is_file():
            (copy / path.relative_to(folder)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(folder)).write_bytes(path.read_bytes())
    model_index = json.loads((copy / "model_index.json").read_text())
    (copy / "model_index.json").write_text(json.dumps({**model_index, "unet": spec}))
    return copy


def test_hubaudit_classes_need_no_remote_code(grey_folder):
    resolved = resolve_reference(str(grey_folder))
    assert resolved.custom_code is None
    assert pipeline_class_of(resolved) is NCSNv2Pipeline


@pytest.mark.parametrize(
    "spec", [["hubaudit", "Nope"], ["mylibrary", "NCSNv2Model"]], ids=["unknown-hubaudit-class", "other-library"]
)
def test_other_classes_are_refused_without_trust_remote_code(grey_folder, tmp_path, spec, capsys):
    edited = _with_component(grey_folder, tmp_path, spec)
    with pytest.raises(RemoteCodeRefused, match="--trust-remote-code"):
        resolve_reference(str(edited))
    assert main(["scan", str(edited), "-n", "1", "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert "needs remote code" in capsys.readouterr().err


def test_an_unknown_hubaudit_class_is_unknown_even_with_trust_remote_code(grey_folder, tmp_path):
    resolved = resolve_reference(
        str(_with_component(grey_folder, tmp_path, ["hubaudit", "Nope"])), trust_remote_code=True
    )
    with pytest.raises(UnknownPipelineClass, match="Nope"):
        pipeline_class_of(resolved)


# --- scan -----------------------------------------------------------------------------------


def test_scan_estimates_describes_the_sampler_and_is_batch_invariant_and_resumable(grey_folder, tmp_path):
    report = _scan(grey_folder, tmp_path / "batched", "--attribute", f"is_zero=aux:{ANNOTATOR}")
    assert (report["model"]["pipeline_class"], report["model"]["kind"]) == ("NCSNv2Pipeline", "unconditional")
    assert report["sampler"]["num_inference_steps"] == 4
    assert "annealed Langevin dynamics" in report["sampler"]["scheduler_note"]
    assert [entry["name"] for entry in report["properties"]["attributes"]] == ["is_zero"]
    one_at_a_time = _scan(grey_folder, tmp_path / "alone", batch_size=1)
    assert np.abs(_images(report).astype(int) - _images(one_at_a_time)).max() <= 1
    resumed = _scan(grey_folder, tmp_path / "batched", n=4)
    assert (resumed["samples"][0]["generated"], resumed["samples"][0]["reused"]) == (1, 3)
    assert np.array_equal(_images(resumed)[:3], _images(report))


# --- import from the reference layout ----------------------------------------------------------


def _reference_checkpoint(folder: Path, network: NCSNv2Model, ema_scale: float = 0.5) -> Path:
    """``folder/checkpoint.pth`` as ermongroup/ncsnv2's runner saves it: ``[score.state_dict(), optimizer.state_dict(),
    epoch, step, ema_helper.state_dict()]``, the network's keys ``module.``-prefixed with its ``sigmas`` buffer, the EMA's
    the bare parameter names (here the weights times ``ema_scale``)."""
    model = REFERENCE_CONFIG["model"]
    sigmas = torch.tensor(
        np.exp(np.linspace(np.log(model["sigma_begin"]), np.log(model["sigma_end"]), model["num_classes"]))
    ).float()
    state = {f"module.{key}": value for key, value in network.state_dict().items()} | {"module.sigmas": sigmas}
    optimizer = torch.optim.Adam(network.parameters())
    network(torch.rand(1, 1, 16, 16), 1.0).sum().backward()
    optimizer.step()
    shadow = {name: parameter.detach() * ema_scale for name, parameter in network.named_parameters()}
    (folder / "config.yml").write_text(yaml.safe_dump(REFERENCE_CONFIG))
    torch.save([state, optimizer.state_dict(), 3, 120, shadow], folder / "checkpoint.pth")
    return folder / "checkpoint.pth"


def test_imported_reference_checkpoint_scans_and_computes_what_the_source_network_does(tmp_path):
    torch.manual_seed(0)
    source = NCSNv2Model(sample_size=16, in_channels=1, ngf=4)
    checkpoint = _reference_checkpoint(tmp_path, source)
    assert (
        main(
            [
                "import-ncsnv2",
                str(checkpoint),
                "--config",
                str(tmp_path / "config.yml"),
                "--out",
                str(tmp_path / "ema"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "import-ncsnv2",
                str(checkpoint),
                "--config",
                str(tmp_path / "config.yml"),
                "--out",
                str(tmp_path / "raw"),
                "--raw-weights",
            ]
        )
        == 0
    )
    imported = NCSNv2Pipeline.from_pretrained(tmp_path / "ema")
    assert imported.scheduler.config.num_train_timesteps == 6 and imported.scheduler.config.n_steps_each == 2
    sample, sigma = torch.rand(2, 1, 16, 16), torch.tensor([5.0, 0.01])
    with torch.no_grad():
        raw_output = source(sample, sigma)
        torch.testing.assert_close(
            NCSNv2Pipeline.from_pretrained(tmp_path / "raw").unet(sample, sigma), raw_output, rtol=0, atol=0
        )
        for parameter in source.parameters():
            parameter.mul_(0.5)  # the EMA weights the checkpoint holds
        torch.testing.assert_close(imported.unet(sample, sigma), source(sample, sigma), rtol=0, atol=0)
    report = _scan(tmp_path / "ema", tmp_path / "scan", "--steps", "2", n=2)
    assert report["model"]["pipeline_class"] == "NCSNv2Pipeline" and _images(report).shape == (2, 16, 16, 1)


class _NotAWeight:
    """An object a weights-only load refuses to build."""


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """Failure -> (checkpoint, config) that shows it."""
    torch.manual_seed(0)
    good = _reference_checkpoint(tmp_path, NCSNv2Model(sample_size=16, in_channels=1, ngf=4))
    config = tmp_path / "config.yml"
    states = torch.load(good, weights_only=True)
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    torch.save([states[0], _NotAWeight()], tmp_path / "pickled.pth")
    torch.save(states[0], tmp_path / "state_dict.pth")
    torch.save([{**states[0], "module.extra.weight": torch.zeros(1)}], tmp_path / "extra_key.pth")
    wider = tmp_path / "wider.yml"
    wider.write_text(yaml.safe_dump({**REFERENCE_CONFIG, "model": {**REFERENCE_CONFIG["model"], "ngf": 8}}))
    batch_norm = tmp_path / "batch_norm.yml"
    batch_norm.write_text(
        yaml.safe_dump({**REFERENCE_CONFIG, "model": {**REFERENCE_CONFIG["model"], "normalization": "BatchNorm"}})
    )
    return {
        "cannot read": (tmp_path / "missing.pth", config),
        "is not an ermongroup/ncsnv2 checkpoint: torch.load cannot read it": (tmp_path / "garbage.pth", config),
        "holds objects a weights-only load refuses": (tmp_path / "pickled.pth", config),
        "is not an ermongroup/ncsnv2 checkpoint: a dict": (tmp_path / "state_dict.pth", config),
        "keys do not map: 1 unexpected (first 'extra.weight')": (tmp_path / "extra_key.pth", config),
        "'begin_conv.weight' is (4, 1, 3, 3), the config makes (8, 1, 3, 3)": (good, wider),
        "model.normalization is 'BatchNorm'": (good, batch_norm),
    }


def test_bad_checkpoints_and_configs_are_one_line_errors(tmp_path, capsys):
    for message, (checkpoint, config) in _bad_inputs(tmp_path).items():
        code = main(["import-ncsnv2", str(checkpoint), "--config", str(config), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, (message, err)
    assert not (tmp_path / "out" / "model_index.json").exists()


# --- training ----------------------------------------------------------------------------------


def test_training_ships_the_ema_weights_and_a_rerun_resumes_as_an_uninterrupted_run(grey_data, tmp_path, monkeypatch):
    resumed = train_ncsnv2(grey_data, tmp_path / "resumed", steps=2, checkpoint_every=1, **TINY_TRAINING)
    saved_steps, original_save = [], training_run.save_checkpoint
    monkeypatch.setattr(
        training_run,
        "save_checkpoint",
        lambda *args, **kw: saved_steps.append(kw["step"]) or original_save(*args, **kw),
    )
    train_ncsnv2(grey_data, resumed, steps=3, checkpoint_every=10, **TINY_TRAINING)
    assert saved_steps == [3]  # steps 1-2 were not run again
    straight = train_ncsnv2(grey_data, tmp_path / "straight", steps=3, checkpoint_every=10, **TINY_TRAINING)
    checkpoint = latest_checkpoint(straight)
    shipped = NCSNv2Pipeline.from_pretrained(resumed).unet
    assert (
        shipped.config.ngf == 4 and NCSNv2Pipeline.from_pretrained(resumed).scheduler.config.num_train_timesteps == 4
    )
    ema, raw = load_file(checkpoint / EMA_FILE), load_file(checkpoint / MODEL_FILE)
    for name, parameter in shipped.named_parameters():
        torch.testing.assert_close(parameter, ema[name], rtol=0, atol=0)  # resumed == straight, and the EMA is shipped
    assert any(not torch.equal(ema[name], raw[name]) for name in ema)


def test_cli_trains_the_ncsnv2_family_and_refuses_options_of_another(grey_data, tmp_path, capsys):
    data = save_labelled_images(grey_data, tmp_path / "grey.parquet")
    command = [
        "train",
        str(data),
        "--family",
        "ncsnv2",
        "--steps",
        "1",
        "--batch-size",
        "4",
        "--ngf",
        "4",
        "--noise-levels",
        "3",
        "--quiet",
    ]
    assert main([*command, "--out", str(tmp_path / "model")]) == 0
    model_index = json.loads((tmp_path / "model" / "model_index.json").read_text())
    assert model_index["_class_name"] == "NCSNv2Pipeline"
    assert "A `NCSNv2Pipeline` (NCSNv2Model, EMA weights)" in (tmp_path / "model" / "README.md").read_text()
    capsys.readouterr()
    assert main([*command, "--out", str(tmp_path / "other"), "--class-column", "label"]) == 2
    assert "--class-column is not an option of --family ncsnv2" in capsys.readouterr().err
    assert main(["train", str(data), "--out", str(tmp_path / "ddpm"), "--ngf", "4", "--quiet"]) == 2
    assert "--ngf is not an option of --family ddpm" in capsys.readouterr().err


def test_langevin_step_size_follows_technique_4_of_song_and_ermon():
    assert langevin_step_lr(50.0, 0.01, 232, 5) == pytest.approx(6.2e-6, rel=0.01)  # the reference's CIFAR-10 config
    short = langevin_step_lr(7.43, 0.01, 50, 5)  # the paper benchmark's MNIST ladder: larger steps, or noise
    assert 1.4e-5 < short < 1.8e-5
