"""Training diffusion models: a small DDPM with EMA, checkpoints and resume; upload to the Hub."""

from hubaudit.train.ddpm import train_ddpm
from hubaudit.train.model_card import push_to_hub

__all__ = ["push_to_hub", "train_ddpm"]
