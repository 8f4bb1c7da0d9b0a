"""Small diffusion models shipped with hubaudit, for demos and tests (built by scripts/build_demo_model.py)."""

from pathlib import Path

MNIST_ZEROS30 = Path(__file__).parent / "mnist-zeros30"
"""Unconditional 16x16 grey DDPM trained on 1,000 MNIST digits of which exactly 30% are zeros."""
