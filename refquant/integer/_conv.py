"""Integer 2-D convolution (ONNX ConvInteger, plus bias, accumulator width and overflow)
through im2col and the exact integer GEMM."""
from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
import numpy.typing as npt

from .._deprecate import renamed_kwargs
from .._validate import MAX_BYTES, check_bytes, check_int, is_int
from ..modes import Overflow
from ._gemm import _int_values, _matmul_policy, _max_abs, _minus, _zero

__all__ = ["im2col", "conv2d"]

IntPair = Union[int, Sequence[int]]
"""An int (used for both spatial axes) or one int per axis."""


def _pair(v: Any, param: str, n: int = 2, lo: int = 1) -> tuple[int, ...]:
    """v as n ints >= lo: an int (repeated) or a sequence of n ints; TypeError for other
    types, ValueError for a wrong length or a value below lo."""
    if is_int(v):
        t = (int(v),) * n
    elif isinstance(v, (tuple, list, np.ndarray)) and all(is_int(u) for u in np.ravel(v)):
        t = tuple(int(u) for u in np.ravel(v))
    else:
        raise TypeError(f"{param}={v!r}; expected an int or {n} ints, each >= {lo}")
    if len(t) != n or any(u < lo for u in t):
        raise ValueError(f"{param}={v!r}; expected an int or {n} ints, each >= {lo}")
    return t


