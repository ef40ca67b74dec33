"""Pruning masks and the gradual pruning schedule.

Every function returns boolean keep-masks (True = keep) and prunes a count, not a
threshold: pruning a fraction s of c candidates removes floor(s * c) of them (so
exactly that many, whatever the ties). Candidates are ranked by magnitude (or norm)
descending, ties to the lower flat index (earlier layer first for global pruning);
the top c - floor(s * c) are kept. Magnitudes are float64 |w|; NaN is rejected.

* magnitude_prune: unstructured, one layer (Han et al. 2015 magnitude pruning).
* global_magnitude_prune: unstructured over a list of layers, one ranking for all.
* structured_prune: whole slices along an axis (axis 0 = filters / output channels,
  axis 1 = input channels) ranked by L1 or L2 norm (Li et al. 2017 rank filters by L1).
* block_prune: (R, C) blocks of a matrix ranked by L1 or L2 norm (block sparsity as
  used by block-sparse kernels; BSR stores the result).
* gradual_sparsity: Zhu & Gupta 2017 ("To prune, or not to prune", arXiv 1710.01878):
  s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3 for t in {t0, t0 + dt, ..., t0 + n dt}.
"""
from __future__ import annotations

import numpy as np

from ._common import check_positive_int, check_real, native

__all__ = ["magnitude_prune", "global_magnitude_prune", "structured_prune", "block_prune",
           "gradual_sparsity"]

NORMS = ("l1", "l2")


def _check_sparsity(s, name="sparsity"):
    s = check_real(s, name)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"{name}={s}; allowed 0 <= {name} <= 1")
    return s


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _real(w, name="w"):
    w = np.asarray(w)
    if w.dtype.kind not in "iubf":
        raise TypeError(f"{name} must be real, got dtype {w.dtype}")
    a = np.abs(w.astype(np.float64))
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN; magnitudes must be comparable")
    return w, a


def _keep_top(scores, sparsity):
    """Boolean mask over a 1-d score array: keep all but the floor(s * c) lowest-ranked
    (rank: score descending, ties to the lower index)."""
    c = scores.size
    n_prune = int(np.floor(sparsity * c))
    order = np.argsort(-scores, kind="stable")
    keep = np.zeros(c, dtype=bool)
    keep[order[:c - n_prune]] = True
    return keep


def magnitude_prune(w, sparsity):
    """Keep-mask of w (same shape) pruning floor(sparsity * w.size) smallest |w|."""
    w, a = _real(w)
    return _keep_top(a.reshape(-1), _check_sparsity(sparsity)).reshape(w.shape)


def global_magnitude_prune(weights, sparsity):
    """Keep-masks for a list of arrays ranked together: floor(sparsity * total size)
    smallest magnitudes across all layers are pruned (ties: earlier layer, then lower
    flat index, kept first)."""
    if isinstance(weights, np.ndarray) or isinstance(weights, (str, bytes)):
        raise TypeError("weights must be a non-empty list of arrays")
    try:
        weights = list(weights)
    except TypeError:
        raise TypeError(f"weights must be a non-empty list of arrays, got "
                        f"{type(weights).__name__}") from None
    if not weights:
        raise TypeError("weights must be a non-empty list of arrays")
    mags = [_real(w, f"weights[{i}]")[1] for i, w in enumerate(weights)]
    keep = _keep_top(np.concatenate([m.reshape(-1) for m in mags]), _check_sparsity(sparsity))
    out, start = [], 0
    for m in mags:
        out.append(keep[start:start + m.size].reshape(m.shape))
        start += m.size
    return out


def _norm(a, axes, norm):
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r}; allowed: {', '.join(NORMS)}")
    if norm == "l1":
        return a.sum(axis=axes)
    return np.sqrt((a * a).sum(axis=axes))


def structured_prune(w, sparsity, axis=0, norm="l1"):
    """Keep-mask (w's shape) removing whole slices along ``axis`` (0: filters, 1: input
    channels of a conv weight (out, in, kh, kw) or linear weight (out, in)): the
    floor(sparsity * w.shape[axis]) slices of smallest L1 / L2 norm (float64) go."""
    w, a = _real(w)
    if w.ndim < 1:
        raise ValueError("w must have at least one axis")
    if not _is_int(axis):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -w.ndim <= axis < w.ndim:
        raise ValueError(f"axis={axis!r} out of range for a {w.ndim}-d array")
    axis = int(axis) % w.ndim
    other = tuple(i for i in range(w.ndim) if i != axis)
    keep = _keep_top(_norm(a, other, norm), _check_sparsity(sparsity))
    shape = [1] * w.ndim
    shape[axis] = w.shape[axis]
    return np.broadcast_to(keep.reshape(shape), w.shape).copy()


