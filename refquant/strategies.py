"""Hypothesis strategies for property tests of code that computes with refquant's
formats: every code of a format, values biased to the places conversions get wrong
(midpoints, overflow edges, subnormals, specials), QTensors with scales and zero
points, N:M-sparse and CSR matrices, and GEMM operands that overflow an accumulator.

This module imports Hypothesis (the ``testing`` extra); ``import refquant`` and
``import refquant.testing`` do not import it. Each strategy's docstring states exactly
what it draws. Example::

    from hypothesis import given
    import refquant.strategies as rqst

    @given(rqst.values("e4m3fn"))
    def test_my_cast(x):
        assert my_cast(x) == refquant.format("e4m3fn").encode(x)
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Sequence, cast

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._quantize import quantize
from .floats import FloatFormat
from .posit import TaperedFormat
from .protocol import Format
from .qtensor import QTensor
from .registry import format as _format
from .sparse import CSR

__all__ = ["codes", "code_arrays", "adjacent_values", "ties", "values", "midpoints",
           "overflow_edges", "subnormals", "specials", "qtensors", "nm_sparse",
           "csr_matrices", "gemm_overflow_operands"]


def _fmt(fmt: Format | str) -> Format:
    return _format(fmt)


def _code_range(f: Format) -> tuple[int, int]:
    if f.is_integer:
        return int(f.min), int(f.max)
    return 0, (1 << int(f.bits)) - 1


def codes(fmt: Format | str) -> st.SearchStrategy[int]:
    """Every code of ``fmt`` as a Python int, each possible: integers in [0, 2^bits)
    (integer formats: their values, [min, max]); shrinks toward the lowest code. Used
    with ``@settings(max_examples=2**bits)`` it does not enumerate: for every code use
    ``fmt.codes()``."""
    lo, hi = _code_range(_fmt(fmt))
    return st.integers(lo, hi)


def code_arrays(fmt: Format | str, shape: int | tuple[int, ...] | st.SearchStrategy[Any] = (
        hnp.array_shapes(max_dims=2, max_side=16))) -> st.SearchStrategy[np.ndarray]:
    """Arrays of codes of ``fmt`` with dtype ``fmt.code_dtype`` (integer formats: their
    integer dtype) and the given shape (default: 1-2 dimensions, sides up to 16), each
    element drawn by ``codes(fmt)``."""
    f = _fmt(fmt)
    return hnp.arrays(f.code_dtype, shape, elements=codes(f))


def adjacent_values(fmt: Format | str) -> st.SearchStrategy[tuple[float, float]]:
    """Pairs (lo, hi) of adjacent finite values of ``fmt`` (lo < hi, nothing of the
    format between them), as float64, over the whole range including the pair around
    zero. Float formats up to 16 bits and other non-tapered formats: any neighbours of
    ``fmt.values()``; wider float formats: neighbouring magnitude codes m, m + 1 with a
    drawn sign; posit-like formats: neighbouring codes in two's-complement order;
    integer formats: (k, k + 1)."""
    return ties(fmt).map(lambda t: (t[0], t[2]))


@functools.lru_cache(maxsize=64)
def _values(f: Format) -> np.ndarray:
    return f.values()


def _tie_format(f: TaperedFormat) -> TaperedFormat | None:
    if int(f.bits) >= 32:
        return None
    wide: Any = dataclasses.replace(cast(Any, f), bits=int(f.bits) + 1)
    return cast(TaperedFormat, wide)


def ties(fmt: Format | str) -> st.SearchStrategy[tuple[float, float, float]]:
    """Triples (lo, tie, hi): two adjacent values of ``fmt`` (``adjacent_values``) and
    the point between them where round-to-nearest changes from lo to hi. Float and
    integer formats (and the other linear-scale formats): the midpoint (lo + hi) / 2.
    Posit-like formats: the value of the (bits + 1)-bit code "lo's code, then a 1" (the
    Posit Standard's rounding rule), for every pair but the two with zero (no non-zero
    value rounds to zero); for 32-bit ones, whose tie code has 33 bits, only
    the pairs whose midpoint is that tie are drawn (every pair with a fraction bit).
    Exact in float64 for formats up to 32 bits."""
    f = _fmt(fmt)
    if isinstance(f, TaperedFormat):
        n = int(f.bits)
        maxpos = (1 << (n - 1)) - 1
        wide = _tie_format(f)

        def triple(s: int) -> tuple[float, float, float]:
            c = np.array([s % (1 << n), (s + 1) % (1 << n)], dtype=np.int64)
            lo, hi = (float(v) for v in f.decode(c.astype(f.code_dtype)))
            if wide is not None:
                t = float(wide.decode(np.array([(int(c[0]) << 1) | 1]).astype(
                    wide.code_dtype))[0])
            else:
                t = lo / 2 + hi / 2
            return lo, t, hi

        # (pairs with zero have no tie: posits round every non-zero away from 0)
        out = st.integers(-maxpos, maxpos - 1).filter(lambda s: s not in (-1, 0)).map(triple)
        if wide is None:
            out = out.filter(lambda t: f.quantize(np.array(
                [np.nextafter(t[1], -math.inf), np.nextafter(t[1], math.inf)])).tolist()
                == [t[0], t[2]])
        return out
    if f.is_integer:
        lo, hi = int(f.min), int(f.max)
        return st.integers(lo, hi - 1).map(lambda k: (float(k), k + 0.5, float(k + 1)))
    if f.bits <= 16:
        v = _values(f)
        return st.integers(0, v.size - 2).map(
            lambda i: (float(v[i]), float(v[i]) / 2 + float(v[i + 1]) / 2, float(v[i + 1])))
    if not isinstance(f, FloatFormat):
        raise ValueError(f"ties: {f.name} has {f.bits} bits and no code order")
    top = int(np.asarray(f.encode(np.array([f.max]))).reshape(-1)[0])

    def pair(m: int, neg: bool) -> tuple[float, float, float]:
        a, b = (float(v) for v in f.decode(np.array([m, m + 1], dtype=f.code_dtype)))
        if neg and f.signed:
            a, b = -b, -a
        return a, a / 2 + b / 2, b
    return st.builds(pair, st.integers(0, top - 1), st.booleans())


def midpoints(fmt: Format | str, off_by_one_ulp: bool = True) -> st.SearchStrategy[float]:
    """The tie between two adjacent values of ``fmt`` (the middle of ``ties``: the
    midpoint for float and integer formats, the Posit Standard's tie for posit-like
    ones); with ``off_by_one_ulp`` also the float64 numbers just below and just above
    it (``np.nextafter``), which round to the lower and the upper value."""
    mid = ties(fmt).map(lambda t: t[1])
    if not off_by_one_ulp:
        return mid
    return st.builds(lambda m, k: float(np.nextafter(m, math.inf * k)) if k else m,
                     mid, st.sampled_from([0, -1, 1]))


def overflow_edges(fmt: Format | str) -> st.SearchStrategy[float]:
    """Inputs at the edge of ``fmt``'s range, with either sign (signed formats): the
    largest finite value ``max``; the overflow threshold of round-to-nearest (max plus
    half the spacing of the top binade, for floats; max + 0.5 for integer formats) and
    the float64 numbers next to it on either side (posit-like formats, which saturate:
    max and the float64 just above it); 2 * max; and the largest float64."""
    f = _fmt(fmt)
    mx = float(f.max)
    if f.is_integer:
        step = 1.0
    elif isinstance(f, FloatFormat):
        m = int(f.man_bits)
        step = mx - float(np.asarray(f.decode(np.asarray(f.encode(np.array([mx]))) - 1))
                          .reshape(-1)[0]) if m > 0 else mx
    else:
        step = 0.0   # tapered formats saturate: the edge is max itself
    edge = mx + step / 2
    pts = sorted({mx, edge, float(np.nextafter(edge, math.inf)), 2 * mx,
                  float(np.finfo(np.float64).max)}
                 | ({float(np.nextafter(edge, -math.inf))} if step else set()))
    signs = [1.0, -1.0] if float(f.min) < 0 else [1.0]
    return st.builds(lambda v, s: v * s, st.sampled_from(pts), st.sampled_from(signs))


def subnormals(fmt: Format | str) -> st.SearchStrategy[float]:
    """For a float format with subnormals: its subnormal values (k * smallest_subnormal,
    0 < k < 2^man_bits), the midpoints between them, and any float64 of magnitude below
    smallest_normal, with either sign for signed formats. Other formats: ValueError."""
    f = _fmt(fmt)
    if not (isinstance(f, FloatFormat) and f.subnormals and f.man_bits > 0):
        raise ValueError(f"subnormals: {f.name} has no subnormal values")
    tiny, sub = float(f.smallest_normal), float(f.smallest_subnormal)
    n = 1 << int(f.man_bits)
    exact = st.integers(1, n - 1).map(lambda k: k * sub)
    half = st.integers(1, 2 * n - 1).map(lambda k: k * sub / 2)
    anyv = st.floats(min_value=0.0, max_value=tiny, exclude_max=True, allow_subnormal=True)
    neg = float(f.min) < 0
    return st.builds(lambda v, s: -v if s and neg else v, st.one_of(exact, half, anyv),
                     st.booleans())


def specials(fmt: Format | str | None = None) -> st.SearchStrategy[float]:
    """NaN, +inf, -inf, +0.0 and -0.0 (each format documents what they become; formats
    without NaN raise for NaN inputs). ``fmt`` is accepted so that every value strategy
    is called alike; the draws do not depend on it."""
    return st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0])


def values(fmt: Format | str, *, allow_nan: bool = True,
           allow_infinity: bool = True) -> st.SearchStrategy[float]:
    """Real inputs for a conversion to ``fmt``, biased to where conversions differ: one
    of the format's own values (exact round trips), ``midpoints`` (ties and the float64
    numbers next to them), ``overflow_edges``, ``subnormals`` (float formats that have
    them), ``specials`` (less NaN / infinities when disallowed) and any finite float64.
    Python floats (float64)."""
    f = _fmt(fmt)
    exact = adjacent_values(f).map(lambda p: p[0])
    parts = [exact, midpoints(f), overflow_edges(f),
             st.floats(allow_nan=False, allow_infinity=False)]
    if isinstance(f, FloatFormat) and f.subnormals and f.man_bits > 0:
        parts.append(subnormals(f))
    sp = [v for v in (math.nan, math.inf, -math.inf, 0.0, -0.0)
          if (allow_nan or not math.isnan(v)) and (allow_infinity or not math.isinf(v))]
    parts.append(st.sampled_from(sp))
    return st.one_of(*parts)


_QFORMATS = ("int8", "uint8", "int4", "uint4", "e4m3fn", "e5m2", "e2m1")


@st.composite
def qtensors(draw: st.DrawFn, formats: Sequence[Format | str] = _QFORMATS,
             granularities: Sequence[str] = ("tensor", "axis", "block"),
             max_side: int = 8) -> QTensor:
    """A ``QTensor`` made by ``refquant.quantize`` from a 2-D float64 tensor (sides 1 to
    ``max_side``; elements 0 or of magnitude 1e-3 to 1e4, at least one non-zero): format
    from ``formats``, granularity from ``granularities`` (per axis: axis 0; per block:
    axis 1 and a block size 1 to the side), min-max calibration; integer formats are
    quantized asymmetrically, so scales and zero points both vary (float formats have
    zero point 0)."""
    f = _fmt(draw(st.sampled_from(list(formats))))
    shape = draw(st.tuples(st.integers(1, max_side), st.integers(1, max_side)))
    mag = st.builds(lambda v, sgn: v * sgn, st.floats(1e-3, 1e4), st.sampled_from([1.0, -1.0]))
    x = draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.just(0.0), mag)))
    if not np.any(x):
        x.flat[0] = 1.0
    g = draw(st.sampled_from(list(granularities)))
    kw: dict[str, Any] = {}
    if g == "axis":
        kw["axis"] = 0
    elif g == "block":
        kw["axis"] = 1
        kw["block_size"] = draw(st.integers(1, shape[1]))
    if f.is_integer:
        kw["symmetric"] = False
    return quantize(x, f, granularity=g, **kw)


@st.composite
def nm_sparse(draw: st.DrawFn, n: int = 2, m: int = 4, max_rows: int = 8,
              max_groups: int = 4, dtype: Any = np.float32) -> np.ndarray:
    """A dense 2-D array that is N:M sparse along its rows: rows 1 to ``max_rows``,
    columns m times 1 to ``max_groups``; in every group of ``m`` consecutive elements of
    a row at most ``n`` are non-zero (the number of non-zeros, 0 to n, and their
    positions drawn per group); the non-zeros are non-zero finite values of ``dtype``
    (integers in [-127, 127] for integer dtypes). ``refquant.sparse.is_nm(w, n, m)``
    holds for every draw."""
    if not 0 <= n <= m:
        raise ValueError(f"nm_sparse needs 0 <= n <= m, got n={n}, m={m}")
    dt = np.dtype(dtype)
    rows = draw(st.integers(1, max_rows))
    groups = draw(st.integers(1, max_groups))
    w = np.zeros((rows, groups * m), dtype=dt)
    nz: st.SearchStrategy[Any]
    if dt.kind in "iu":
        lo = -127 if dt.kind == "i" else 1
        nz = st.integers(lo, 127).filter(lambda v: v != 0)
    else:
        nz = st.floats(-1e3, 1e3, allow_nan=False, width=min(8 * dt.itemsize, 64)).filter(
            lambda v: v != 0)
    for r in range(rows):
        for g in range(groups):
            k = draw(st.integers(0, n))
            pos = draw(st.lists(st.integers(0, m - 1), min_size=k, max_size=k, unique=True))
            for p in pos:
                w[r, g * m + p] = draw(nz)
    return w


@st.composite
def csr_matrices(draw: st.DrawFn, max_rows: int = 8, max_cols: int = 8,
                 dtype: Any = np.float64, density: float | None = None) -> CSR:
    """A ``refquant.sparse.CSR`` matrix: shape (1..max_rows) x (1..max_cols), each
    entry stored with probability ``density`` (None: drawn per matrix), stored values
    non-zero finite values of ``dtype`` (integers in [-127, 127] for integer dtypes);
    column indices strictly increasing within each row (scipy's canonical layout), empty
    rows allowed."""
    dt = np.dtype(dtype)
    rows = draw(st.integers(1, max_rows))
    cols = draw(st.integers(1, max_cols))
    mask = draw(hnp.arrays(np.bool_, (rows, cols)))
    if density is not None:
        u = draw(hnp.arrays(np.float64, (rows, cols), elements=st.floats(0, 1)))
        mask = u < density
    el: st.SearchStrategy[Any]
    if dt.kind in "iu":
        el = st.integers(-127 if dt.kind == "i" else 1, 127).filter(lambda v: v != 0)
    else:
        el = st.floats(-1e3, 1e3, allow_nan=False, width=min(8 * dt.itemsize, 64)).filter(
            lambda v: v != 0)
    dense = draw(hnp.arrays(dt, (rows, cols), elements=el))
    dense = np.where(mask, dense, 0).astype(dt)
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    indices = np.nonzero(mask)[1].astype(np.int64)
    return CSR(dense[mask], indices, indptr, (rows, cols))


@st.composite
def gemm_overflow_operands(draw: st.DrawFn, acc_bits: int = 16,
                           fmt: Format | str = "int8", max_dim: int = 4,
                           max_k: int = 1 << 16) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Integer GEMM operands (A of shape M x K, B of K x N, in ``fmt``'s code dtype)
    whose exact product has an entry outside the signed ``acc_bits``-bit range
    [-2^(acc_bits-1), 2^(acc_bits-1) - 1], with the (row, column) of one such entry.
    M, N in 1..max_dim. K is drawn from kmin to 2 * kmin, kmin being the fewest products
    of the extreme pair that leave the range (error if kmin > ``max_k``). Row i of A
    and column j of B hold that extreme pair (min * min for a positive overflow, min * max
    for a negative one, the sign drawn) in kmin positions and pairs of the same product
    sign elsewhere, so the exact entry (i, j) overflows; all other entries are any codes
    of ``fmt``. Returns (A, B, (i, j))."""
    f = _fmt(fmt)
    if not f.is_integer or float(f.min) >= 0:
        raise ValueError(f"gemm_overflow_operands needs a signed integer format, got {f.name}")
    lo, hi = int(f.min), int(f.max)
    top = 1 << (acc_bits - 1)
    positive = draw(st.booleans())
    prod = lo * lo if positive else lo * hi
    limit = top - 1 if positive else -top
    kmin = abs(limit) // abs(prod) + 1
    if kmin > max_k:
        raise ValueError(f"overflowing a {acc_bits}-bit accumulator with {f.name} needs "
                         f"K >= {kmin} > max_k = {max_k}")
    k = draw(st.integers(kmin, 2 * kmin))
    mdim, ndim = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.integers(lo, hi + 1, size=(mdim, k))
    b = rng.integers(lo, hi + 1, size=(k, ndim))
    i, j = draw(st.integers(0, mdim - 1)), draw(st.integers(0, ndim - 1))
    ext = rng.permutation(k)[:kmin]
    a[i, ext] = lo
    b[ext, j] = lo if positive else hi
    rest = np.setdiff1d(np.arange(k), ext)
    # same-sign products elsewhere in row i / column j: |a| * |b| with the drawn sign
    mag_a = np.abs(a[i, rest]).clip(max=hi)
    mag_b = np.abs(b[rest, j]).clip(max=hi)
    a[i, rest] = mag_a
    b[rest, j] = mag_b if positive else -mag_b
    return (a.astype(f.code_dtype), b.astype(f.code_dtype), (int(i), int(j)))
