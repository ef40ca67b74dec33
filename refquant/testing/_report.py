"""Bit-level comparison of two outputs: the codes each side holds, the class of every
mismatch, the distance in code steps, and the report as JSON-able data."""
from __future__ import annotations

import math
import sys
from typing import Any, Callable

import numpy as np

from .._interop import dtype_libraries
from ..floats import FloatFormat
from ..protocol import Format
from ..registry import format as _format

__all__ = ["CLASSES", "Side", "side", "evaluate", "finish", "merge", "native_dtype",
           "PEER_DTYPES", "format_report"]

#: Mismatch classes, in the order they are tried (a mismatch gets the first that applies).
CLASSES = ("nan", "sign_of_zero", "overflow", "ties", "subnormal", "other")

#: (library, type name) of the peer type holding each registered float format's codes
#: bit for bit (ml_dtypes' types; NumPy's for fp16 and fp32, which ml_dtypes lacks): the
#: float formats of ``refquant._interop.dtype_libraries``.
PEER_DTYPES: dict[str, tuple[str, str]] = {
    name: lib for name, lib in dtype_libraries().items()
    if isinstance(_format(name), FloatFormat)}


def peer_type(library: str, name: str) -> Any:
    """The NumPy scalar type ``name`` of ``library`` ("numpy" or "ml_dtypes")."""
    if library == "numpy":
        return getattr(np, name)
    import ml_dtypes   # an optional peer, imported when used
    return getattr(ml_dtypes, name)


def native_dtype(fmt: Format) -> tuple[str, str] | None:
    """(library, type name) of the peer type whose bits are ``fmt``'s codes, or None."""
    if not isinstance(fmt, FloatFormat):
        return None
    for name, lib in PEER_DTYPES.items():
        if _format(name) == fmt:
            return lib
    return None


def _is_ml_float(dt: np.dtype) -> bool:
    if dt.kind == "f":
        return True
    if "ml_dtypes" not in sys.modules:
        return False
    import ml_dtypes
    try:
        ml_dtypes.finfo(dt)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _finfo(dt: np.dtype) -> Any:
    if dt.kind == "f":
        return np.finfo(dt)
    import ml_dtypes
    return ml_dtypes.finfo(dt)


def _uint(nbytes: int) -> np.dtype:
    return np.dtype(f"uint{8 * nbytes}")


class Side:
    """One output made comparable: ``codes`` (flat integers, equal codes = bit-identical
    outputs), ``values(sel)`` (float64 values of the selected codes), ``key(sel)`` (the
    position of each selected code on the format's value order, for code-step distances;
    None where it has none), ``width`` (hex digits of a code)."""

    def __init__(self, codes: np.ndarray, values: Callable[[np.ndarray], np.ndarray],
                 key: Callable[[np.ndarray, np.ndarray], np.ndarray | None], width: int,
                 signed_codes: bool = False):
        self.codes = codes
        self.values = values
        self.key = key
        self.width = width
        self.signed_codes = signed_codes


