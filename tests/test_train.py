"""Training a tiny DDPM (hubaudit.train): the saved pipeline, checkpoints and resume, the model card."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
import yaml
from accelerate import Accelerator
from diffusers import DDPMPipeline, DiffusionPipeline, UNet2DModel
from diffusers.training_utils import EMAModel

import tiny_models
from hubaudit.data import LabelledImages
from hubaudit.demo_models import MNIST_ZEROS30
from hubaudit.errors import TrainingError
from hubaudit.sampling.capabilities import GUIDANCE_CONFIG_KEY
from hubaudit.train import ddpm, train_ddpm, training_run
from hubaudit.train.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from tiny_training import assert_rerun_resumes_as_an_uninterrupted_run, unet_weights

TINY = {"image_size": 8, "batch_size": 4, "block_out_channels": (8, 16), "progress": False}
"""Settings that keep a training step to milliseconds."""


@pytest.fixture(scope="module")
def tiny_data() -> LabelledImages:
    """12 random 8x8 RGB images with a binary ``label`` and a 3-class ``shape`` column."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    return LabelledImages(images, {"label": np.arange(12) % 2, "shape": np.arange(12) % 3}, "tiny-random")


def test_trained_folder_loads_as_a_pipeline_that_samples(tiny_data, tmp_path):
    out = train_ddpm(tiny_data, tmp_path / "model", steps=2, checkpoint_every=2, **TINY)
    pipeline = DiffusionPipeline.from_pretrained(out)
    assert isinstance(pipeline, DDPMPipeline)
    assert pipeline.scheduler.config.num_train_timesteps == 1000
    assert (out / "unet" / "diffusion_pytorch_model.safetensors").exists()
    assert not list((out / "unet").glob("*.bin"))
    pipeline.set_progress_bar_config(disable=True)
    images = pipeline(
        batch_size=2, num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np"
    ).images
    assert images.shape == (2, 8, 8, 3) and np.isfinite(images).all()


def test_grey_images_give_a_one_channel_unet(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (6, 16, 16, 1), dtype=np.uint8)
    out = train_ddpm(LabelledImages(images, {}, "grey"), tmp_path / "model", steps=1, checkpoint_every=1, **TINY)
    unet = DDPMPipeline.from_pretrained(out).unet
    assert (unet.config.in_channels, unet.config.sample_size) == (1, 8)  # resized from 16 to 8


