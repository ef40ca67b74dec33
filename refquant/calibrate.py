"""Calibration: choosing the clipping range [lo, hi] that a scale is derived from.

Every method works per group: ``group_range(table, method, symmetric, fmt)`` takes a 2-D
table whose rows are the groups (per tensor: one row; per axis: one row per index; per
block: one row per block, NaN-padded) and returns (lo, hi) arrays with one entry per row.
Symmetric methods return lo = -hi.

Methods (``METHODS``; ``refquant.quantize(..., calibration=name)``):

- ``minmax``, ``percentile`` (of |x|, default 99.99 %).
- ``entropy``: TensorRT-style KL-divergence calibration, as NVIDIA pytorch-quantization's
  ``_compute_amax_entropy`` (checked against that source): histogram of |x| with 2048
  bins over [0, max|x|] (``np.histogram``); the count of bin 0 is replaced by that of
  bin 1 (the spike of exact zeros is ignored); for i = 128, ..., 2048: P = the first i
  bins with the counts of bins i.. folded into bin i-1; Q = the *unfolded* first i bins
  merged into ``levels`` groups (bin j goes to group ``digitize(j, linspace(0, i,
  levels + 1)) - 1``), each group's total spread evenly over its non-empty bins (empty
  bins stay 0); the KL divergence D(P || Q) of the normalised histograms is minimised
  and amax = the upper edge of bin i-1 (the largest i among equal minima).
  ``levels`` defaults to 2^(bits-1) for signed and 2^bits for unsigned integer formats
  (128 for int8) and to 128 for other formats.
- ``mse``: histogram of |x| (2048 bins); each bin centre c_i for i >= 128 is a candidate
  amax; the error of a candidate is sum_j count_j * (fq(c_j) - c_j)^2 with fq the fake
  quantization of the bin centres by ``fmt`` at scale amax / fmt.calibration_max
  (integer formats: amax / qmax; int1, whose qmax is 0: amax / (qmax - qmin))
  (saturating, half to even); the first minimum wins.
- ``aciq_laplace``, ``aciq_gaussian``: analytic clipping of Banner, Nahshan and Soudry,
  "Post training 4-bit quantization of convolutional networks for rapid-deployment"
  (NeurIPS 2019). With M = fmt.bits the expected squared error of clipping at alpha plus
  uniform quantization noise alpha^2 / (3 * 4^M) is minimised numerically (scipy):
  Laplace(b): 2 b^2 exp(-alpha / b) + alpha^2 / (3 * 4^M), b = mean |x - mean(x)|;
  Gaussian(sigma): (alpha^2 + sigma^2)(1 - erf(alpha / (sqrt2 sigma)))
  - sqrt(2/pi) alpha sigma exp(-alpha^2 / (2 sigma^2)) + alpha^2 / (3 * 4^M), sigma = std.
  The model's minimisers (roots of its derivative) alpha / b for M = 2..8 are 2.8307, 3.8972, 5.0286, 6.2048, 7.4131,
  8.6456, 9.8968 (the paper prints 2.83, 3.89, 5.03, 6.2, 7.41, 8.64, 9.89: three of them
  truncated rather than rounded, all within 0.01) and alpha / sigma 1.7106, 2.1516,
  2.5591, 2.9362, 3.2869, 3.6151, 3.9240 (equal to the authors' released table). The
  clipping range is mean +- alpha (symmetric: |mean| + alpha), never beyond the data.
"""
from __future__ import annotations

import inspect

from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from ._deprecate import renamed_kwargs
from ._validate import check_int
from .protocol import Format
from .registry import format as _format_of

__all__ = ["group_range", "minmax", "percentile", "entropy", "mse", "aciq_laplace",
           "aciq_gaussian", "aciq_alpha", "METHODS", "torch_qparams", "TORCH_EPS"]


