"""The command line's form of declared options: ``add_argument`` calls derived from each field (its type gives the
action and the conversion, its metadata the flags, help, group and metavar), the options a command line gave, the
words that give a value back (the command a report records), and "did you mean" among the declared spellings.

Every argument's default is ``argparse.SUPPRESS``, so a namespace holds the options given and nothing else: a config
file or a report fills the rest, and the declared defaults after them.
"""

from __future__ import annotations

import argparse
import difflib
import typing
from collections.abc import Iterable, Mapping

from hubaudit.declarations.fields import Declared, declared_options
from hubaudit.declarations.values import alternatives, help_line, is_mapping, is_sequence, item_type


def add_declared_arguments(
    parser: argparse.ArgumentParser,
    settings: type,
    *,
    skip: Iterable[str] = (),
    helps: Mapping[str, str] | None = None,
    groups: dict | None = None,
) -> dict:
    """Add an argument to ``parser`` for every command-line option of ``settings`` (but ``skip``), each in the
    argument group its declaration names (created in order of first use, or taken from ``groups``; an empty name:
    the parser's own options); ``helps``: other help texts by name. Returns the groups by name."""
    groups, skip = ({} if groups is None else groups), set(skip)
    exclusive: dict[tuple[str, str], argparse._MutuallyExclusiveGroup] = {}
    for declared in declared_options(settings):
        if not declared.on_cli or declared.name in skip:
            continue
        if declared.group not in groups:
            groups[declared.group] = parser.add_argument_group(declared.group) if declared.group else parser
        group = groups[declared.group]
        if declared.exclusive:
            key = (declared.group, declared.exclusive)
            group = exclusive.get(key) or exclusive.setdefault(key, group.add_mutually_exclusive_group())
        add_argument(group, declared, help=(helps or {}).get(declared.name))
    return groups


def add_argument(group, declared: Declared, *, help: str | None = None) -> argparse.Action:
    """The ``add_argument`` call of one declared option."""
    keywords = {"help": _escaped(help or help_line(declared)), "default": argparse.SUPPRESS, **argument_form(declared)}
    if declared.positional:
        return group.add_argument(declared.name, **keywords)
    if declared.required:
        keywords["required"] = True
    return group.add_argument(*declared.flags, dest=declared.name, **keywords)


def argument_form(declared: Declared) -> dict:
    """The action, conversion and metavar a declared type gives on the command line: a bool is a switch (``--no-X``
    when on by default), a sequence is repeatable, a ``Literal`` has choices; the first type of a union that a word
    can spell wins (a label map is given as text)."""
    spelt = next(
        member for member in alternatives(declared.annotation) if member is not type(None) and not is_mapping(member)
    )
    form: dict = {}
    if spelt is bool and not declared.argparse:
        form["action"] = "store_false" if declared.default is True else "store_true"
    else:
        many = is_sequence(spelt)
        scalar = item_type(spelt) if many else spelt
        if many:
            form["action"] = "append"
        if typing.get_origin(scalar) is typing.Literal:
            form["choices"] = list(typing.get_args(scalar))
        elif scalar in (int, float):
            form["type"] = scalar
        if declared.metavar:
            form["metavar"] = declared.metavar
    return {**form, **declared.argparse}


def with_defaults(settings: type, given: Mapping[str, object]) -> dict[str, object]:
    """Every option of ``settings`` by name: ``given``'s value, else the declared default (a required option must be
    given)."""
    return {declared.name: given.get(declared.name, declared.default) for declared in declared_options(settings)}


def given_options(args: argparse.Namespace, settings: type) -> dict[str, object]:
    """The options of ``settings`` the command line gave (by name; a repeated flag's values as a tuple)."""
    given = {}
    for declared in declared_options(settings):
        if declared.on_cli and hasattr(args, declared.name):
            value = getattr(args, declared.name)
            given[declared.name] = tuple(value) if isinstance(value, list) else value
    return given


def command_words(settings: type, values: Mapping[str, object], *, always: Iterable[str] = ()) -> list[str]:
    """The command-line words that give ``values`` (by option name): each option that differs from its default (and
    those named in ``always``), in declaration order; a positional option's value first."""
    always = set(always)
    positional, words = [], []
    for declared in declared_options(settings):
        if not declared.on_cli or declared.name not in values:
            continue
        value = values[declared.name]
        if value is None or (declared.name not in always and _same(value, declared.default)):
            continue
        if declared.positional:
            positional.append(str(value))
        else:
            words += value_words(declared, value)
    return positional + words


def value_words(declared: Declared, value: object) -> list[str]:
    """The words that give one option its value: ``["--class", "0", "--class", "1"]``, ``["--no-probe"]``."""
    flag = declared.flags[0]
    if declared.to_words is not None:
        return declared.to_words(value)
    if isinstance(value, bool):
        return [flag]
    if isinstance(value, (list, tuple)):
        return [word for item in value for word in (flag, str(item))]
    return [flag, str(value)]


def _same(value: object, default: object) -> bool:
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) == list(default)
    return value == default


def spellings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string ``parser`` knows (``--attribute``, ``-n``, ...)."""
    return [spelling for action in parser._actions for spelling in action.option_strings]


def did_you_mean(word: str, known: Iterable[str], *, quoted: bool = False) -> str:
    """`` (did you mean --attribute?)`` for ``--atribute`` among ``known`` (``quoted``: ``'attributes'``), or nothing
    when none is close."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)" if quoted else f" (did you mean {close[0]}?)"


def _escaped(text: str) -> str:
    """Help text with ``%`` doubled: argparse formats help with ``%``."""
    return text.replace("%", "%%")
