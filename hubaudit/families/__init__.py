"""Model families hubaudit implements itself, as diffusers components: NCSNv2 (Song & Ermon 2020).

A ``model_index.json`` names their classes ``["hubaudit", "<class>"]``. They are hubaudit's own code,
so such a model loads without ``--trust-remote-code``: :mod:`hubaudit.hub.resolve` trusts exactly
the names in :data:`FAMILY_CLASSES`, and a ``_class_name`` in :data:`PIPELINE_CLASSES` loads through
that class's ``from_pretrained`` (:mod:`hubaudit.hub.loading`). diffusers finds a component class as
an attribute of the ``hubaudit`` package, which exposes these names lazily too.

Importing this package imports neither torch nor diffusers: each class loads on first use (PEP 562).
"""

from importlib import import_module

LIBRARY = "hubaudit"
"""The library name ``model_index.json`` records for hubaudit's classes."""

_MODULE_OF = {
    "NCSNv2Model": "ncsnv2",
    "AnnealedLangevinScheduler": "ncsnv2_pipeline",
    "NCSNv2Pipeline": "ncsnv2_pipeline",
}

FAMILY_CLASSES = frozenset(_MODULE_OF)
"""Every class a ``model_index.json`` may name as ``["hubaudit", name]``: networks, schedulers, pipelines."""

PIPELINE_CLASSES = frozenset({"NCSNv2Pipeline"})
"""hubaudit's pipeline classes: a ``model_index.json`` whose ``_class_name`` is one of these loads through it."""

__all__ = sorted(FAMILY_CLASSES)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
