"""The registry of named formats: families register their names, ``format(name)`` builds
the format, ``format_names()`` lists the fixed names.

A family is a package that registers its names when imported; ``FAMILIES`` lists them,
so a new family is one new package plus one line here.
"""
from __future__ import annotations

import difflib
import importlib
import re
from typing import Any, Callable

from . import _deprecate
from ._interop import DTYPE_FORMATS, dtype_name, format_name_of_dtype
from .protocol import Format

__all__ = ["FAMILIES", "register", "register_pattern", "format", "format_names"]

#: The family packages, imported (in this order) before a name is resolved.
FAMILIES = (
    "refquant.integer",
    "refquant.floats",
    "refquant.posit",
    "refquant.pow2",
)


_loaded = False


def load_families() -> None:
    """Import every package of ``FAMILIES`` (each registers its names once); later calls
    return at once."""
    global _loaded
    if _loaded:
        return
    for name in FAMILIES:
        importlib.import_module(name)
    _loaded = True


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


def format(name: str | Format | Any) -> Format:  # noqa: A001 - the public name users expect
    """Resolve a format name (case-insensitive) or a dtype to a Format instance.

    Fixed names (``refquant.format_names()``) are tried first, then the parameterised
    families (``int7``, ``uint3``, ``q3.4``, ...), then dtype names ("float8_e4m3fn",
    "bfloat16", "torch.float8_e5m2"; ``DTYPE_FORMATS``). A dtype object names the format
    of its codes and values: an ml_dtypes type or NumPy dtype (``ml_dtypes.float8_e4m3fn``,
    ``np.dtype(ml_dtypes.bfloat16)``, ``np.float16``) or a PyTorch dtype
    (``torch.float8_e4m3fn``; torch itself is never imported). A Format instance is
    returned as is. An unknown name or dtype raises ValueError listing the closest
    registered names (difflib); another type raises TypeError.
    """
    if isinstance(name, Format):
        return name
    if type(name) is str:
        hit = _RESOLVED.get(name)
        if hit is not None:
            return hit
        fmt = _resolve(name)
        if len(_RESOLVED) < _RESOLVED_MAX:
            _RESOLVED[name] = fmt
        return fmt
    return _resolve(name)


# Formats are frozen dataclasses, so a name resolved once serves every later call
# (``quantize`` resolves its format on each call).
_RESOLVED: dict[str, Format] = {}
_RESOLVED_MAX = 4096


def _resolve(name: Any) -> Format:
    """``format`` without the cache of resolved names."""
    load_families()
    dt = dtype_name(name)
    if dt is not None:
        target = format_name_of_dtype(dt)
        if target is None:
            raise ValueError(f"no refquant format for dtype {dt!r}{_closest(dt)}")
        return _resolve(target)
    if not isinstance(name, str):
        raise TypeError(f"format name must be a str, a dtype or a Format, got "
                        f"{type(name).__name__}")
    key = name.strip().lower()
    if key in _FIXED:
        return _FIXED[key]()
    for regex, factory, _ in _PATTERNS:
        m = regex.fullmatch(key)
        if m:
            return factory(m)
    target = format_name_of_dtype(key)
    if target is not None:
        return _resolve(target)
    examples = ", ".join(ex for _, _, ex in _PATTERNS)
    near = _closest(key)
    if near:
        raise ValueError(f"unknown format {name!r}{near}; every name: "
                         f"refquant.format_names(); parameterised families: {examples}")
    raise ValueError(
        f"unknown format {name!r}; known names: {', '.join(sorted(_FIXED))}; "
        f"parameterised families: {examples}; dtype names: {', '.join(sorted(DTYPE_FORMATS))}")


def _closest(key: str) -> str:
    """'; closest registered names: a, b, c' (difflib over the fixed names and the dtype
    names), or '' when none is close."""
    key = key.strip().lower().rpartition(".")[2]
    pool = sorted(set(_FIXED) | set(DTYPE_FORMATS))
    near = difflib.get_close_matches(key, pool, n=5, cutoff=0.5)
    return f"; closest registered names: {', '.join(near)}" if near else ""


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
