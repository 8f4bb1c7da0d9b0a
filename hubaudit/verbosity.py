"""Library output under hubaudit's own verbosity: their log lines at error level, their progress bars only when asked.

diffusers, transformers, huggingface_hub and datasets read environment variables when first
imported and have setters for when they already are; :func:`quiet_libraries` does both, without
importing any of them (so that ``hubaudit report`` stays free of torch). While hubaudit handles a
library's failure itself, :func:`library_errors_handled` drops the library's error lines too.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LEVEL_VARIABLES = ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY", "HF_HUB_VERBOSITY", "DATASETS_VERBOSITY")
_PROGRESS_VARIABLES = ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS")
_LIBRARY_LOGGERS = ("diffusers", "transformers", "huggingface_hub", "datasets", "accelerate", "peft", "torch")


def quiet_libraries(*, progress_bars: bool, force: bool = False) -> None:
    """Send the libraries' log lines below error nowhere; hide their progress bars unless ``progress_bars``.

    Without ``force`` a verbosity the user set in the environment (e.g. ``DIFFUSERS_VERBOSITY=info``)
    is kept; ``force`` (``--quiet``) overrides it and also silences Python warnings.
    """
    for variable in _LEVEL_VARIABLES:
        if force:
            os.environ[variable] = "error"
        else:
            os.environ.setdefault(variable, "error")
    for name in _LIBRARY_LOGGERS:
        if force or name in ("accelerate", "peft", "torch"):
            logging.getLogger(name).setLevel(logging.ERROR)
    if force:
        warnings.simplefilter("ignore")
        for name in ("diffusers", "transformers", "huggingface_hub", "datasets"):
            if name in sys.modules:  # imported already (the Python API, tests): its level was read at import
                logging.getLogger(name).setLevel(logging.ERROR)
    if not progress_bars:
        for variable in _PROGRESS_VARIABLES:
            os.environ[variable] = "1"
        disable_imported_progress_bars()


def disable_imported_progress_bars() -> None:
    """Turn off the progress bars of the libraries already imported (those imported later read the environment)."""
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()
    for name in ("diffusers", "transformers"):
        if name in sys.modules:
            sys.modules[name].utils.logging.disable_progress_bar()
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()


@contextmanager
def library_errors_handled() -> Iterator[None]:
    """Drop the libraries' error lines inside the block, where hubaudit turns their failures into its own one line
    (a LoRA that does not fit: diffusers logs the whole ``load_state_dict`` error first) or recovers from them (with
    ``allow_pickle``, diffusers logs that a component has no safetensors file, then loads its pickle file).

    Only loggers already at error level (:func:`quiet_libraries`, or the user's ``DIFFUSERS_VERBOSITY=error``) are
    raised, to critical, and put back on leaving; a library the user made more verbose keeps every line.
    """
    raised = []
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() >= logging.ERROR and logger.level < logging.CRITICAL:
            raised.append((logger, logger.level))
            logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in raised:
            logger.setLevel(level)
