"""The binary label Y of a class-conditional or text-to-image scan: read off each sample's class or prompt.

``--label-map 0=0,1=0,2=1`` maps class ids to 0/1; ``--label-prompt '1=a photo of a doctor'``
(repeatable) gives a prompt its label and adds it to the scan. A two-class model needs no map:
class 0 is label 0, class 1 label 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hubaudit.errors import InvalidLabelMapping

if TYPE_CHECKING:  # the CLI parses label maps before it imports torch
    from hubaudit.sampling import Condition

LABEL_VALUES = ("0", "1")
_LABEL_ASSIGNMENT = re.compile(r"\s*([^=]+?)\s*=\s*(.*?)\s*")


def parse_label_map(text: str) -> dict[int, int]:
    """``"0=0,1=0,2=1"`` -> ``{0: 0, 1: 0, 2: 1}`` (class id -> binary label).

    Raises:
        InvalidLabelMapping: not ``CLASS=LABEL,...`` with integer classes, each once, and labels 0 or 1.
    """
    mapping: dict[int, int] = {}
    for item in text.split(","):
        match = _LABEL_ASSIGNMENT.fullmatch(item)
        if (
            match is None
            or not match.group(1).isdigit()
            or match.group(2) not in LABEL_VALUES
            or int(match.group(1)) in mapping
        ):
            raise InvalidLabelMapping(
                f"--label-map {text!r}: expected CLASS=LABEL,... with each class once and labels 0 or 1, e.g. 0=0,1=0,2=1"
            )
        mapping[int(match.group(1))] = int(match.group(2))
    return mapping


def parse_label_prompts(texts: Sequence[str]) -> dict[str, int]:
    """``["1=a photo of a doctor", "0=a photo of a nurse"]`` -> ``{prompt: binary label}``.

    Raises:
        InvalidLabelMapping: an item is not ``LABEL=PROMPT`` with LABEL 0 or 1, or a prompt comes twice.
    """
    labels: dict[str, int] = {}
    for text in texts:
        match = _LABEL_ASSIGNMENT.fullmatch(text)
        if match is None or match.group(1) not in LABEL_VALUES or not match.group(2) or match.group(2) in labels:
            raise InvalidLabelMapping(
                f"--label-prompt {text!r}: expected LABEL=PROMPT with LABEL 0 or 1 and each prompt once, e.g. '1=a photo of a doctor'"
            )
        labels[match.group(2)] = int(match.group(1))
    return labels


def condition_labels(
    conditions: Sequence[Condition],
    *,
    kind: str,
    label_map: Mapping[int, int] | None,
    label_prompts: Mapping[str, int] | None,
) -> dict[Condition, int]:
    """The binary label of each scanned class or prompt.

    Raises:
        InvalidLabelMapping: the model is unconditional, the mapping misses a scanned condition,
            or the scanned conditions do not cover both labels.
    """
    if kind == "class-conditional":
        mapping = label_map if label_map is not None else ({0: 0, 1: 1} if set(conditions) == {0, 1} else None)
        if mapping is None:
            raise InvalidLabelMapping(
                f"the scan covers classes {', '.join(map(str, conditions))}: map them to a binary label with "
                "--label-map CLASS=LABEL,... (e.g. 0=0,1=0,2=1)"
            )
        what, hint = "class", "add it to --label-map"
    elif kind == "text-to-image":
        mapping = dict(label_prompts or {})
        what, hint = "prompt", "give it a label with --label-prompt LABEL=PROMPT"
    else:
        article = "an" if kind[:1] in "aeiou" else "a"
        raise InvalidLabelMapping(
            f"{article} {kind} model has no classes or prompts to read a label from: annotate it with attributes NAME=SPEC "
            "and labels NAME",
            options=["attributes", "labels"],
        )
    missing = [condition for condition in conditions if condition not in mapping]
    if missing:
        raise InvalidLabelMapping(f"no label for {what} {', '.join(map(repr, missing))}: {hint}")
    labels = {condition: mapping[condition] for condition in conditions}
    if set(labels.values()) != {0, 1}:
        raise InvalidLabelMapping(
            f"the scanned classes or prompts all have label {labels[conditions[0]]}: both labels 0 and 1 are needed"
        )
    return labels
