"""Training diffusion models: a small DDPM with EMA, checkpoints and resume; upload to the Hub."""

from hubaudit.train.ddpm import train_ddpm
from hubaudit.train.model_card import check_can_upload, push_to_hub

__all__ = ["check_can_upload", "push_to_hub", "train_ddpm"]
