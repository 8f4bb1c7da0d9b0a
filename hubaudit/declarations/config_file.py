"""Audit settings in a file: ``hubaudit scan --config audit.toml`` reads a TOML file keyed by the API's keyword
names (:func:`read_config`), ``hubaudit config init`` writes a commented starting file (:func:`config_template`),
and ``hubaudit scan --from-report`` reads a report's ``options`` table the same way (:func:`read_options_table`).

Every key must be a declared command-line option and every value of its declared type; anything else is one
:class:`~hubaudit.errors.InvalidConfigFile` line naming the file, the key and (in a TOML file) its line.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from collections.abc import Mapping
from pathlib import Path

from hubaudit.declarations.arguments import did_you_mean
from hubaudit.declarations.fields import ANY_KIND, Declared, declared_options, options_by_name
from hubaudit.declarations.values import WrongType, coerce, help_line, toml_value
from hubaudit.errors import CannotRead, InvalidConfigFile


def read_config(path: str | Path, settings: type, *, refused: Mapping[str, str] | None = None) -> dict[str, object]:
    """The options a TOML config file sets, by name, as the API takes them (lists as tuples).

    ``refused``: keys this command does not read, each with the reason the error line gives.

    Raises:
        CannotRead: the file cannot be read.
        InvalidConfigFile: not TOML, an unknown or refused key, or a value of the wrong type.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CannotRead(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CannotRead(path, getattr(err, "strerror", None) or "not UTF-8 text") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InvalidConfigFile(path, f"not valid TOML: {err}") from None
    return checked_options(table, settings, source=path, text=text, refused=refused)


def read_options_table(table: object, settings: type, *, source: str | Path) -> dict[str, object]:
    """The options a report's ``options`` table records (keys the API's names; API-only ones kept), as the API
    takes them; :class:`InvalidConfigFile` naming ``options.KEY`` for an unknown key or a value of the wrong type."""
    if not isinstance(table, Mapping):
        raise InvalidConfigFile(source, "its options table is not a JSON object")
    return checked_options(table, settings, source=source, text=None, api_keys=True, prefix="options.")


def checked_options(
    table: Mapping,
    settings: type,
    *,
    source: str | Path,
    text: str | None,
    refused: Mapping[str, str] | None = None,
    api_keys: bool = False,
    prefix: str = "",
) -> dict[str, object]:
    """``table``'s values checked against ``settings``' declarations (``text``: the file, to find a key's line)."""
    declared = options_by_name(settings)
    known = {name: option for name, option in declared.items() if (option.in_api if api_keys else option.on_cli)}
    refused = refused or {}
    values = {}
    for key, value in table.items():
        line = key_line(text, key) if text is not None else None
        option = known.get(key)
        if option is None or key in refused:
            raise InvalidConfigFile(
                source,
                _unknown_key(
                    f"{prefix}{key}",
                    declared.get(key),
                    refused.get(key),
                    [name for name in known if name not in refused],
                ),
                line,
            )
        try:
            values[key] = coerce(option.annotation, value)
        except WrongType as err:
            raise InvalidConfigFile(
                source, f"{prefix + key!r} must be {err.expected}, got {_shown(value)}", line
            ) from None
    return values


def _unknown_key(key: str, declared: Declared | None, reason: str | None, known: list[str]) -> str:
    if reason:
        return f"{key!r} {reason}"
    if declared is not None and not declared.on_cli:
        return f"{key!r} is a keyword of the Python API only" + (
            "; set HF_TOKEN instead" if key.endswith("token") else ""
        )
    return f"unknown key {key!r}" + did_you_mean(key.rpartition(".")[2], known, quoted=True)


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def key_line(text: str, key: str) -> int | None:
    """The line (from 1) of ``text`` where top-level ``key`` is set (``key = ...``, ``"key" = ...`` or ``[key]``)."""
    spelt = "|".join(re.escape(form) for form in (key, f'"{key}"', f"'{key}'"))
    pattern = re.compile(rf"^\s*\[?\s*(?:{spelt})\s*(?:=|\]|\.)")
    return next((number for number, line in enumerate(text.splitlines(), 1) if pattern.match(line)), None)


def config_template(settings: type, *, kind: str | None, command: str, version: str) -> str:
    """A commented starting config file for ``command`` (``hubaudit scan``): every command-line option of
    ``settings`` under its group, its help as a comment, at its default (an example where the default is None);
    those its declaration marks as a starter for ``kind`` (or for any kind) written out, the others commented out."""
    kind_words = f"a {kind} model's scan" if kind else "any scan"
    header = (
        f"Audit settings keyed by the keyword names of the Python API; a flag on the command line wins over this "
        f"file. The options {kind_words} usually sets are written out; the others are commented out at their "
        "default (or an example, where the default is none). Relative paths are read from the folder hubaudit "
        f"runs in. Written by hubaudit config init (hubaudit {version})."
    )
    lines = [f"# {command} --config THIS-FILE", "#", *(f"# {line}" for line in textwrap.wrap(header, 98))]
    group = None
    for declared in declared_options(settings):
        if not declared.on_cli:
            continue
        if declared.group != group:
            group = declared.group
            lines += ["", f"# --- {group} ---"]
        value = declared.shown_value
        if value is None:
            raise ValueError(f"option {declared.name} declares neither a default nor an example")
        lines += [f"# {line}" for line in textwrap.wrap(help_line(declared), 98, break_on_hyphens=False)]
        starter = ANY_KIND in declared.starter or (kind is not None and kind in declared.starter)
        lines.append(f"{'' if starter else '# '}{declared.name} = {toml_value(value)}")
    return "\n".join(lines) + "\n"
