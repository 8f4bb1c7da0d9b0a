"""Import a checkpoint of the reference NCSNv2 (ermongroup/ncsnv2) as an ``NCSNv2Pipeline`` folder.

The reference's runner saves ``torch.save([score.state_dict(), optimizer.state_dict(), epoch, step,
ema_helper.state_dict()])`` (the EMA item only when ``model.ema``): the network's keys carry the
``module.`` prefix of ``DataParallel`` and hold the noise ladder as a ``sigmas`` buffer; the EMA's are
the bare parameter names. The file is read with ``torch.load(weights_only=True)`` only, so nothing in
it can run code; the YAML config beside it (``configs/cifar10.yml`` and the like) gives what the
weights do not say: the image size, the data range and the sampler's settings.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import yaml

from hubaudit.errors import (
    CannotRead,
    CheckpointDoesNotFit,
    CheckpointNeedsPickle,
    NotAReferenceCheckpoint,
    UnsupportedReferenceConfig,
    first_line,
)
from hubaudit.families.ncsnv2 import NCSNv2Model
from hubaudit.families.ncsnv2_pipeline import AnnealedLangevinScheduler, NCSNv2Pipeline, geometric_sigmas
from hubaudit.files import writable_folder, writing

DATA_PARALLEL_PREFIX = "module."
SIGMAS_KEY = "sigmas"
DEEPER_NETWORKS = {"LSUN": "NCSNv2Deeper", "FFHQ": "NCSNv2Deepest"}
"""Data sets whose reference network is deeper than the small-image NCSNv2 hubaudit implements."""
SUPPORTED = {
    ("model", "normalization"): "InstanceNorm++",
    ("model", "nonlinearity"): "elu",
    ("model", "sigma_dist"): "geometric",
    ("data", "logit_transform"): False,
}
"""Config fields hubaudit's NCSNv2 implements one value of, and that value."""


def import_ncsnv2_checkpoint(
    checkpoint: str | Path, config: str | Path, out_dir: str | Path, *, use_ema: bool = True
) -> Path:
    """Write the reference checkpoint ``checkpoint`` with its YAML ``config`` as an ``NCSNv2Pipeline`` folder ``out_dir``.

    Args:
        checkpoint: a ``checkpoint.pth`` or ``checkpoint_<step>.pth`` of ermongroup/ncsnv2.
        config: the YAML config it was trained with.
        out_dir: the folder to write (``model_index.json``, ``unet/``, ``scheduler/``; safetensors and JSON).
        use_ema: ship the EMA weights where the checkpoint has them (as the reference samples), else the raw ones.

    Returns:
        ``out_dir``.

    Raises:
        CannotRead: a file is missing or unreadable.
        CheckpointNeedsPickle: the checkpoint holds objects a weights-only load refuses.
        NotAReferenceCheckpoint: the file is no ``torch.save`` list whose first item is a state dict.
        UnsupportedReferenceConfig: the config is not YAML, lacks a field, or asks for another network.
        CheckpointDoesNotFit: the weights' keys, shapes or noise ladder do not fit the config.
    """
    checkpoint, config = Path(checkpoint), Path(config)
    settings = _read_config(config)
    state = _network_state(_load_states(checkpoint), checkpoint, use_ema=use_ema)
    sigmas = state.pop(SIGMAS_KEY, None)
    levels = settings["model"]["num_classes"]
    if sigmas is None or sigmas.shape != (levels,):
        raise CheckpointDoesNotFit(checkpoint, f"no 'sigmas' buffer of the config's {levels} noise levels")
    begin, end = float(sigmas[0]), float(sigmas[-1])
    if not (0 < end < begin and np.allclose(geometric_sigmas(begin, end, levels), sigmas.float(), rtol=1e-4)):
        raise CheckpointDoesNotFit(checkpoint, "its 'sigmas' buffer is not a decreasing geometric ladder")
    network = NCSNv2Model(
        sample_size=settings["data"]["image_size"],
        in_channels=settings["data"]["channels"],
        ngf=settings["model"]["ngf"],
        rescaled=bool(settings["data"]["rescaled"]),
    )
    _load_weights(network, state, checkpoint)
    sampling = settings["sampling"]
    scheduler = AnnealedLangevinScheduler(
        num_train_timesteps=levels,
        sigma_begin=begin,
        sigma_end=end,
        n_steps_each=int(sampling["n_steps_each"]),
        step_lr=float(sampling["step_lr"]),
        denoise=bool(sampling["denoise"]),
    )
    out_dir = writable_folder(out_dir, "--out")
    with writing(out_dir):
        NCSNv2Pipeline(unet=network, scheduler=scheduler).save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def _read_config(path: Path) -> dict:
    """The reference config's sections, checked for what hubaudit's NCSNv2 implements."""
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise CannotRead(path, getattr(err, "strerror", None) or type(err).__name__) from err
    except yaml.YAMLError as err:
        raise UnsupportedReferenceConfig(path, f"not valid YAML ({str(err).splitlines()[0]})") from err
    required = {
        "data": ("image_size", "channels", "rescaled"),
        "model": ("ngf", "num_classes"),
        "sampling": ("n_steps_each", "step_lr", "denoise"),
    }
    for section, names in required.items():
        values = settings.get(section) if isinstance(settings, dict) else None
        missing = [name for name in names if not isinstance(values, dict) or name not in values]
        if missing:
            raise UnsupportedReferenceConfig(path, f"no {section}.{missing[0]} (is it an ermongroup/ncsnv2 config?)")
    dataset = settings["data"].get("dataset")
    if dataset in DEEPER_NETWORKS:
        raise UnsupportedReferenceConfig(
            path, f"{dataset} models are {DEEPER_NETWORKS[dataset]}, which hubaudit does not implement"
        )
    for (section, name), value in SUPPORTED.items():
        if settings[section].get(name, value) != value:
            raise UnsupportedReferenceConfig(
                path, f"{section}.{name} is {settings[section][name]!r}; hubaudit's NCSNv2 implements {value!r} only"
            )
    return settings