def block_prune(w, sparsity, blocksize, norm="l1"):
    """Keep-mask of a 2-d w removing the floor(sparsity * number of blocks) (R, C)
    blocks of smallest L1 / L2 norm; blocks ranked in row-major block order on ties."""
    w, a = _real(w)
    if w.ndim != 2:
        raise ValueError(f"w must be 2-d, got {w.ndim} dimensions")
    try:
        entries = tuple(blocksize)
    except TypeError:
        entries = ()
    if len(entries) != 2 or not all(_is_int(b) for b in entries):
        raise TypeError(f"blocksize must be a pair of ints, got {blocksize!r}")
    R, C = (int(b) for b in entries)
    if R < 1 or C < 1 or w.shape[0] % R or w.shape[1] % C:
        raise ValueError(f"blocksize {(R, C)} must be positive and divide w.shape {w.shape}")
    nbr, nbc = w.shape[0] // R, w.shape[1] // C
    blocks = a.reshape(nbr, R, nbc, C)
    keep = _keep_top(_norm(blocks, (1, 3), norm).reshape(-1), _check_sparsity(sparsity))
    keep = keep.reshape(nbr, 1, nbc, 1)
    return np.broadcast_to(keep, (nbr, R, nbc, C)).reshape(w.shape).copy()


def gradual_sparsity(t, s_i=0.0, s_f=0.9, t0=0, n=100, dt=1):
    """Zhu & Gupta's target sparsity at training step(s) t (scalar or array):
    s_i before t0; s_f from t0 + n*dt on; in between the value at the last pruning step
    t0 + j*dt <= t (the mask is updated every dt steps), i.e.
    s_f + (s_i - s_f) * (1 - j / n)^3 with j = floor((t - t0) / dt), evaluated in that
    order in float64; j = 0 and j = n return s_i and s_f exactly. t (any integer dtype)
    and t0 (any int) are taken by value: no step wraps around. n * dt <= 2**62."""
    n = check_positive_int(n, "n")
    dt = check_positive_int(dt, "dt")
    if n * dt > 2 ** 62:
        raise ValueError(f"n * dt = {n * dt}; allowed n * dt <= 2**62")
    if not _is_int(t0):
        raise TypeError(f"t0 must be an int, got {type(t0).__name__}")
    t0 = int(t0)
    s_i = _check_sparsity(s_i, "s_i")
    s_f = _check_sparsity(s_f, "s_f")
    t = np.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"t must be integer training steps, got dtype {t.dtype}")
    j = _steps(t, t0, n, dt)
    s = np.where(j == 0, s_i, np.where(j == n, s_f, s_f + (s_i - s_f) * (1.0 - j / n) ** 3))
    return s if s.ndim else float(s)


def _steps(t, t0, n, dt):
    """j = clip(floor((t - t0) / dt), 0, n) exactly for any integer t and t0: t is first
    clipped (in its own dtype) to [t0 - dt, t0 + n dt], which leaves j unchanged and
    keeps t - t0 within [-dt, n dt]; that difference is then formed modulo 2^64, exact
    because it fits int64."""
    info = np.iinfo(t.dtype)
    lo, hi = t0 - dt, t0 + n * dt
    if lo > info.max:
        return np.zeros(t.shape, dtype=np.int64)
    if hi < info.min:
        return np.full(t.shape, n, dtype=np.int64)
    t1 = native(t).reshape(-1)          # 1-d: array arithmetic wraps without warnings
    tc = np.clip(t1, t.dtype.type(max(lo, info.min)), t.dtype.type(min(hi, info.max)))
    d = (tc.astype(np.uint64) - np.full(tc.shape, t0 % 2 ** 64, np.uint64)).astype(np.int64)
    return np.clip(np.floor_divide(d, dt), 0, n).reshape(t.shape)
