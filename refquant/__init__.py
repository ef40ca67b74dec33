"""refquant: the bit-exact reference for neural-network number formats, sparse formats
and the hardware that computes with them.

The face of the package: policies (``Rounding``, ``Overflow``), the format protocol and
registry (``format``, ``format_names``), one package per number family
(``refquant.integer``, ``refquant.floats``, ``refquant.posit``, ``refquant.pow2``),
scaling (``quantize`` -> ``QTensor``, ``refquant.calibrate``), ``refquant.sparse`` and,
loaded on first use, the simulators ``refquant.sim`` and the tools built on the rest:
``refquant.testing`` (assertions and sweeps for testing other kernels against refquant),
``refquant.hw`` (RTL test benches and vectors), ``refquant.transformer`` (an
integer-only encoder layer), ``refquant.mixed`` (mixed-precision selection) and
``refquant.onnx`` (QDQ export). Nothing compiles at import:
kernels compile on first use and cache to disk.
"""
from __future__ import annotations

import importlib
from typing import Any

from .modes import Overflow, Rounding
from .protocol import Format
from .registry import format, format_names
from .integer import FixedFormat, IntFormat
from .floats import BlockFormat, FloatFormat, p3109, pack, unpack
from .posit import PositFormat, TentFormat, quire_dot, quire_matmul
from .pow2 import (APoTFormat, LogFormat, NHotFormat, PWLQFormat, apot_levels, log_quantize,
                   pwlq_breakpoint, shift_dot, sparq, term_counts, term_quantize)
from .qtensor import QTensor
from ._quantize import quantize
from . import calibrate, data, integer, floats, intops, posit, pow2, sparse
from . import _deprecate

__version__ = "0.1.0"

__all__ = [
    # policies
    "Rounding", "Overflow",
    # protocol and registry
    "Format", "format", "format_names",
    # families
    "integer", "intops", "IntFormat", "FixedFormat",
    "floats", "FloatFormat", "p3109", "BlockFormat", "pack", "unpack",
    "posit", "PositFormat", "TentFormat", "quire_dot", "quire_matmul",
    "pow2", "LogFormat", "APoTFormat", "NHotFormat", "PWLQFormat", "log_quantize",
    "apot_levels", "term_quantize", "term_counts", "sparq", "pwlq_breakpoint", "shift_dot",
    # scaling
    "quantize", "QTensor", "calibrate",
    # above the formats
    "sparse", "sim", "data",
]

_LAZY = {"sim": "refquant.sim", "cli": "refquant.cli", "kernels": "refquant.kernels",
         "onnx": "refquant.onnx", "testing": "refquant.testing", "hw": "refquant.hw",
         "transformer": "refquant.transformer", "mixed": "refquant.mixed"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    if name == "formats":
        _deprecate.warn("refquant.formats()", "refquant.format_names()")
        return format_names
    raise AttributeError(f"module 'refquant' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
