"""``compare``, ``assert_bit_exact`` and ``assert_codes_equal``: bit-level checks of a
candidate's output against refquant's, in the spirit of ``numpy.testing``."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..protocol import Format
from ..registry import format as _format
from ._report import evaluate, finish, format_report, side

__all__ = ["compare", "assert_bit_exact", "assert_codes_equal"]


def _output(obj: Any, inputs: Any, param: str) -> Any:
    if callable(obj):
        if inputs is None:
            raise TypeError(f"{param} is a function, so inputs must be given")
        return obj(inputs)
    return obj


def compare(candidate: Any, reference: Any, inputs: npt.ArrayLike | None = None, *,
            fmt: Format | str | None = None, examples: int = 10) -> dict[str, Any]:
    """Compare ``candidate`` with ``reference`` bit for bit and return the report as
    JSON-able data.

    ``candidate`` and ``reference`` are arrays of outputs, or functions called with
    ``inputs``. Each output is made comparable as ``refquant.testing`` documents
    (``fmt`` given: integer arrays are codes of ``fmt``, arrays of the peer type holding
    its codes are viewed as codes, float arrays must hold values of ``fmt``; no ``fmt``:
    float arrays compare by bit pattern, integers by value). Two elements match when
    their codes are equal, so NaN payloads and the sign of zero count; two bit-identical
    NaNs match.

    ``inputs`` (optional) are the inputs both outputs were computed from; with them,
    mismatches are classed as ties (the input lies exactly halfway between the two
    outputs) and overflow (the input is beyond the largest finite value).

    The report: ``count``, ``mismatches``, ``share`` (mismatches / count), ``by_class``
    (a count for each of ``CLASSES``: nan, sign_of_zero, overflow, ties, subnormal,
    other, the first that applies), ``max_distance`` (the largest distance between the
    two codes in code steps on the format's value order, ULPs for floats; None without
    a finite pair), ``examples`` (the first ``examples`` mismatches by index: index,
    input and its bits, both outputs as hex code and value, class, distance) and
    ``examples_by_class`` (the first ``examples`` of each class), ``format``. Values
    that are not finite are the strings "nan", "inf", "-inf". Raises ValueError when the
    shapes differ, TypeError for outputs that are neither codes nor floats."""
    f = None if fmt is None else _format(fmt)
    a = np.asarray(_output(candidate, inputs, "candidate"))
    e = np.asarray(_output(reference, inputs, "reference"))
    if a.shape != e.shape:
        raise ValueError(f"candidate has shape {a.shape} and reference {e.shape}; they must "
                         "be equal")
    x = None
    if inputs is not None:
        x = np.asarray(inputs)
        if x.shape != a.shape:
            raise ValueError(f"inputs have shape {x.shape} and the outputs {a.shape}; they "
                             "must be equal")
        x = x.reshape(-1)
    sa, se = side(a, f, "candidate"), side(e, f, "reference")
    raw = None if f is not None else e.dtype
    rep = finish(evaluate(x, sa, se, f, raw, examples), examples)
    if a.ndim > 1:
        for recs in [rep["examples"], *rep["examples_by_class"].values()]:
            for r in recs:   # a record may be in both lists: convert it once
                if isinstance(r["index"], int):
                    r["index"] = [int(i) for i in np.unravel_index(r["index"], a.shape)]
    rep["format"] = None if f is None else f.name
    return rep


def assert_bit_exact(actual: npt.ArrayLike, expected: npt.ArrayLike, *,
                     fmt: Format | str | None = None, inputs: npt.ArrayLike | None = None,
                     examples: int = 10) -> None:
    """Assert that ``actual`` and ``expected`` are bit-identical (codes or values, as
    ``compare`` reads them): equal NaN payloads and equal signs of zero pass, anything
    else fails. On failure raises AssertionError with the report as text: the count and
    share of mismatches, a count by class, the largest distance in code steps (ULPs),
    and the first ``examples`` mismatches with input, both outputs as hex codes and as
    values, class and distance. ``inputs`` (optional) let ties and overflow be told
    apart. Shape differences fail as AssertionError too."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        raise AssertionError(f"Not bit-exact: shapes differ, actual {a.shape}, expected "
                             f"{e.shape}")
    rep = compare(a, e, inputs, fmt=fmt, examples=examples)
    if rep["mismatches"]:
        raise AssertionError(format_report(rep))


def assert_codes_equal(actual: npt.ArrayLike, expected: npt.ArrayLike, *,
                       fmt: Format | str | None = None, inputs: npt.ArrayLike | None = None,
                       examples: int = 10) -> None:
    """Assert that two arrays of codes (integer bit patterns of ``fmt``) are equal,
    element by element; as ``assert_bit_exact``, for codes only: float arrays raise
    TypeError (use ``assert_bit_exact`` for values). With ``fmt`` the report shows each
    code's value and classes each mismatch; codes outside ``fmt`` raise ValueError."""
    for name, arr in (("actual", actual), ("expected", expected)):
        dt = np.asarray(arr).dtype
        if dt.kind not in "iu":
            raise TypeError(f"{name} must hold integer codes, got dtype {dt} (use "
                            "assert_bit_exact for values)")
    assert_bit_exact(actual, expected, fmt=fmt, inputs=inputs, examples=examples)