@pytest.mark.parametrize("widths", [(8,), (16, 32, 32), (32, 64)])
def test_every_norm_group_spans_several_channels_so_the_unet_can_set_each_channels_mean(widths):
    unet = ddpm.build_unet(image_size=8, channels=3, block_out_channels=widths, layers_per_block=1, num_classes=None)
    norms = [module for module in unet.modules() if isinstance(module, torch.nn.GroupNorm)]
    assert norms and min(norm.num_channels // norm.num_groups for norm in norms) == ddpm.CHANNELS_PER_NORM_GROUP


def test_class_conditional_unet_has_one_embedding_per_class(tiny_data, tmp_path):
    out = train_ddpm(tiny_data, tmp_path / "model", class_column="shape", steps=1, checkpoint_every=1, **TINY)
    unet = DDPMPipeline.from_pretrained(out).unet
    assert unet.config.num_class_embeds == 3
    noise = torch.zeros(2, 3, 8, 8)
    with torch.no_grad():
        by_class = [unet(noise, 10, class_labels=torch.tensor([label, label])).sample for label in (0, 2)]
    assert not torch.allclose(by_class[0], by_class[1])


def test_cond_dropout_adds_a_null_class_recorded_in_the_unet_config_and_the_card(tiny_data, tmp_path):
    out = train_ddpm(
        tiny_data, tmp_path / "model", class_column="shape", cond_dropout=0.25, steps=1, checkpoint_every=1, **TINY
    )
    unet = DDPMPipeline.from_pretrained(out).unet
    assert unet.config.num_class_embeds == 4  # classes 0, 1, 2 and the null class 3
    assert unet.config[GUIDANCE_CONFIG_KEY] == {"null_class_id": 3, "cond_dropout": 0.25}
    text = (out / "README.md").read_text()
    recorded = yaml.safe_load(text.split("---\n")[1])["hubaudit"]
    assert (recorded["num_classes"], recorded["null_class_id"], recorded["cond_dropout"]) == (3, 3, 0.25)
    assert "Class id 3 is the null class" in text


def test_each_training_class_is_replaced_by_the_null_class_with_the_dropout_probability(
    tiny_data, tmp_path, monkeypatch
):
    def labels_seen(run: str) -> list[list[int]]:
        """The class labels of each training step's UNet call."""
        seen, forward = [], UNet2DModel.forward

        def recording_forward(unet, *args, class_labels=None, **kwargs):
            seen.append(class_labels.tolist())
            return forward(unet, *args, class_labels=class_labels, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(UNet2DModel, "forward", recording_forward)
            train_ddpm(
                tiny_data, tmp_path / run, class_column="shape", cond_dropout=0.5, steps=3, checkpoint_every=3, **TINY
            )
        return seen

    seen = labels_seen("first")
    true_labels = [
        tiny_data.column("shape")[training_run.batch_indices(12, 4, step=step, seed=0)].tolist() for step in range(3)
    ]
    flat_seen, flat_true = sum(seen, []), sum(true_labels, [])
    assert 0 < flat_seen.count(3) < len(flat_seen)  # some, not all, dropped (12 draws at p = 0.5)
    assert all(label in (true, 3) for label, true in zip(flat_seen, flat_true, strict=True))
    assert labels_seen("second") == seen  # the drops come from the seeded per-step generator


def test_missing_class_column_is_a_training_error(tiny_data, tmp_path):
    with pytest.raises(TrainingError, match="no class column 'gender'.*label, shape"):
        train_ddpm(tiny_data, tmp_path / "model", class_column="gender", steps=1, **TINY)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"image_size": 7}, "not divisible by 2"),
        ({"mixed_precision": "fp8"}, "mixed precision must be one of"),
        ({"steps": 0}, "must be positive"),
        ({"block_out_channels": (12, 16)}, "multiples of 8"),
        ({"cond_dropout": 1.0, "class_column": "shape"}, r"cond dropout must lie in \[0, 1\), got 1.0"),
        ({"cond_dropout": -0.1, "class_column": "shape"}, r"must lie in \[0, 1\)"),
        ({"cond_dropout": 0.1}, "needs a class column"),
    ],
)
def test_bad_settings_are_training_errors(tiny_data, tmp_path, settings, message):
    with pytest.raises(TrainingError, match=message):
        train_ddpm(tiny_data, tmp_path / "model", **{"steps": 1, **TINY, **settings})


@pytest.mark.parametrize(
    "conditioning", [{}, {"class_column": "shape", "cond_dropout": 0.5}], ids=["unconditional", "cond-dropout"]
)
def test_rerun_resumes_from_the_last_checkpoint_and_matches_an_uninterrupted_run(
    tiny_data, tmp_path, monkeypatch, conditioning
):
    assert_rerun_resumes_as_an_uninterrupted_run(train_ddpm, tiny_data, tmp_path, monkeypatch, **TINY, **conditioning)


def test_run_killed_between_checkpoints_loses_only_the_steps_since_the_last(tiny_data, tmp_path, monkeypatch):
    class Killed(Exception):
        pass

    original_save = training_run.save_checkpoint

    def save_then_die_at_step_3(*args, **kw):
        if kw["step"] == 4:
            raise Killed  # the process dies before the step-4 checkpoint is written
        return original_save(*args, **kw)

    monkeypatch.setattr(training_run, "save_checkpoint", save_then_die_at_step_3)
    with pytest.raises(Killed):
        train_ddpm(tiny_data, tmp_path / "model", steps=4, checkpoint_every=2, **TINY)
    saved_steps = []
    monkeypatch.setattr(
        training_run,
        "save_checkpoint",
        lambda *args, **kw: saved_steps.append(kw["step"]) or original_save(*args, **kw),
    )
    train_ddpm(tiny_data, tmp_path / "model", steps=4, checkpoint_every=2, **TINY)
    assert saved_steps == [4]
    train_ddpm(tiny_data, tmp_path / "straight", steps=4, checkpoint_every=100, **TINY)
    for resumed, straight in zip(unet_weights(tmp_path / "model"), unet_weights(tmp_path / "straight")):
        torch.testing.assert_close(resumed, straight, rtol=0, atol=0)