def minmax(table: npt.ArrayLike, symmetric: bool = True, fmt: Format | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """lo = min, hi = max of each row (NaN ignored; an all-NaN row gives 0, 0).
    Symmetric: hi = max|x|, lo = -hi."""
    t = _real_table(table, check_inf=False)  # an inf shows in the extremes below
    if t.shape[1] == 0:
        z = np.zeros(t.shape[0])
        return z, z
    if symmetric:
        hi = _nan_to_zero(np.fmax.reduce(np.abs(t), axis=1))
        _refuse_inf(hi)
        return -hi, hi
    lo, hi = _nan_to_zero(np.fmin.reduce(t, axis=1)), _nan_to_zero(np.fmax.reduce(t, axis=1))
    _refuse_inf(lo, hi)
    return lo, hi


_INF_MESSAGE = ("table contains inf; calibration needs finite values (NaN marks the padding "
                "of short groups)")


def _refuse_inf(*extremes):
    """ValueError if a row's extreme is infinite (the table held ±inf)."""
    if any(np.isinf(e).any() for e in extremes):
        raise ValueError(_INF_MESSAGE)


def _real_table(table, check_inf=True):
    """table as a 2-D float32 / float64 array (native byte order): TypeError for non-real
    dtypes, ValueError for another number of dimensions or (``check_inf``) ±inf (NaN marks
    padding)."""
    t = np.asarray(table)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"table must be real numbers, got dtype {t.dtype}")
    if t.ndim != 2:
        raise ValueError(f"table must be 2-D (one row per group), got shape {t.shape}")
    if t.dtype.kind != "f" or t.dtype.itemsize not in (4, 8) or not t.dtype.isnative:
        t = t.astype(np.float64)
    if check_inf and np.isinf(t).any():
        raise ValueError(_INF_MESSAGE)
    return t


def _format(fmt):
    """fmt as a Format (a name is resolved with refquant.format); None stays None."""
    if fmt is None:
        return None
    return _format_of(fmt)


def _nan_to_zero(v):
    v = np.asarray(v, dtype=np.float64)
    return np.where(np.isnan(v), 0.0, v)


def percentile(table: npt.ArrayLike, symmetric: bool = True, fmt: Format | str | None = None,
               percentile: float = 99.99) -> tuple[np.ndarray, np.ndarray]:
    """Clip at a percentile: symmetric: hi = the ``percentile`` of |x| per row (NumPy's
    linear interpolation), lo = -hi; asymmetric: lo and hi are the (100 - p) and p
    percentiles of x. ``percentile``: a real number in (0, 100]."""
    if (not isinstance(percentile, (int, float, np.integer, np.floating))
            or isinstance(percentile, (bool, np.bool_))):
        raise TypeError(f"percentile must be a real number, got {type(percentile).__name__}")
    p = float(percentile)
    if not 0.0 < p <= 100.0:
        raise ValueError(f"percentile={percentile!r} out of range; allowed (0, 100]")
    t = np.asarray(_real_table(table), dtype=np.float64)
    empty = np.all(np.isnan(t), axis=1)
    t = np.where(empty[:, None], 0.0, t)
    if symmetric:
        hi = np.nanpercentile(np.abs(t), p, axis=1)
        return -hi, hi
    return np.nanpercentile(t, 100.0 - p, axis=1), np.nanpercentile(t, p, axis=1)


HIST_BINS = 2048
START_BIN = 128


def _rows(table):
    """Each row without its NaN padding."""
    t = np.asarray(_real_table(table), dtype=np.float64)
    for row in t:
        yield row[~np.isnan(row)]


def _abs_hist(row, bins=HIST_BINS):
    """Histogram of |row| with ``bins`` equal bins over [0, max|row|] and its edges."""
    a = np.abs(row)
    amax = float(a.max()) if a.size else 0.0
    counts, edges = np.histogram(a, bins=bins, range=(0.0, amax if amax > 0 else 1.0))
    return counts.astype(np.float64), edges, amax


def _clip_to_data(row, amax, symmetric, center=0.0):
    """(lo, hi) of a clipping half-width around ``center``, never beyond the data."""
    if row.size == 0:
        return 0.0, 0.0
    if symmetric:
        hi = min(float(np.abs(row).max()), abs(center) + amax)
        return -hi, hi
    return max(float(row.min()), center - amax), min(float(row.max()), center + amax)


def _default_levels(fmt):
    fmt = _format(fmt)
    if fmt is not None and getattr(fmt, "is_integer", False):
        return 1 << (fmt.bits - 1) if fmt.min < 0 else 1 << fmt.bits
    return 128


MAX_BINS = 8192


