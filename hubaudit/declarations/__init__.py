"""Every option of hubaudit's verbs, declared once, and what each front end derives from the declarations.

An option is a field of a frozen dataclass (:class:`ScanSettings` for ``scan``; :class:`FleetSettings`,
:class:`LabelSettings`, :class:`PoisonSettings`, :class:`TrainSettings` for ``scan-many``, ``label``, ``poison`` and
``train``): its annotation is its type, its default the default, and its metadata (:func:`option`) its help, group,
command-line spelling, form label and scope (command line and API, command line only, API only). From them:

- ``arguments``: the command line's ``add_argument`` calls, the options a command line gave, the words that give a
  value back (the command a report records) and "did you mean";
- ``signature``: the API functions' signatures and the Args of their docstrings (:func:`signature_from`);
- ``config_file``: the config file's keys and types, its starting file, and a report's ``options`` table;
- ``values``: checking and converting a value of a declared type, in words for an error line.

The validated internal objects (:class:`~hubaudit.audit.options.ScanOptions` and the audits' options) are built
from these values and take their defaults from here. Importing this package imports the standard library alone.
"""

from hubaudit.declarations.arguments import (
    add_declared_arguments,
    command_words,
    did_you_mean,
    given_options,
    spellings,
    with_defaults,
)
from hubaudit.declarations.config_file import config_template, read_config, read_options_table
from hubaudit.declarations.fields import (
    API_ONLY,
    CLI_AND_API,
    CLI_ONLY,
    MODEL_KINDS,
    REQUIRED,
    Declared,
    declared_options,
    default_of,
    option,
    options_by_name,
)
from hubaudit.declarations.scan import ScanSettings
from hubaudit.declarations.signature import declared_signature, signature_from
from hubaudit.declarations.verbs import (
    BotConfig,
    BotSettings,
    FleetSettings,
    LabelSettings,
    MembershipSettings,
    PoisonSettings,
    PublishSettings,
    TrainSettings,
)

SCAN_OPTIONS: dict[str, Declared] = options_by_name(ScanSettings)
"""The scan's options by name (the API keyword), in declaration order."""


def scan_default(name: str) -> object:
    """The declared default of scan option ``name`` (e.g. ``scan_default("confidence")`` is 0.95)."""
    return SCAN_OPTIONS[name].default


__all__ = [
    "API_ONLY",
    "CLI_AND_API",
    "CLI_ONLY",
    "MODEL_KINDS",
    "REQUIRED",
    "SCAN_OPTIONS",
    "BotConfig",
    "BotSettings",
    "Declared",
    "FleetSettings",
    "LabelSettings",
    "MembershipSettings",
    "PoisonSettings",
    "PublishSettings",
    "ScanSettings",
    "TrainSettings",
    "add_declared_arguments",
    "command_words",
    "config_template",
    "declared_options",
    "declared_signature",
    "default_of",
    "did_you_mean",
    "given_options",
    "option",
    "options_by_name",
    "read_config",
    "read_options_table",
    "scan_default",
    "signature_from",
    "spellings",
    "with_defaults",
]
