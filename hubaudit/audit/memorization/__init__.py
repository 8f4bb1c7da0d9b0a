"""Memorization: do a scan's samples copy training images? (Carlini et al.'s tiled L2 and relative criterion.)

Modules: ``nearest`` (the distance and the streaming nearest-neighbour search, numpy only), ``embedding`` (a
transformers image model's unit embeddings), ``options``, ``audit`` (the report section and its verdict).
"""

from hubaudit.exports import lazy_exports

EXPORTS = {
    "MemorizationOptions": "options",
    "memorization_section": "audit",
    "nearest_neighbours": "nearest",
    "tile_features": "nearest",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
