"""Values of declared options, read off their annotation: checking a value from a file (TOML or a report's JSON)
against the type, converting it to what the API takes, writing it back as JSON or TOML, and describing the type in
words for an error line.

The annotations used are ``bool``, ``int``, ``float``, ``str``, ``Path``, ``Literal[...]``, ``Sequence[X]``,
``Mapping[K, V]`` and unions of them with ``None``.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path

from hubaudit.declarations.fields import Declared


class WrongType(ValueError):
    """A value that is not of its option's type; ``expected`` says the type in words."""

    def __init__(self, expected: str):
        self.expected = expected
        super().__init__(f"expected {expected}")


def alternatives(annotation: object) -> tuple:
    """The members of a union (``int | None`` -> ``(int, NoneType)``), or the annotation alone."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def accepts_none(annotation: object) -> bool:
    return type(None) in alternatives(annotation)


def is_sequence(annotation: object) -> bool:
    return typing.get_origin(annotation) in (Sequence, list, tuple)


def is_mapping(annotation: object) -> bool:
    return typing.get_origin(annotation) in (Mapping, dict)


def item_type(annotation: object) -> object:
    """``Sequence[X]`` -> ``X``; ``tuple[X, ...]`` -> ``X``."""
    return typing.get_args(annotation)[0]


def coerce(annotation: object, value: object) -> object:
    """``value`` (as TOML or JSON gives it) as the API takes it: a list becomes a tuple, a table's keys the key type
    (``"0"`` -> ``0``), an int a float where a number is asked; raises :class:`WrongType`."""
    for member in alternatives(annotation):
        try:
            return _coerce_member(member, value)
        except WrongType:
            continue
    raise WrongType(describe(annotation))


def canonical(annotation: object, value: object) -> object:
    """``value`` as :func:`coerce` gives it where it can (an int where a float is asked becomes a float, a list a
    tuple), else unchanged: what an API caller passed, before the options' own checks."""
    try:
        return coerce(annotation, value)
    except WrongType:
        return value


def _coerce_member(member: object, value: object) -> object:
    origin = typing.get_origin(member)
    if member is type(None):
        if value is None:
            return None
    elif member is bool:
        if isinstance(value, bool):
            return value
    elif member is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif member is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif member in (str, Path):
        if isinstance(value, (str, Path)):
            return str(value)
    elif origin is typing.Literal:
        if any(value == choice and type(value) is type(choice) for choice in typing.get_args(member)):
            return value
    elif is_sequence(member):
        if isinstance(value, (list, tuple)):
            return tuple(coerce(item_type(member), item) for item in value)
    elif is_mapping(member):
        if isinstance(value, Mapping):
            key_type, value_type = typing.get_args(member)
            return {_mapping_key(key_type, key): coerce(value_type, item) for key, item in value.items()}
    raise WrongType(describe(member))


def _mapping_key(key_type: object, key: object) -> object:
    """A table's key (always a string in TOML and JSON) as ``key_type``: ``"2"`` -> ``2`` for ``int``."""
    if key_type is int and isinstance(key, str) and re.fullmatch(r"-?\d+", key.strip()):
        return int(key)
    return coerce(key_type, key)


def describe(annotation: object, *, plural: bool = False) -> str:
    """The type in words: ``int | None`` -> ``"an integer"``, ``Sequence[str]`` -> ``"a list of strings"``."""
    members = [member for member in alternatives(annotation) if member is not type(None)]
    if not members:
        return "null"
    if len(members) > 1:
        return " or ".join(describe(member, plural=plural) for member in members)
    (member,) = members
    origin = typing.get_origin(member)
    words = {
        bool: ("true or false", "true or false"),
        int: ("an integer", "integers"),
        float: ("a number", "numbers"),
        str: ("a string", "strings"),
        Path: ("a path (a string)", "paths (strings)"),
    }
    if member in words:
        return words[member][plural]
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(choice) for choice in typing.get_args(member))
    if is_sequence(member):
        return f"a list of {describe(item_type(member), plural=True)}"
    if is_mapping(member):
        key_type, value_type = typing.get_args(member)
        return f"a table of {describe(key_type, plural=True)} to {describe(value_type, plural=True)}"
    return getattr(member, "__name__", str(member))


def table_value(value: object) -> object:
    """``value`` as the report's ``options`` table holds it (JSON): paths as strings, tuples as lists, table keys
    as strings; :func:`coerce` reads it back."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): table_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [table_value(item) for item in value]
    return value


def toml_value(value: object) -> str:
    """``value`` written as TOML (a basic string, an array, an inline table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        items = [f"{_toml_key(str(key))} = {toml_value(item)}" for key, item in value.items()]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML spelling of {value!r}")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def default_text(declared: Declared) -> str:
    """How a help line states the default (``64``, ``0.95``, ``label``); empty where the help says it in words
    (None, False, a flag that is on by default, a required option)."""
    value = declared.default
    if declared.required or value is None or isinstance(value, bool):
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def help_line(declared: Declared) -> str:
    """The option's help with its default: ``samples per condition (class or prompt) (default 64)``."""
    shown = default_text(declared)
    return f"{declared.help} (default {shown})" if shown else declared.help