def kl_amax(counts: npt.ArrayLike, edges: npt.ArrayLike, levels: int = 128, start: int = START_BIN, *,
            max_bins: int = MAX_BINS) -> float:
    """The entropy-calibrated amax of a |x| histogram (see the module docstring).

    counts: histogram of |x| (start <= len(counts) <= max_bins); edges: its len(counts) + 1
    edges. Returns edges[i] for the i in start..len(counts) that minimises D(P || Q)
    (largest i among ties). ``levels`` >= 1 (an int); a candidate i with i <= levels puts
    every bin in its own level, so any ``levels`` costs O(len(counts)) memory. The search
    takes about len(counts)^2 / 2 element operations: histograms beyond ``max_bins``
    (default 8192, four times the 2048 bins ``entropy`` uses) raise ValueError unless
    max_bins is raised."""
    bins = np.array(counts, dtype=np.float64)
    if bins.ndim != 1:
        raise ValueError(f"counts must be 1-D, got shape {bins.shape}")
    n = bins.size
    if not isinstance(start, (int, np.integer)) or isinstance(start, bool):
        raise TypeError(f"start must be an int, got {type(start).__name__}")
    if n < start or start < 1:
        raise ValueError(f"the histogram needs at least start={start} bins; got {n}")
    if not isinstance(max_bins, (int, np.integer)) or isinstance(max_bins, bool):
        raise TypeError(f"max_bins must be an int, got {type(max_bins).__name__}")
    if n > max_bins:
        raise ValueError(f"counts has {n} bins; kl_amax takes about {n * n // 2:.3g} element "
                         f"operations for them and allows at most max_bins={max_bins} "
                         f"(pass max_bins={n} to allow it)")
    e = np.asarray(edges)
    if e.shape != (n + 1,):
        raise ValueError(f"edges has {e.size} entries; expected {n + 1} (len(counts) + 1)")
    if not isinstance(levels, (int, np.integer)) or isinstance(levels, bool):
        raise TypeError(f"levels must be an int, got {type(levels).__name__}")
    if levels < 1:
        raise ValueError(f"levels={levels!r} must be an int >= 1")
    if n > 1:
        bins[0] = bins[1]
    tail = np.concatenate([np.cumsum(bins[::-1])[::-1], [0.0]])  # tail[i] = sum(bins[i:])
    best_i, best = start, np.inf
    for i in range(start, n + 1):
        p = bins[:i]
        lev = int(min(levels, i))  # i <= levels: one bin per level either way
        group = np.digitize(np.arange(i), np.linspace(0, i, lev + 1)) - 1
        nz = p != 0
        tot = np.bincount(group[nz], weights=p[nz], minlength=lev)
        cnt = np.bincount(group[nz], minlength=lev)
        q = np.where(nz, (tot / np.maximum(cnt, 1))[group], 0.0)
        ref = p.copy()
        ref[-1] += tail[i]
        d = _kl(ref, q)
        if d <= best:
            best, best_i = d, i
    return float(e[best_i])


def _kl(p, q):
    """D(p || q) of two non-negative vectors after normalising each to sum 1 (terms with
    p = 0 count 0; p > 0 with q = 0 gives inf), as ``scipy.stats.entropy(p, q)``."""
    sp, sq = p.sum(), q.sum()
    if sp == 0 or sq == 0:
        return np.inf
    pn = p / sp
    qn = q / sq
    m = pn > 0
    if np.any(qn[m] == 0):
        return np.inf
    return float(np.sum(pn[m] * np.log(pn[m] / qn[m])))


