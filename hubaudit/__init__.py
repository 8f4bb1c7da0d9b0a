"""hubaudit: audit diffusion models shared on the Hugging Face Hub for privacy and fairness risks."""

__version__ = "0.1.0"


def scan(model: str, **options):
    """Scan ``model``; see :func:`hubaudit.api.scan` (imported lazily: torch loads only when used)."""
    from hubaudit.api import scan as _scan

    return _scan(model, **options)
