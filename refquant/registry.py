"""The registry of named formats: families register their names, ``format(name)`` builds
the format, ``format_names()`` lists the fixed names.

A family is a package that registers its names when imported; ``FAMILIES`` lists them,
so a new family is one new package plus one line here.
"""
from __future__ import annotations

import importlib
import re
from typing import Callable

from . import _deprecate
from .protocol import Format

__all__ = ["FAMILIES", "register", "register_pattern", "format", "format_names"]

#: The family packages, imported (in this order) before a name is resolved.
FAMILIES = (
    "refquant.integer",
    "refquant.floats",
    "refquant.posit",
    "refquant.pow2",
)


def load_families() -> None:
    """Import every package of ``FAMILIES`` (each registers its names once)."""
    for name in FAMILIES:
        importlib.import_module(name)


_FIXED: dict[str, Callable[..., Format]] = {}
_PATTERNS: list[tuple[re.Pattern, Callable[..., Format], str]] = []


def register(name: str, factory: Callable[..., Format]) -> None:
    """Register a fixed format name (lower case) with a zero-argument factory."""
    key = name.lower()
    if key in _FIXED:
        raise ValueError(f"format name {name!r} is already registered")
    _FIXED[key] = factory


def register_pattern(regex: str, factory: Callable[..., Format], example: str) -> None:
    """Register a parameterised family: ``factory(match)`` builds the format for a name
    that fully matches ``regex`` (lower case). ``example`` is shown in error messages."""
    _PATTERNS.append((re.compile(regex), factory, example))


def format(name: str | Format) -> Format:  # noqa: A001 - the public name users expect
    """Resolve a format name (case-insensitive) to a Format instance.

    Fixed names (``refquant.format_names()``) are tried first, then the parameterised
    families (``int7``, ``uint3``, ``q3.4``, ...). A Format instance is returned as is.
    Raises ValueError naming the known names and patterns for an unknown name.
    """
    if isinstance(name, Format):
        return name
    load_families()
    if not isinstance(name, str):
        raise TypeError(f"format name must be a str or Format, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _FIXED:
        return _FIXED[key]()
    for regex, factory, _ in _PATTERNS:
        m = regex.fullmatch(key)
        if m:
            return factory(m)
    examples = ", ".join(ex for _, _, ex in _PATTERNS)
    raise ValueError(
        f"unknown format {name!r}; known names: {', '.join(sorted(_FIXED))}; "
        f"parameterised families: {examples}")


def format_names() -> list[str]:
    """Every registered fixed format name, sorted."""
    load_families()
    return sorted(_FIXED)


def formats() -> list[str]:
    """Deprecated name of ``format_names``."""
    _deprecate.warn("refquant.formats()", "refquant.format_names()")
    return format_names()


def as_format(name: str | Format) -> Format:
    """Deprecated name of ``format``."""
    _deprecate.warn("as_format", "refquant.format")
    return format(name)
