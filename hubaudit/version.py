"""hubaudit's version, declared once (pyproject.toml reads it); at the bottom, so that any layer may quote it."""

__version__ = "0.1.0"
