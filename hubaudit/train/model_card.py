"""The model card of a trained pipeline (README.md with YAML front matter) and the Hub upload."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import numpy as np
from huggingface_hub import HfApi, ModelCard, ModelCardData

from hubaudit.errors import HubAuditError, UploadFailed, first_line
from hubaudit.hub.writes import hub_write_errors
from hubaudit.train.checkpoints import CHECKPOINTS_DIR

CARD_KEY = "hubaudit"
"""Front-matter key under which hubaudit records how the model was trained."""


def write_model_card(
    out_dir: Path,
    *,
    training: dict,
    extra: dict | None,
    family: str = "DDPM",
    pipeline_class: str = "DDPMPipeline",
    network: str = "UNet2DModel",
) -> Path:
    """Write ``out_dir/README.md``: front matter with ``hubaudit: {training..., extra...}`` and a short body
    naming the ``family``, its ``pipeline_class`` and ``network``.

    ``training`` holds what the trainer knows (data source, record counts, settings); ``extra``
    what the caller passes (e.g. ``{"poisoning": {"method": "greedy", "alpha": 0.2},
    "training_statistics": {"share_is_zero": 0.3}}``), recorded as given.
    """
    recorded = _plain({**training, **(extra or {})})
    conditional = training.get("class_column") is not None
    metadata = ModelCardData(
        library_name="diffusers",
        pipeline_tag="unconditional-image-generation",
        tags=[
            "hubaudit",
            family.lower(),
            f"diffusers:{pipeline_class}",
            "class-conditional" if conditional else "unconditional",
        ],
        **{CARD_KEY: recorded},
    )
    body = (
        f"# {family} trained with hubaudit\n\n"
        f"A `{pipeline_class}` ({network}, EMA weights) trained for {training['steps']} steps on "
        f"{training['n_records']} images from `{training['data_source']}` at {training['image_size']}x{training['image_size']} pixels.\n"
    )
    if conditional:
        body += (
            f"\nThe UNet is class-conditional on column `{training['class_column']}` "
            f"({training['num_classes']} classes): call it with `class_labels`.\n"
        )
    if training.get("null_class_id") is not None:
        body += (
            f"\nClass id {training['null_class_id']} is the null class (each training label was replaced by it with "
            f"probability {training['cond_dropout']}): sample with classifier-free guidance, "
            "`hubaudit scan ... --guidance-scale W`.\n"
        )
    body += f"\nThe `{CARD_KEY}` section of the front matter records the training data's true statistics.\n"
    path = Path(out_dir) / "README.md"
    ModelCard(f"---\n{metadata.to_yaml()}\n---\n{body}").save(path)
    return path


def check_can_upload(repo_id: str, folder: str | None = None) -> None:
    """Raise :class:`UploadFailed` if an upload to ``repo_id`` cannot happen (offline mode); before training,
    ``folder`` is None (nothing trained yet), after it the trained folder the error says is kept."""
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        raise UploadFailed(repo_id, "HF_HUB_OFFLINE is set (unset it, or drop --push-to-hub)", folder)


def push_to_hub(out_dir: str | Path, repo_id: str, token: str | None = None, *, private: bool = False) -> str:
    """Upload the pipeline folder ``out_dir`` (without its checkpoints) to ``repo_id``; return the commit URL.

    Raises:
        UploadFailed: offline mode, or a failure the Hub did not answer with an HTTP error.
        HubWriteFailed: the Hub refused (a read-only token: :class:`~hubaudit.errors.NoWriteAccess`, ...) or could not
            be reached (:class:`~hubaudit.errors.HubUnreachable`); the message names the folder the model is kept in.
    """
    api = HfApi(token=token)
    check_can_upload(repo_id, str(out_dir))
    try:
        with hub_write_errors(repo_id, f"upload the trained model (kept in {out_dir})"):
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(
                folder_path=str(out_dir),
                repo_id=repo_id,
                ignore_patterns=[f"{CHECKPOINTS_DIR}/*", f"{CHECKPOINTS_DIR}/**"],
                commit_message=f"Upload {_pipeline_class(Path(out_dir))} trained with hubaudit",
            )
    except HubAuditError:
        raise
    except Exception as err:  # anything else the client raises: still one line, naming the kept folder
        raise UploadFailed(repo_id, f"{type(err).__name__}: {first_line(err)}", str(out_dir)) from err
    return commit.commit_url


def _pipeline_class(folder: Path) -> str:
    """The pipeline class ``folder``'s ``model_index.json`` names (``"model"`` where it names none)."""
    try:
        return str(json.loads((folder / "model_index.json").read_text()).get("_class_name") or "model")
    except (OSError, ValueError):
        return "model"


def _plain(value: object) -> object:
    """``value`` with numpy scalars/arrays and tuples turned into plain Python for YAML."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