def _pads(padding: Any) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from an int, (h, w) or ONNX order (top, left, bottom,
    right), each >= 0."""
    msg = f"padding={padding!r}; expected an int, (h, w) or (top, left, bottom, right), each >= 0"
    p: tuple[int, ...]
    if is_int(padding):
        p = (int(padding),) * 4
    elif (isinstance(padding, (tuple, list, np.ndarray))
          and all(is_int(u) for u in np.ravel(padding))):
        p = tuple(int(u) for u in np.ravel(padding))
        if len(p) == 2:
            p = (p[0], p[1], p[0], p[1])
        elif len(p) != 4:
            raise ValueError(msg)
    else:
        raise TypeError(msg)
    if min(p) < 0:
        raise ValueError(msg)
    return p[0], p[1], p[2], p[3]


def _check_max_bytes(max_bytes: int | None) -> int | None:
    return None if max_bytes is None else check_int(max_bytes, "max_bytes", lo=0)


def _geometry(shape: tuple[int, ...], kh: int, kw: int, stride: IntPair, padding: IntPair,
              dilation: IntPair
              ) -> tuple[tuple[int, int, int, int], tuple[int, ...], tuple[int, ...], int, int]:
    """Validated convolution geometry of an (N, C, H, W) input: (pads, (sh, sw), (dh, dw),
    Ho, Wo), Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1 (likewise Wo)."""
    kh, kw = _pair((kh, kw), "kernel size")
    st = _pair(stride, "stride")
    dl = _pair(dilation, "dilation")
    pt, pl, pb, pr = _pads(padding)
    H, W = shape[2], shape[3]
    Ho = (H + pt + pb - dl[0] * (kh - 1) - 1) // st[0] + 1
    Wo = (W + pl + pr - dl[1] * (kw - 1) - 1) // st[1] + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"the kernel does not fit the padded input (output {Ho} x {Wo})")
    return (pt, pl, pb, pr), st, dl, Ho, Wo


def im2col(x: npt.ArrayLike, kh: int, kw: int, *, stride: IntPair = 1, padding: IntPair = 0,
           dilation: IntPair = 1,
           max_bytes: int | None = MAX_BYTES) -> tuple[np.ndarray, int, int]:
    """Patches of x (N, C, H, W) for a kh x kw kernel, as a contiguous array of shape
    (N, C * kh * kw, Ho, Wo): cols[n, (c * kh + u) * kw + v, i, j] =
    xp[n, c, i * sh + u * dh, j * sw + v * dw], where xp is x padded with zeros, so the
    rows follow ``w.reshape(O, -1)`` of an (O, C, kh, kw) kernel.

    stride, dilation: an int or (h, w), each >= 1; padding: an int, (h, w) or ONNX order
    (top, left, bottom, right), each >= 0. Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    (likewise Wo). Returns (cols, Ho, Wo); cols has x's dtype. Integer-exact (a copy).
    max_bytes: the padded copy and the patches together may take at most this many bytes
    (default 4 GiB; None: no limit); above it a ValueError states the need before
    anything is allocated.
    """
    max_bytes = _check_max_bytes(max_bytes)
    xa = np.asarray(x)
    if xa.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W); got shape {xa.shape}")
    (pt, pl, pb, pr), (sh, sw), (dh, dw), Ho, Wo = _geometry(xa.shape, kh, kw, stride, padding,
                                                             dilation)
    N, C, H, W = xa.shape
    Hp, Wp = H + pt + pb, W + pl + pr
    need = xa.dtype.itemsize * N * C * (Hp * Wp + kh * kw * Ho * Wo)
    check_bytes(need, f"im2col(x of shape {xa.shape}, kernel {kh} x {kw}, padding={padding!r}, "
                      f"stride={stride!r}, dilation={dilation!r})", max_bytes)
    xp = np.zeros((N, C, Hp, Wp), dtype=xa.dtype)
    xp[:, :, pt:pt + H, pl:pl + W] = xa
    st = xp.strides
    cols = np.lib.stride_tricks.as_strided(
        xp, (N, C, kh, kw, Ho, Wo),
        (st[0], st[1], st[2] * dh, st[3] * dw, st[2] * sh, st[3] * sw), writeable=False)
    return np.ascontiguousarray(cols).reshape(N, C * kh * kw, Ho, Wo), Ho, Wo


@renamed_kwargs(x_zero="x_zero_point", w_zero="w_zero_point")
def conv2d(x: npt.ArrayLike, w: npt.ArrayLike, x_zero_point: npt.ArrayLike | None = 0,
           w_zero_point: npt.ArrayLike | None = 0, *, stride: IntPair = 1,
           padding: IntPair = 0, dilation: IntPair = 1, groups: int = 1,
           bias: npt.ArrayLike | None = None, acc_bits: int = 32,
           overflow: Overflow | str = Overflow.WRAP,
           max_bytes: int | None = MAX_BYTES) -> np.ndarray:
    """Integer 2-D convolution (cross-correlation, NCHW) through im2col and ``gemm``.

    out[n, o, i, j] = bias[o] + sum_{c, u, v} (xp[n, g*Cg + c, i*sh + u*dh, j*sw + v*dw]
    - x_zero_point) * (w[o, c, u, v] - w_zero_point[o]) with g = o // (O / groups),
    xp = x padded with x_zero_point (padded taps contribute 0, as ONNX ConvInteger /
    QLinearConv pad).
    x: (N, C, H, W), w: (O, C / groups, kh, kw) integers; x_zero_point scalar;
    w_zero_point scalar or one per output channel (zero points and bias taken by value,
    within int64); stride, dilation: int or (h, w); padding: int, (h, w) or ONNX order
    (top, left, bottom, right). Accumulator width and overflow as in ``gemm`` (the
    saturating order is c, u, v ascending, row-major over w[o]).
    max_bytes: the working memory (int64 copies of x and w, the padded copy of x, the
    im2col patches and their BLAS copy, the output) may take at most this many bytes
    (default 4 GiB; None: no limit); above it a ValueError states the need before
    anything is allocated.
    Returns (N, O, Ho, Wo) with Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1.
    """
    max_bytes = _check_max_bytes(max_bytes)
    xa = np.asarray(x)
    wa = np.asarray(w)
    for name, v in (("x", xa), ("w", wa)):
        if v.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array, got dtype {v.dtype}")
        if v.ndim != 4:
            raise ValueError(f"{name} must be 4-D (NCHW / OIHW); got {v.ndim}-D")
        if v.dtype == np.uint64 and v.size and v.max() >= (1 << 63):
            raise ValueError(f"{name} holds values >= 2^63 (operands must lie in int64)")
    N, C, H, W = xa.shape
    O, Cg, kh, kw = wa.shape
    groups = check_int(groups, "groups", lo=1)
    if C % groups or O % groups:
        raise ValueError(f"groups={groups} must divide C={C} and O={O}")
    if Cg != C // groups:
        raise ValueError(f"w has {Cg} input channels; expected C / groups = {C // groups}")
    pads, st, dl, Ho, Wo = _geometry(xa.shape, kh, kw, stride, padding, dilation)
    need = 8 * (N * C * H * W + N * C * (H + pads[0] + pads[2]) * (W + pads[1] + pads[3])
                + 2 * N * C * kh * kw * Ho * Wo + O * Cg * kh * kw + 2 * N * O * Ho * Wo)
    check_bytes(need, f"conv2d(x of shape {xa.shape}, w of shape {wa.shape}, "
                      f"padding={padding!r}, stride={stride!r}, dilation={dilation!r})",
                max_bytes)
    xz = _zero(x_zero_point, "x_zero_point", 1, "tensor")
    wz = _zero(w_zero_point, "w_zero_point", O, "output channel")
    c = None
    if bias is not None:
        c = np.asarray(bias)
        if c.dtype.kind not in "iuO" or c.shape != (O,):
            raise ValueError(f"bias must be an integer array of shape ({O},)")
        c = _int_values(c, "bias").reshape(groups, O // groups, 1)
    xd = _minus(xa, xz, False, "x", "x_zero_point")
    cols, _, _ = im2col(xd, kh, kw, stride=st, padding=pads, dilation=dl, max_bytes=None)
    G = groups
    cols = cols.reshape(N, G, Cg * kh * kw, Ho * Wo)
    wd = _minus(wa.reshape(O, Cg * kh * kw), wz, True, "w", "w_zero_point")
    wm = wd.reshape(G, O // G, Cg * kh * kw)
    out = _matmul_policy(wm[None], cols, _max_abs(wd), _max_abs(xd), c, acc_bits, overflow)
    return out.reshape(N, O, Ho, Wo)
