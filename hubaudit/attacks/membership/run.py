"""``hubaudit membership``: score candidate images with white-box attacks, thresholds calibrated on non-members."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hubaudit.attacks.membership.calibration import CalibratedThreshold
from hubaudit.attacks.membership.scores import ATTACKS, membership_scores
from hubaudit.attacks.membership.whitebox import WhiteBox, white_box
from hubaudit.data import LabelledImages, load_labelled_images, load_text_column
from hubaudit.errors import InvalidMembershipOptions
from hubaudit.hub import resolve_reference
from hubaudit.hub.loading import load_pipeline

MEMBERSHIP_SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class MembershipRequest:
    """What ``hubaudit membership`` is asked: the fields :class:`hubaudit.declarations.MembershipSettings` declares,
    with their defaults there (:func:`hubaudit.api.membership` fills every one)."""

    model: str
    candidates: str
    non_members: str | None
    attacks: tuple[str, ...]
    fpr: float
    loss_timesteps: tuple[int, ...]
    pia_timestep: int
    class_column: str | None
    caption_column: str | None
    image_column: str
    limit: int | None
    seed: int
    batch_size: int
    confidence: float
    device: str
    token: str | None
    allow_local: bool

    def __post_init__(self) -> None:  # paths, and repeated options given as lists, in the form the run reads
        for name in ("candidates", "non_members"):
            value = getattr(self, name)
            object.__setattr__(self, name, str(value) if value is not None else None)
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "loss_timesteps", tuple(self.loss_timesteps))

    def check(self) -> None:
        if self.non_members is None:
            raise InvalidMembershipOptions(
                "membership scores need non-members to calibrate their thresholds (uncalibrated scores mislead: "
                "they flag most images of a model that generalises): give --non-members DATA, images you know the "
                "model did not see"
            )
        if not 0 < self.fpr < 1:
            raise InvalidMembershipOptions(f"--fpr must lie strictly between 0 and 1, got {self.fpr}")
        unknown = sorted(set(self.attacks) - set(ATTACKS))
        if unknown or not self.attacks:
            raise InvalidMembershipOptions(f"unknown attack {', '.join(unknown)}; choose from {', '.join(ATTACKS)}")


def run_membership(request: MembershipRequest) -> dict:
    """Score the candidates and the non-members with each attack; return the result dict (docs/report-schema.md,
    ``membership``)."""
    request.check()
    clock = time.perf_counter()
    resolved = resolve_reference(request.model, token=request.token, allow_local=request.allow_local)
    import torch

    data = {source: _read(request, source) for source in (request.candidates, request.non_members)}  # before loading
    pipeline = load_pipeline(resolved, token=request.token)
    box = white_box(pipeline, device=torch.device(request.device), reference=str(resolved.reference))
    candidates, candidate_conditions = _conditioned(request, request.candidates, data[request.candidates], box)
    non_members, non_member_conditions = _conditioned(request, request.non_members, data[request.non_members], box)
    by_attack = {}
    for attack in request.attacks:
        score = {
            "attack": attack,
            "seed": request.seed,
            "loss_timesteps": list(request.loss_timesteps),
            "pia_timestep": request.pia_timestep,
            "batch_size": request.batch_size,
        }
        candidate_scores = membership_scores(box, candidates, candidate_conditions, set_name="candidates", **score)
        non_member_scores = membership_scores(box, non_members, non_member_conditions, set_name="non-members", **score)
        by_attack[attack] = attack_result(
            candidate_scores, non_member_scores, fpr=request.fpr, confidence=request.confidence
        )
    return {
        "schema_version": MEMBERSHIP_SCHEMA_VERSION,
        "model": {"reference": str(resolved.reference), "resolved_sha": resolved.sha, "kind": box.kind},
        "candidates": request.candidates,
        "non_members": request.non_members,
        "n_candidates": len(candidates),
        "n_non_members": len(non_members),
        "fpr": request.fpr,
        "confidence": request.confidence,
        "timesteps": {"loss": list(request.loss_timesteps), "pia": request.pia_timestep},
        "attacks": by_attack,
        "seconds": round(time.perf_counter() - clock, 3),
        "caveat": "an attack that flags nothing does not show the images were not used: a stronger attack may",
    }


def attack_result(
    candidate_scores: np.ndarray, non_member_scores: np.ndarray, *, fpr: float, confidence: float
) -> dict:
    """One attack's calibrated threshold, per-candidate scores and decisions, and the flagged count."""
    threshold = CalibratedThreshold.fit(non_member_scores, fpr)
    flags = threshold.flags(candidate_scores)
    p_values = threshold.p_values(candidate_scores)
    share = threshold.members_among_flagged(len(candidate_scores), int(flags.sum()), confidence=confidence)
    return {
        "threshold": threshold.threshold,
        "threshold_rank": threshold.rank,
        "flagged": int(flags.sum()),
        "members_among_flagged": share.to_dict() if share is not None else None,
        "per_candidate": [
            {"index": index, "score": float(score), "member": bool(flag), "calibrated_fpr": float(p_value)}
            for index, (score, flag, p_value) in enumerate(zip(candidate_scores, flags, p_values, strict=True))
        ],
    }


def _read(request: MembershipRequest, source: str) -> LabelledImages:
    """The images of ``source`` (and the class column, if named)."""
    columns = [request.class_column] if request.class_column else []
    return load_labelled_images(
        source,
        image_column=request.image_column,
        columns=columns,
        limit=request.limit,
        allow_local=request.allow_local,
    )


def _conditioned(
    request: MembershipRequest, source: str, data: LabelledImages, box: WhiteBox
) -> tuple[np.ndarray, Sequence]:
    """The images of ``source`` and each one's condition (class id, caption or None) for the model's kind."""
    if box.kind == "class-conditional":
        if request.class_column is None:
            raise InvalidMembershipOptions(
                "the model is class-conditional: name the column with each image's class (--class-column)"
            )
        return data.images, data.column(request.class_column)
    if box.kind == "text-to-image":
        if request.caption_column is None:
            raise InvalidMembershipOptions(
                "the model is text-to-image: name the column with each image's caption (--caption-column)"
            )
        captions = load_text_column(source, request.caption_column, allow_local=request.allow_local)
        if captions is None:
            raise InvalidMembershipOptions(f"{source} has no text column {request.caption_column!r}")
        return data.images, np.array(captions[: len(data)], dtype=object)
    return data.images, np.array([None] * len(data), dtype=object)