def entropy(table: npt.ArrayLike, symmetric: bool = True, fmt: Format | str | None = None,
            levels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """TensorRT-style KL-divergence calibration per row (see the module docstring).
    ``levels`` overrides the number of quantization levels of |x| (default from fmt; an
    int >= 1, any size: see ``kl_amax``). ``fmt``: a Format or a format name."""
    nlev = _default_levels(fmt) if levels is None else levels
    if not isinstance(nlev, (int, np.integer)) or isinstance(nlev, bool):
        raise TypeError(f"levels must be an int, got {type(nlev).__name__}")
    if nlev < 1:
        raise ValueError(f"levels={nlev!r} must be an int >= 1")
    lo, hi = [], []
    for row in _rows(table):
        counts, edges, amax = _abs_hist(row)
        a = kl_amax(counts, edges, nlev) if amax > 0 else 0.0
        l, h = _clip_to_data(row, a, symmetric)
        lo.append(l)
        hi.append(h)
    return np.array(lo), np.array(hi)


def mse(table: npt.ArrayLike, symmetric: bool = True, fmt: Format | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Histogram-MSE calibration per row (see the module docstring). ``fmt`` defaults to
    int8; any format of the protocol works (its ``quantize`` fake-quantizes the bin
    centres)."""
    f = _format_of("int8" if fmt is None else fmt)
    target = float(f.max) if f.is_integer else float(f.calibration_max)
    if not target > 0:  # int1 ({-1, 0}): the candidates span the code range instead
        target = float(f.max - f.min)
    lo, hi = [], []
    for row in _rows(table):
        counts, edges, amax = _abs_hist(row)
        a = 0.0
        if amax > 0:
            centers = (edges[1:] + edges[:-1]) / 2
            cand = centers[START_BIN:]
            s = cand / target
            used = counts > 0  # empty bins add nothing to any candidate's error
            centers, counts = centers[used], counts[used]
            y = centers[None, :] / s[:, None]
            if f.is_integer:  # == f.quantize(y): half-to-even rounding of the float y, clamped
                fq = np.clip(np.rint(y), f.min, f.max) * s[:, None]
            else:
                fq = np.asarray(f.quantize(np.clip(y, f.min, f.max)),
                                dtype=np.float64) * s[:, None]
            err = ((fq - centers[None, :]) ** 2 * counts[None, :]).sum(axis=1)
            a = float(cand[int(np.argmin(err))])
        l, h = _clip_to_data(row, a, symmetric)
        lo.append(l)
        hi.append(h)
    return np.array(lo), np.array(hi)


def _laplace_slope(alpha, m):
    """d/dalpha of 2 exp(-alpha) + alpha^2 / (3 * 4^m) (b = 1)."""
    return -2.0 * np.exp(-alpha) + 2.0 * alpha / (3.0 * 4.0 ** m)


def _gauss_slope(alpha, m):
    """d/dalpha of (alpha^2 + 1) erfc(alpha / sqrt2) - sqrt(2/pi) alpha exp(-alpha^2 / 2)
    + alpha^2 / (3 * 4^m) (sigma = 1)."""
    from scipy.special import erfc
    return (2.0 * alpha * erfc(alpha / np.sqrt(2.0))
            - 2.0 * np.sqrt(2.0 / np.pi) * np.exp(-alpha * alpha / 2.0)
            + 2.0 * alpha / (3.0 * 4.0 ** m))


_ALPHA_CACHE: dict = {}


@renamed_kwargs(dist="distribution")
def aciq_alpha(bits: int, distribution: str = "laplace") -> float:
    """Optimal clipping alpha / b (Laplace) or alpha / sigma (Gaussian) for ``bits``-bit
    uniform quantization (1..32) of a ``distribution`` ("laplace" or "gaussian";
    the old keyword ``dist`` is deprecated): the root of the derivative of the ACIQ error model (the
    model is convex in alpha there), found with scipy's brentq to 1e-14."""
    from scipy.optimize import brentq

    check_int(bits, "bits", 1, 32)
    if distribution not in ("laplace", "gaussian"):
        raise ValueError(f"distribution={distribution!r}; allowed 'laplace' or 'gaussian'")
    key = (int(bits), distribution)
    if key not in _ALPHA_CACHE:
        f = _laplace_slope if distribution == "laplace" else _gauss_slope
        _ALPHA_CACHE[key] = float(brentq(f, 1e-9, 60.0, args=(int(bits),), xtol=1e-14,
                                         rtol=4 * np.finfo(float).eps, maxiter=200))
    return _ALPHA_CACHE[key]


def _aciq(table, symmetric, fmt, dist):
    fmt = _format(fmt)
    bits = 8 if fmt is None else min(int(fmt.bits), 32)
    k = aciq_alpha(bits, dist)
    lo, hi = [], []
    for row in _rows(table):
        if row.size == 0:
            lo.append(0.0)
            hi.append(0.0)
            continue
        mu = float(row.mean())
        spread = float(np.abs(row - mu).mean()) if dist == "laplace" else float(row.std())
        l, h = _clip_to_data(row, k * spread, symmetric, mu)
        lo.append(l)
        hi.append(h)
    return np.array(lo), np.array(hi)


def aciq_laplace(table: npt.ArrayLike, symmetric: bool = True, fmt: Format | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ACIQ clipping for Laplace-distributed rows: alpha = aciq_alpha(fmt.bits) * b with
    b = mean |x - mean(x)|; range mean +- alpha clipped to the data (symmetric:
    +-(|mean| + alpha))."""
    return _aciq(table, symmetric, fmt, "laplace")


def aciq_gaussian(table: npt.ArrayLike, symmetric: bool = True, fmt: Format | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ACIQ clipping for Gaussian rows: alpha = aciq_alpha(fmt.bits, 'gaussian') * std."""
    return _aciq(table, symmetric, fmt, "gaussian")


METHODS = {"minmax": minmax, "percentile": percentile, "entropy": entropy, "mse": mse,
           "aciq_laplace": aciq_laplace, "aciq_gaussian": aciq_gaussian}


def group_range(table: npt.ArrayLike, method: str | Callable[..., tuple[np.ndarray, np.ndarray]] = "minmax", *,
                symmetric: bool = True, fmt: Format | str | None = None, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per row of ``table`` by ``method`` (a name in METHODS or a callable
    ``f(table, symmetric, fmt, **options) -> (lo, hi)``)."""
    if callable(method):
        f = method
    else:
        if not isinstance(method, str) or method not in METHODS:
            raise ValueError(f"calibration={method!r}; allowed: {', '.join(METHODS)}")
        f = METHODS[method]
        takes = [p for p in inspect.signature(f).parameters
                 if p not in ("table", "symmetric", "fmt")]
        for k in options:
            if k not in takes:
                raise ValueError(f"{k} does not apply to calibration={method!r}; it takes "
                                 + (", ".join(takes) if takes else "no options"))
    # the built-in methods check for inf themselves (minmax through its extremes)
    t = _real_table(table, check_inf=callable(method))
    lo, hi = f(t, symmetric, fmt, **options)
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (t.shape[0],))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (t.shape[0],))
    return lo, hi


#: torch.finfo(torch.float32).eps, the default ``eps`` of torch.ao's observers.
TORCH_EPS = 2.0 ** -23


def torch_qparams(lo: npt.ArrayLike, hi: npt.ArrayLike, *, symmetric: bool, quant_min: int,
                  quant_max: int, symmetric_zero_point: int = 0,
                  eps: float = TORCH_EPS) -> tuple[np.ndarray, np.ndarray]:
    """(scale, zero point) per group from the observed range [lo, hi], as torch.ao's
    ``MinMaxObserver`` / ``PerChannelMinMaxObserver`` compute them
    (``_calculate_qparams``, torch 2.13), every operation in float32 and rounded once:

    lo32 = float32(min(lo, 0)), hi32 = float32(max(hi, 0)) (the observer holds its range in
    float32), eps32 = float32(eps);

    - symmetric (per_tensor_symmetric / per_channel_symmetric):
      scale = max(float32(max(-lo32, hi32) / ((quant_max - quant_min) / 2)), eps32),
      zero point ``symmetric_zero_point`` (torch: 0 for signed dtypes, 128 for quint8,
      2^15 for uint16, (quant_min + quant_max) // 2 for quint8 with a custom range);
    - affine (per_tensor_affine / per_channel_affine, torch's default):
      scale = max(float32(float32(hi32 - lo32) / float32(quant_max - quant_min)), eps32),
      zero point = clamp(quant_min - round_half_even(float32(lo32 / scale)), quant_min,
      quant_max).

    An all-zero range gives scale eps32 and zero point quant_min (affine). Returns the
    scales as float64 arrays holding float32 values and the zero points as int64; a range
    whose float32 image is not finite raises ValueError."""
    with np.errstate(over="ignore", invalid="ignore"):
        lo32 = np.minimum(np.asarray(lo, dtype=np.float64), 0.0).astype(np.float32)
        hi32 = np.maximum(np.asarray(hi, dtype=np.float64), 0.0).astype(np.float32)
    if not (np.isfinite(lo32).all() and np.isfinite(hi32).all()):
        raise ValueError("the observed range is not finite in float32 (torch's observers hold "
                         "it in float32): x has magnitudes above 3.4028235e+38")
    eps32 = np.float32(eps)
    with np.errstate(over="ignore"):
        if symmetric:
            amax = np.maximum(-lo32, hi32)
            scale = np.maximum(amax / np.float32((quant_max - quant_min) / 2), eps32)
            zp = np.full(scale.shape, int(symmetric_zero_point), dtype=np.int64)
        else:
            scale = np.maximum((hi32 - lo32) / np.float32(quant_max - quant_min), eps32)
            ratio = (lo32 / scale).astype(np.float32)
            zp = np.clip(quant_min - np.rint(ratio).astype(np.int64), quant_min, quant_max)
    if not np.isfinite(scale).all():
        raise ValueError("the float32 scale torch's observer computes overflows (range above "
                         "3.4e38)")
    return scale.astype(np.float64), zp.astype(np.int64)