def _sign_magnitude_key(bits: int, signed: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def key(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        if not signed:
            return codes.astype(np.int64)
        c = codes.astype(np.uint64)
        top = np.uint64(1 << (bits - 1))
        mag = (c & (top - np.uint64(1))).astype(np.int64)
        return np.where((c & top) != 0, -mag, mag)
    return key


def _twos_complement_key(bits: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def key(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        c = codes.astype(np.int64)
        return np.where(c >= (1 << (bits - 1)), c - (1 << bits), c)
    return key


def _rank_key(fmt: Format) -> Callable[[np.ndarray, np.ndarray], np.ndarray | None]:
    def key(codes: np.ndarray, values: np.ndarray) -> np.ndarray | None:
        if fmt.bits > 16:
            return None
        return np.searchsorted(fmt.values(), values).astype(np.int64)
    return key


def _identity_key(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    return codes.astype(np.int64)


def _format_key(fmt: Format) -> Callable[[np.ndarray, np.ndarray], np.ndarray | None]:
    from ..floats import FloatFormat
    from ..posit import TaperedFormat
    if isinstance(fmt, FloatFormat):
        return _sign_magnitude_key(fmt.bits, fmt.signed)
    if isinstance(fmt, TaperedFormat):
        return _twos_complement_key(fmt.bits)
    if fmt.is_integer:
        return _identity_key
    return _rank_key(fmt)


def _float_side(a: np.ndarray) -> Side:
    """Raw float bits of ``a`` (NumPy or ml_dtypes float type)."""
    dt = a.dtype
    codes = np.ascontiguousarray(a).reshape(-1).view(_uint(dt.itemsize))
    bits = int(getattr(_finfo(dt), "bits", 8 * dt.itemsize))

    def values(c: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.ascontiguousarray(c).view(dt).astype(np.float64)
    return Side(codes, values, _sign_magnitude_key(bits, True), (bits + 3) // 4)


def side(a: Any, fmt: Format | None, param: str) -> Side:
    """Make the output ``a`` comparable.

    Without ``fmt``: float arrays (NumPy or ml_dtypes types) compare by their bit
    patterns (NaN payloads and the sign of zero count), integer arrays by value.
    With ``fmt``: integer arrays are codes of ``fmt`` (values, for integer formats); an
    array of the peer type holding ``fmt``'s codes bit for bit (``PEER_DTYPES``) is
    viewed as its codes; other float arrays are values, each of which must be exactly a
    value of ``fmt`` and is mapped to its code by ``fmt.encode`` (a NaN becomes the
    format's NaN: payloads of wider types are not codes of ``fmt``). Raises TypeError
    for other dtypes and ValueError for codes outside the format, naming ``param``."""
    a = np.asarray(a)
    dt = a.dtype
    if dt.kind in "bcOSUMm" or (dt.kind == "V" and not _is_ml_float(dt)):
        raise TypeError(f"{param} must hold codes (integers) or float values, got dtype {dt}")
    if fmt is None:
        if dt.kind in "iu":
            c = a.astype(np.int64).reshape(-1)
            return Side(c, lambda s: s.astype(np.float64), _identity_key,
                        2 * dt.itemsize, signed_codes=True)
        return _float_side(a)
    bits = int(fmt.bits)
    width = (bits + 3) // 4
    key = _format_key(fmt)

    def decode(c: np.ndarray) -> np.ndarray:
        return np.asarray(fmt.decode(c.astype(fmt.code_dtype)), dtype=np.float64)

    if dt.kind in "iu":
        c = a.reshape(-1)
        if fmt.is_integer:
            lo, hi = int(fmt.min), int(fmt.max)
        else:
            lo, hi = 0, (1 << bits) - 1
        fits = dt.kind == "u" and 8 * dt.itemsize <= bits and not fmt.is_integer
        if c.size and not fits and (int(c.min()) < lo or int(c.max()) > hi):
            bad = int(np.flatnonzero((c < lo) | (c > hi))[0])
            raise ValueError(f"{param}[{bad}] = {int(c[bad])} is not a code of {fmt.name} "
                             f"(codes are in [{lo}, {hi}])")
        c = c.astype(np.int64) if fmt.is_integer else c.astype(fmt.code_dtype, copy=False)
        return Side(c, decode, key, width, signed_codes=fmt.is_integer)
    peer = native_dtype(fmt)
    if peer is not None and dt == np.dtype(peer_type(*peer)):
        c = np.ascontiguousarray(a).reshape(-1).view(_uint(dt.itemsize))
        c = c.astype(fmt.code_dtype, copy=False)
        return Side(c, decode, key, width)
    v = a.astype(np.float64).reshape(-1)
    try:
        c = np.asarray(fmt.encode(v)).reshape(-1)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{param} holds values that are not values of {fmt.name}: {exc}") \
            from None
    back = decode(c)
    lost = ~((back == v) | (np.isnan(back) & np.isnan(v)))
    if lost.any():
        i = int(np.flatnonzero(lost)[0])
        raise ValueError(f"{param}[{i}] = {v[i]!r} is not a value of {fmt.name}")
    c = c.astype(np.int64) if fmt.is_integer else c
    return Side(c, decode, key, width, signed_codes=fmt.is_integer)


# ----------------------------------------------------------------------------------------
# classification
# ----------------------------------------------------------------------------------------

def _limits(fmt: Format | None, dt: np.dtype | None) -> tuple[float, float | None]:
    """(largest finite magnitude, smallest normal magnitude or None)."""
    if fmt is not None:
        from ..floats import FloatFormat
        mx = float(max(abs(float(fmt.max)), abs(float(fmt.min))))
        if isinstance(fmt, FloatFormat) and fmt.subnormals and fmt.man_bits > 0:
            return mx, float(fmt.smallest_normal)
        return mx, None
    if dt is not None and dt.kind not in "iu":
        fi = _finfo(dt)
        return float(fi.max), float(fi.smallest_normal)
    return math.inf, None


def classify(x: np.ndarray | None, va: np.ndarray, ve: np.ndarray, mx: float,
             tiny: float | None) -> np.ndarray:
    """Index into CLASSES of each mismatch, given the input (or None) and both values."""
    n = va.size
    cls = np.full(n, CLASSES.index("other"), dtype=np.int8)
    left = np.ones(n, dtype=bool)

    def put(mask: np.ndarray, name: str) -> None:
        m = mask & left
        cls[m] = CLASSES.index(name)
        left[m] = False

    with np.errstate(invalid="ignore", over="ignore"):
        nan = np.isnan(va) | np.isnan(ve)
        if x is not None:
            nan |= np.isnan(x)
        put(nan, "nan")
        put((va == 0) & (ve == 0), "sign_of_zero")
        ovf = np.isinf(va) | np.isinf(ve)
        if x is not None:
            ovf |= np.abs(x) > mx
        put(ovf, "overflow")
        if x is not None:
            mid = va * 0.5 + ve * 0.5
            put(np.isfinite(mid) & (x == mid) & (va != ve), "ties")
        if tiny is not None:
            sub = ((np.abs(va) < tiny) & (va != 0)) | ((np.abs(ve) < tiny) & (ve != 0))
            if x is not None:
                sub |= (np.abs(x) < tiny) & (x != 0)
            put(sub, "subnormal")
    return cls


def _jvalue(v: float) -> float | str:
    """A float as JSON-able data: finite floats as they are, others as 'nan'/'inf'/'-inf'."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _hex(code: int, width: int) -> str:
    if code < 0:
        return "-0x" + format(-code, f"0{width}x")
    return "0x" + format(code, f"0{width}x")


def _input_record(x: np.ndarray, i: int) -> dict[str, Any]:
    v = x[i]
    if x.dtype.kind == "f":
        bits = np.ascontiguousarray(x[i:i + 1]).view(_uint(x.dtype.itemsize))[0]
        return {"input": _jvalue(float(v)),
                "input_bits": _hex(int(bits), 2 * x.dtype.itemsize)}
    return {"input": int(v)}


def evaluate(x: np.ndarray | None, actual: Side, expected: Side, fmt: Format | None,
             raw_dtype: np.dtype | None, examples: int, index: np.ndarray | None = None,
             base: int = 0) -> dict[str, Any]:
    """The partial report of one block: counts by class, the first ``examples`` mismatches
    of each class (with their flat index ``base + i``, or ``index[i]`` when given), the
    largest code-step distance. ``x`` is the flat input (or None)."""
    n = actual.codes.size
    ca, ce = actual.codes, expected.codes
    if ca.dtype != ce.dtype:
        ca, ce = ca.astype(np.int64), ce.astype(np.int64)
    bad = np.flatnonzero(ca != ce)
    by_class = {c: 0 for c in CLASSES}
    out: dict[str, Any] = {"count": int(n), "mismatches": int(bad.size),
                           "by_class": by_class, "max_distance": None,
                           "examples_by_class": {c: [] for c in CLASSES}}
    if not bad.size:
        return out
    sa, se = actual.codes[bad], expected.codes[bad]
    va, ve = actual.values(sa), expected.values(se)
    xs = None
    if x is not None and x.dtype.kind == "f":
        with np.errstate(invalid="ignore"):   # NaN payloads widen with a warning
            xs = x[bad].astype(np.float64)
    mx, tiny = _limits(fmt, raw_dtype)
    cls = classify(xs, va, ve, mx, tiny)
    ka, ke = actual.key(sa, va), expected.key(se, ve)
    dist = None
    if ka is not None and ke is not None:
        with np.errstate(invalid="ignore"):
            ok = ~(np.isnan(va) | np.isnan(ve))
        dist = np.where(ok, np.abs(ka - ke), -1)
        if ok.any():
            out["max_distance"] = int(dist[ok].max())
    counts = np.bincount(cls, minlength=len(CLASSES))
    for j, c in enumerate(CLASSES):
        by_class[c] = int(counts[j])
        sel = np.flatnonzero(cls == j)[:examples]
        recs = []
        for k in sel.tolist():
            i = int(bad[k])
            rec: dict[str, Any] = {"index": int(index[i]) if index is not None else base + i}
            if x is not None:
                rec.update(_input_record(x, i))
            rec["actual"] = {"code": _hex(int(sa[k]), actual.width), "value": _jvalue(va[k])}
            rec["expected"] = {"code": _hex(int(se[k]), expected.width),
                               "value": _jvalue(ve[k])}
            rec["class"] = c
            rec["distance"] = None if dist is None or dist[k] < 0 else int(dist[k])
            recs.append(rec)
        out["examples_by_class"][c] = recs
    return out


def merge(parts: list[dict[str, Any]], examples: int) -> dict[str, Any]:
    """Merge partial reports (in any order) into one: counts add up, each class keeps
    its ``examples`` mismatches of lowest index, the largest distance wins. The result
    does not depend on the order of ``parts``."""
    by_class = {c: 0 for c in CLASSES}
    ex: dict[str, list[dict[str, Any]]] = {c: [] for c in CLASSES}
    count = mism = 0
    maxd: int | None = None
    for p in parts:
        count += p["count"]
        mism += p["mismatches"]
        for c in CLASSES:
            by_class[c] += p["by_class"][c]
            ex[c].extend(p["examples_by_class"][c])
        if p["max_distance"] is not None:
            maxd = p["max_distance"] if maxd is None else max(maxd, p["max_distance"])
    for c in CLASSES:
        ex[c] = sorted(ex[c], key=lambda r: _order(r["index"]))[:examples]
    return {"count": count, "mismatches": mism, "by_class": by_class, "max_distance": maxd,
            "examples_by_class": ex}


def _order(index: Any) -> Any:
    return tuple(index) if isinstance(index, list) else (index,)


def finish(part: dict[str, Any], examples: int) -> dict[str, Any]:
    """The report of a merged partial: adds ``share`` and ``examples`` (the first
    ``examples`` mismatches over all classes, by index)."""
    allx = [r for c in CLASSES for r in part["examples_by_class"][c]]
    allx.sort(key=lambda r: _order(r["index"]))
    rep = dict(part)
    rep["share"] = part["mismatches"] / part["count"] if part["count"] else 0.0
    rep["examples"] = allx[:examples]
    return rep


def format_report(rep: dict[str, Any], title: str = "Not bit-exact") -> str:
    """The report as text (the message of a failed assertion)."""
    n, m = rep["count"], rep["mismatches"]
    fmt = rep.get("format")
    lines = [f"{title}{f' ({fmt})' if fmt else ''}: {m} of {n} elements differ "
             f"({100.0 * rep['share']:.4g}%)"]
    classes = ", ".join(f"{c.replace('_', ' ')} {k}" for c, k in rep["by_class"].items() if k)
    lines.append(f"by class: {classes}")
    if rep["max_distance"] is not None:
        lines.append(f"largest distance: {rep['max_distance']} code steps (ULPs)")
    lines.append("first mismatches (index: input -> actual / expected, class, distance):")
    for r in rep["examples"]:
        inp = ""
        if "input" in r:
            inp = f"{r['input']!r}" + (f" [{r['input_bits']}]" if "input_bits" in r else "")
            inp += " -> "
        a, e = r["actual"], r["expected"]
        lines.append(f"  {r['index']}: {inp}{a['code']} ({a['value']!r}) / "
                     f"{e['code']} ({e['value']!r}), {r['class'].replace('_', ' ')}, "
                     f"distance {r['distance']}")
    return "\n".join(lines)
