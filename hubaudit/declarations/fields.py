"""An option declared once: a dataclass field whose ``metadata`` carries its help, group and command-line spelling
(as transformers' ``HfArgumentParser`` reads dataclass fields), read back as a :class:`Declared` record.

Its type is the field's annotation, its default the field's default. Nothing here imports more than the standard
library, so that the command line's parser, the package's ``hubaudit.scan`` and the Space read the declarations
without torch.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

CLI_AND_API = "cli+api"
"""An option of the command line and of the Python API (most options)."""
CLI_ONLY = "cli"
"""An option of the command line alone (``quiet``: the API's ``progress`` says the same)."""
API_ONLY = "api"
"""A keyword of the Python API alone (``progress``, ``allow_local``, ``token``): no flag, no config-file key."""
ANY_KIND = "any"
"""In :attr:`Declared.starter`: ``hubaudit config init`` writes the option uncommented for every kind of model."""
MODEL_KINDS = ("text-to-image", "class-conditional", "unconditional")
"""The kinds of model ``hubaudit config init --kind`` writes a starting file for."""


class Required:
    """The default of an option that has none: the caller must give it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = Required()


@dataclass(frozen=True)
class Declared:
    """One option as declared: what every front end derives its form of the option from.

    Attributes:
        name: the Python API's keyword, the config file's key and the report's ``options`` key.
        annotation: the type the API takes (``int | None``, ``Sequence[str] | None``, ``Literal[...]``, ...).
        default: the default (:data:`REQUIRED` when there is none).
        help: one sentence: the CLI's help, the API docstring's Args entry, the config file's comment.
        group: the heading it is listed under (``hubaudit scan --help``, the config file); empty: the verb's own options.
        flags: the command-line spellings (``("-n", "--num-samples")``); empty for a positional or API-only option.
        scope: :data:`CLI_AND_API`, :data:`CLI_ONLY` or :data:`API_ONLY`.
        positional: a positional argument on the command line (``MODEL``, ``DATA``).
        api_positional: a positional parameter of the API function (``scan(model, ...)``, ``train(data, out, ...)``).
        metavar: the placeholder in the usage line.
        label: a short title for a form field (the Space).
        example: a value to show where the default is None or when the option is written uncommented.
        starter: the model kinds (or :data:`ANY_KIND`) for which ``hubaudit config init`` writes it uncommented.
        recorded: written to the report's ``options`` table (False for a secret: the Hub token).
        argparse: keyword arguments of ``add_argument`` that the type does not give (``nargs``, ``const``, ``type``).
        exclusive: the name of a mutually exclusive group on the command line.
        to_words: the command-line words of a value the plain rules cannot spell (a label map's ``0=0,1=1``).
        families: for ``hubaudit train``: the model families whose trainer takes the option (empty: ``train``'s own).
    """

    name: str
    annotation: object
    default: object
    help: str
    group: str
    flags: tuple[str, ...] = ()
    scope: str = CLI_AND_API
    positional: bool = False
    api_positional: bool = False
    metavar: str | None = None
    label: str | None = None
    example: object = None
    starter: tuple[str, ...] = ()
    recorded: bool = True
    argparse: Mapping[str, object] = field(default_factory=dict)
    exclusive: str | None = None
    to_words: Callable[[object], list[str]] | None = None
    families: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def on_cli(self) -> bool:
        """A flag or positional argument of the command line (and a key of the config file)."""
        return self.scope != API_ONLY

    @property
    def in_api(self) -> bool:
        """A parameter of the Python API function."""
        return self.scope != CLI_ONLY

    @property
    def flag(self) -> str:
        """The long spelling on the command line (``--out``), or the positional's metavar."""
        if self.positional:
            return self.metavar or self.name.upper()
        return next((flag for flag in self.flags if flag.startswith("--")), self.flags[0])

    @property
    def shown_value(self) -> object:
        """The value a form or a starting file shows: the default, else the example."""
        return self.example if self.default is None or self.required else self.default


def option(default: object = REQUIRED, *, help: str, group: str, flags: tuple[str, ...] | None = None, **more):
    """A dataclass field declaring an option (``more``: the other :class:`Declared` attributes but name and type).

    Its flag is ``--name-with-dashes`` unless ``flags`` says otherwise; a field without ``default`` is required.
    """
    metadata = {"declared": {"help": help, "group": group, "flags": flags, **more}}
    if default is REQUIRED:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@functools.cache
def declared_options(settings: type) -> tuple[Declared, ...]:
    """The options a settings dataclass declares, in declaration order."""
    hints = typing.get_type_hints(settings)
    options = []
    for entry in dataclasses.fields(settings):
        meta = dict(entry.metadata["declared"])
        flags = meta.pop("flags")
        if flags is None:
            flags = (
                ()
                if meta.get("positional") or meta.get("scope") == API_ONLY
                else (f"--{entry.name.replace('_', '-')}",)
            )
        default = REQUIRED if entry.default is dataclasses.MISSING else entry.default
        options.append(
            Declared(name=entry.name, annotation=hints[entry.name], default=default, flags=tuple(flags), **meta)
        )
    return tuple(options)


def options_by_name(settings: type) -> dict[str, Declared]:
    """:func:`declared_options` keyed by name."""
    return {declared.name: declared for declared in declared_options(settings)}


def default_of(settings: type, name: str) -> object:
    """The declared default of option ``name`` of ``settings``."""
    return options_by_name(settings)[name].default
