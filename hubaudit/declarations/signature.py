"""A Python API function whose parameters are declared options: :func:`signature_from` gives it the declared
signature (what ``inspect.signature`` and ``help()`` show), an Args section built from the declared help, and
binds each call to that signature, so that a keyword it does not declare is a ``TypeError`` as in any function."""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from typing import TypeVar

from hubaudit.declarations.fields import declared_options
from hubaudit.declarations.values import accepts_none, help_line

Function = TypeVar("Function", bound=Callable)

_SECTION = re.compile(r"^(Returns|Raises|Example|Examples|Yields|Note):", re.MULTILINE)


def declared_signature(
    settings: type, *, returns: object = inspect.Signature.empty, more_keywords: str | None = None
) -> inspect.Signature:
    """The API signature of ``settings``' options: its positional ones first, then keyword-only ones with their
    declared defaults and types (``more_keywords``: the name of a trailing ``**`` parameter)."""
    parameters = []
    for declared in declared_options(settings):
        if not declared.in_api:
            continue
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if declared.api_positional else inspect.Parameter.KEYWORD_ONLY
        default = inspect.Parameter.empty if declared.required else declared.default
        parameters.append(inspect.Parameter(declared.name, kind, default=default, annotation=declared.annotation))
    if more_keywords:
        parameters.append(inspect.Parameter(more_keywords, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters, return_annotation=returns)


def api_values(settings: type, function: str, arguments: Mapping[str, object]) -> dict[str, object]:
    """Every API option of ``settings`` by name: its value in ``arguments``, else its declared default (None given
    for an option whose type takes no None also means its default). A keyword ``settings`` does not declare is a
    ``TypeError`` naming ``function``, as Python's own."""
    options = {declared.name: declared for declared in declared_options(settings) if declared.in_api}
    unknown = [name for name in arguments if name not in options]
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}")
    values = {}
    for name, declared in options.items():
        value = arguments.get(name, declared.default)
        values[name] = declared.default if value is None and not accepts_none(declared.annotation) else value
    return values


def args_section(settings: type, *, more: str = "") -> str:
    """The ``Args:`` section of a docstring: one entry per API option, its help and default (``more``: a last entry)."""
    entries = [
        f"{declared.name}: {help_line(declared)}." for declared in declared_options(settings) if declared.in_api
    ]
    lines = ["Args:"]
    for entry in [*entries, *([more] if more else [])]:
        lines += textwrap.wrap(entry, 116, initial_indent="    ", subsequent_indent="        ", break_on_hyphens=False)
    return "\n".join(lines)


def signature_from(
    settings: type, *, more_keywords: str | None = None, more_help: str = ""
) -> Callable[[Function], Function]:
    """Decorate an API function whose options ``settings`` declares.

    The function names its parameters without defaults (or takes ``**options``); the wrapper it becomes has the
    declared signature, binds each call to it (an unknown keyword or a missing required option is a ``TypeError``),
    and calls the function with every parameter it names (a declared default where none was given) and, in its
    ``**`` parameter, the other keywords the caller gave. Its docstring gets the derived ``Args:`` section before
    the first ``Returns:``/``Raises:``/``Example:`` section.
    """

    def decorate(function: Function) -> Function:
        own = inspect.signature(function).parameters
        named = [name for name, parameter in own.items() if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
        declared = {option.name: option for option in declared_options(settings) if option.in_api}
        undeclared = [name for name in named if name not in declared]
        if undeclared:
            raise TypeError(f"{function.__name__} names parameters {settings.__name__} does not declare: {undeclared}")
        signature = declared_signature(
            settings, returns=inspect.signature(function).return_annotation, more_keywords=more_keywords
        )

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            given = signature.bind(*args, **kwargs).arguments
            more = given.pop(more_keywords, {}) if more_keywords else {}
            filled = {name: given.pop(name) if name in given else declared[name].default for name in named}
            return function(**filled, **given, **more)

        wrapper.__signature__ = signature
        wrapper.__doc__ = _with_args(function.__doc__ or "", args_section(settings, more=more_help))
        return wrapper

    return decorate


def _with_args(doc: str, args: str) -> str:
    doc = inspect.cleandoc(doc)
    section = _SECTION.search(doc)
    if section is None:
        return f"{doc}\n\n{args}\n"
    return f"{doc[: section.start()].rstrip()}\n\n{args}\n\n{doc[section.start() :]}\n"
