"""The quire: exact accumulation of posit products, rounded once (fused dot product,
fused matrix product).

Source: Posit Standard (2022): the quire of posit<n, 2> is a 16n-bit two's-complement
fixed-point register whose lowest bit is worth 2^(16 - 8n) = minpos^2; it holds every
product of two posits exactly and sums of at least 2^31 - 1 of them without overflow;
its NaR is 10...0. Fused operations round the quire once at the end with the posit
rounding rule.

For es != 2 (legacy drafts) the width is derived the same way: with
M = log2(maxpos) = 2^es (n - 2) every product lies in [2^-2M, 2^2M], so the quire has
W = 4M + 32 bits with its lowest bit worth 2^-2M (W = 16n for es = 2): 4M + 1 bits for
the product range, 30 carry bits and a sign bit. SoftPosit's quires follow the 2018
drafts (e.g. 128 bits for its es = 1 posit16); only rounded outputs are compared with it.

Implementation: 32-bit digits held in int64 limbs (``quire_limbs(fmt)`` of them), added
with lazy carries, so a sum of fewer than 2^31 products is exact; longer inputs are
refused. NaR in any operand makes the result NaR. Products are formed and placed in
chunks of 1024 terms by a vectorised pass and summed per limb (the kernel notes in
``kernels/posit.py`` give the bounds); ``quire_matmul`` runs the same core on each row of
A against each column of B.
"""
from __future__ import annotations

import numpy as np

from .formats.posit import as_posit, check_codes, check_seed
from ._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("posit")
from .modes import Rounding, as_rounding

__all__ = ["quire_dot", "quire_matmul", "quire_bits", "quire_lsb_exponent", "quire_limbs"]

_MAX_TERMS = (1 << 31) - 1


def quire_bits(fmt) -> int:
    """Width of the quire of ``fmt`` in bits: 4 * 2^es (n - 2) + 32 (16n for es = 2)."""
    f = as_posit(fmt)
    return 4 * f.max_exponent + 32


def quire_lsb_exponent(fmt) -> int:
    """log2 of the weight of the quire's lowest bit: -2 * 2^es (n - 2) (16 - 8n for es = 2)."""
    return -2 * as_posit(fmt).max_exponent


def quire_limbs(fmt) -> int:
    """Number of int64 limbs (32-bit digits) used, including 3 of headroom."""
    return -(-quire_bits(fmt) // 32) + 3


def quire_dot(a_codes, b_codes, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Code of sum_i a[i] * b[i] for 1-D posit codes, computed exactly in the quire and
    rounded once (default nearest-even, the standard's rule). NaR if any element is NaR;
    an empty sum is 0. Returns a scalar of the format's code dtype."""
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    seed = check_seed(seed)
    a = check_codes(a_codes, f.n, f.name, param="a_codes")
    b = check_codes(b_codes, f.n, f.name, param="b_codes")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a_codes and b_codes must be 1-D of equal length; got shapes "
                         f"{a.shape} and {b.shape}")
    if a.size > _MAX_TERMS:
        raise ValueError(f"quire_dot accumulates at most 2^31 - 1 products; got {a.size}")
    q = np.zeros(quire_limbs(f), dtype=np.int64)
    code = _k.quire_dot(np.ascontiguousarray(a), np.ascontiguousarray(b), f.n, f.es,
                        quire_lsb_exponent(f), q, mode, seed)
    return f.code_dtype.type(code)


def quire_matmul(A, B, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of A @ B for posit code matrices A (M, K) and B (K, N): every entry is a
    fused dot product, exact in its own quire and rounded once (STOCHASTIC uses the
    flat output index). An entry is NaR when its row of A or column of B holds a NaR."""
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    seed = check_seed(seed)
    A = check_codes(A, f.n, f.name, param="A")
    B = check_codes(B, f.n, f.name, param="B")
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"A and B must be 2-D with A.shape[1] == B.shape[0]; got {A.shape} "
                         f"and {B.shape}")
    if A.shape[1] > _MAX_TERMS:
        raise ValueError(f"quire_matmul accumulates at most 2^31 - 1 products; K = {A.shape[1]}")
    out = np.empty((A.shape[0], B.shape[1]), dtype=f.code_dtype)
    _k.quire_matmul(np.ascontiguousarray(A), np.ascontiguousarray(B.T), f.n, f.es,
                    quire_lsb_exponent(f), quire_limbs(f), mode, seed, out)
    return out
