"""hubaudit: audit diffusion models shared on the Hugging Face Hub for privacy and fairness risks."""

from hubaudit.version import __version__

__all__ = ["__version__", "scan"]


def __getattr__(name: str):
    """``hubaudit.scan`` (:func:`hubaudit.api.scan` itself), a submodule (``hubaudit.api`` after ``import hubaudit``) or one of hubaudit's own model classes
    (:data:`hubaudit.families.FAMILY_CLASSES`), loaded on first use (PEP 562), so that ``import hubaudit`` imports
    no torch: diffusers finds a ``["hubaudit", "<class>"]`` component of ``model_index.json`` here."""
    from importlib import import_module
    from importlib.util import find_spec

    if name == "scan":  # hubaudit.scan is hubaudit.api.scan itself, with its declared signature and docstring
        return import_module(f"{__name__}.api").scan
    if not name.startswith("_") and find_spec(f"{__name__}.{name}") is not None:
        return import_module(f"{__name__}.{name}")
    families = import_module("hubaudit.families")
    if name in families.FAMILY_CLASSES:
        return getattr(families, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
