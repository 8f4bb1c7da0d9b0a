"""hubaudit: audit diffusion models shared on the Hugging Face Hub for privacy and fairness risks."""

__version__ = "0.1.0"


def scan(model: str, **options):
    """Scan ``model``; see :func:`hubaudit.api.scan` (imported lazily: torch loads only when used)."""
    from hubaudit.api import scan as _scan

    return _scan(model, **options)


def __getattr__(name: str):
    """hubaudit's own model classes (:data:`hubaudit.families.FAMILY_CLASSES`), loaded on first use (PEP 562):
    diffusers finds a ``["hubaudit", "<class>"]`` component of ``model_index.json`` here."""
    from importlib import import_module

    families = import_module("hubaudit.families")
    if name in families.FAMILY_CLASSES:
        return getattr(families, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