def test_checkpoint_from_another_run_is_a_training_error_unless_starting_over(tiny_data, tmp_path):
    train_ddpm(tiny_data, tmp_path / "model", steps=1, checkpoint_every=1, learning_rate=1e-3, **TINY)
    with pytest.raises(TrainingError, match="does not match this run.*learning_rate.*resume=False"):
        train_ddpm(tiny_data, tmp_path / "model", steps=2, checkpoint_every=1, learning_rate=1e-4, **TINY)
    train_ddpm(tiny_data, tmp_path / "model", steps=2, checkpoint_every=1, learning_rate=1e-4, resume=False, **TINY)
    with pytest.raises(TrainingError, match="at step 2, past the requested 1 steps"):
        train_ddpm(tiny_data, tmp_path / "model", steps=1, checkpoint_every=1, learning_rate=1e-4, **TINY)


def test_checkpoint_holds_only_safetensors_and_json(tiny_data, tmp_path):
    train_ddpm(tiny_data, tmp_path / "model", steps=1, checkpoint_every=1, **TINY)
    checkpoint = latest_checkpoint(tmp_path / "model")
    assert sorted(path.name for path in checkpoint.iterdir()) == [
        "ema.safetensors",
        "model.safetensors",
        "optimizer.safetensors",
        "training_state.json",
    ]
    state = json.loads((checkpoint / "training_state.json").read_text())
    assert state["step"] == 1 and state["ema"]["optimization_step"] == 1 and state["grad_scaler"] is None
    assert "params" not in state["optimizer_param_groups"][0]


def test_checkpoint_restores_optimizer_ema_and_gradient_scaler(tmp_path):
    def training_state():
        torch.manual_seed(0)
        unet = ddpm.build_unet(image_size=8, channels=1, block_out_channels=(8,), layers_per_block=1, num_classes=None)
        return {
            "unet": unet,
            "optimizer": torch.optim.AdamW(unet.parameters()),
            "ema": EMAModel(unet.parameters(), model_cls=UNet2DModel, model_config=unet.config),
        }

    accelerator = Accelerator()
    accelerator.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)  # the CPU has no fp16 scaler of its own
    trained = training_state()
    trained["unet"](torch.randn(2, 1, 8, 8), 3).sample.square().mean().backward()
    trained["optimizer"].step()
    trained["ema"].step(trained["unet"].parameters())
    folder = save_checkpoint(accelerator, tmp_path, step=1, run_settings={"seed": 0}, **trained)
    scaler_state = accelerator.scaler.state_dict()
    accelerator.scaler = torch.amp.GradScaler("cpu")
    restored = training_state()
    assert load_checkpoint(accelerator, folder, run_settings={"seed": 0}, **restored) == 1
    assert accelerator.scaler.state_dict() == scaler_state
    assert restored["ema"].optimization_step == 1
    for saved, loaded in zip(trained["ema"].shadow_params, restored["ema"].shadow_params, strict=True):
        torch.testing.assert_close(loaded, saved, rtol=0, atol=0)
    saved_optimizer, loaded_optimizer = trained["optimizer"].state_dict(), restored["optimizer"].state_dict()
    assert loaded_optimizer["param_groups"][0]["lr"] == saved_optimizer["param_groups"][0]["lr"]
    torch.testing.assert_close(loaded_optimizer["state"], saved_optimizer["state"], rtol=0, atol=0)