def _load_states(path: Path) -> list:
    """The checkpoint's list, read by the weights-only unpickler."""
    if not path.is_file():
        raise CannotRead(path, "no such file")
    try:
        states = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", str(err))
        reason = (
            refused.group(1).strip().split(". ")[0] if refused else first_line(err)
        )  # without torch's advice to allow it
        if refused is None or reason.startswith(
            "Unsupported operand"
        ):  # not pickle data the unpickler knows: no torch.save file
            raise NotAReferenceCheckpoint(path, f"torch.load cannot read it ({reason})") from err
        raise CheckpointNeedsPickle(path, reason) from err
    except (RuntimeError, EOFError, KeyError, ValueError) as err:  # not a torch.save file: bad zip, truncated, garbage
        raise NotAReferenceCheckpoint(
            path, f"torch.load cannot read it ({type(err).__name__}: {first_line(err)})"
        ) from err
    if not isinstance(states, (list, tuple)) or not states or not isinstance(states[0], Mapping):
        raise NotAReferenceCheckpoint(
            path, f"a {type(states).__name__}, not a list whose first item is the network's state dict"
        )
    return list(states)


def _network_state(states: list, path: Path, *, use_ema: bool) -> dict[str, torch.Tensor]:
    """The network's state dict without the ``module.`` prefix; the EMA's parameters in place of the raw ones."""
    state = {_bare(key): value for key, value in states[0].items()}
    if use_ema and len(states) >= 5 and isinstance(states[-1], Mapping):
        state |= {_bare(key): value for key, value in states[-1].items()}
    not_tensors = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise NotAReferenceCheckpoint(
            path, f"its state dict holds a {type(state[not_tensors[0]]).__name__} at {not_tensors[0]!r}"
        )
    return state


def _load_weights(network: NCSNv2Model, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``state`` into ``network``; every key must map, one to one, with its shape."""
    expected = network.state_dict()
    missing, unexpected = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
    if missing or unexpected:
        parts = [
            f"{len(keys)} {what} (first {keys[0]!r})"
            for what, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise CheckpointDoesNotFit(path, f"keys do not map: {', '.join(parts)}")
    wrong = [key for key, value in state.items() if value.shape != expected[key].shape]
    if wrong:
        raise CheckpointDoesNotFit(
            path, f"{wrong[0]!r} is {tuple(state[wrong[0]].shape)}, the config makes {tuple(expected[wrong[0]].shape)}"
        )
    network.load_state_dict(state)


def _bare(key: str) -> str:
    return key.removeprefix(DATA_PARALLEL_PREFIX)
