"""Training diffusion models: a small DDPM, NCSNv2 or VE score-SDE with EMA, checkpoints and resume; upload to the Hub."""

from hubaudit.train.ddpm import train_ddpm
from hubaudit.train.model_card import check_can_upload, push_to_hub
from hubaudit.train.ncsnv2 import train_ncsnv2
from hubaudit.train.score_sde import train_score_sde

TRAINERS = {"ddpm": train_ddpm, "ncsnv2": train_ncsnv2, "score-sde": train_score_sde}
"""``hubaudit train --family`` -> the function that trains that family."""

__all__ = ["TRAINERS", "check_can_upload", "push_to_hub", "train_ddpm", "train_ncsnv2", "train_score_sde"]