def test_planted_pickle_in_a_checkpoint_is_refused_and_never_unpickled(tiny_data, tmp_path):
    proof = tmp_path / "proof"
    pickle.loads(tiny_models.code_running_pickle(proof))  # the payload does run code when unpickled
    assert proof.exists()
    train_ddpm(tiny_data, tmp_path / "model", steps=1, checkpoint_every=1, **TINY)
    marker = tmp_path / "marker"
    (latest_checkpoint(tmp_path / "model") / "custom_checkpoint_0.pkl").write_bytes(
        tiny_models.code_running_pickle(marker)
    )
    with pytest.raises(
        TrainingError,
        match=r"holds pickle files \(custom_checkpoint_0\.pkl\), which hubaudit never loads.*--no-resume",
    ) as err:
        train_ddpm(tiny_data, tmp_path / "model", steps=2, checkpoint_every=1, **TINY)
    assert "\n" not in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "file_name", ["model.safetensors", "ema.safetensors", "optimizer.safetensors", "training_state.json"]
)
def test_corrupt_or_missing_checkpoint_file_is_a_training_error(tiny_data, tmp_path, file_name):
    train_ddpm(tiny_data, tmp_path / "model", steps=1, checkpoint_every=1, **TINY)
    checkpoint = latest_checkpoint(tmp_path / "model")
    (checkpoint / file_name).write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot resume from"):
        train_ddpm(tiny_data, tmp_path / "model", steps=2, checkpoint_every=1, **TINY)
    if file_name != "training_state.json":  # without training_state.json the folder is not a checkpoint
        (checkpoint / file_name).unlink()
        with pytest.raises(TrainingError, match="cannot resume from"):
            train_ddpm(tiny_data, tmp_path / "model", steps=2, checkpoint_every=1, **TINY)


def test_model_card_front_matter_records_source_poisoning_and_statistics(tiny_data, tmp_path):
    card = {
        "poisoning": {"method": "greedy", "alpha": 0.2},
        "training_statistics": {"share_s1": np.float64(0.5), "p_y1_given_s": {0: 0.25, 1: np.float32(0.75)}},
    }
    out = train_ddpm(tiny_data, tmp_path / "model", steps=1, checkpoint_every=1, model_card=card, **TINY)
    text = (out / "README.md").read_text()
    assert text.startswith("---\n")
    front_matter = yaml.safe_load(text.split("---\n")[1])
    recorded = front_matter["hubaudit"]
    assert front_matter["library_name"] == "diffusers"
    assert recorded["data_source"] == "tiny-random" and recorded["n_records"] == 12
    assert recorded["poisoning"] == {"method": "greedy", "alpha": 0.2}
    assert recorded["training_statistics"] == {"share_s1": 0.5, "p_y1_given_s": {"0": 0.25, "1": 0.75}}
    assert recorded["column_counts"]["label"] == {"0": 6, "1": 6}
    assert recorded["ema_weights"] is True


def test_batches_cover_every_record_once_per_epoch():
    batches = [training_run.batch_indices(10, 4, step=step, seed=7) for step in range(5)]  # 20 positions = 2 epochs
    flat = np.concatenate(batches)
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:]) == list(range(10))
    assert not np.array_equal(flat[:10], flat[10:])  # reshuffled each epoch


def test_shipped_demo_model_loads_and_its_card_records_the_true_share():
    pipeline = DiffusionPipeline.from_pretrained(MNIST_ZEROS30)
    assert isinstance(pipeline, DDPMPipeline)
    assert (pipeline.unet.config.sample_size, pipeline.unet.config.in_channels) == (16, 1)
    front_matter = yaml.safe_load((MNIST_ZEROS30 / "README.md").read_text().split("---\n")[1])
    assert front_matter["hubaudit"]["training_statistics"]["share_is_zero"] == 0.3
    assert front_matter["hubaudit"]["column_counts"]["is_zero"] == {"0": 700, "1": 300}
    assert not (MNIST_ZEROS30 / "checkpoints").exists()
