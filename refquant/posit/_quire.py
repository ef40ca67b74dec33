"""The quire: exact accumulation of posit products, rounded once (fused dot product and
fused matrix product, Posit Standard 2022)."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from ..modes import Rounding, as_rounding
from ._posit import PositLike, as_posit
from ._tapered import RoundingLike, check_codes, check_seed

_k = kernels("posit")

__all__ = ["quire_dot", "quire_matmul", "quire_bits", "quire_lsb_exponent", "quire_limbs"]

_MAX_TERMS = (1 << 31) - 1


def quire_bits(fmt: PositLike) -> int:
    """Width of the quire of ``fmt`` in bits: 4 * 2^es (bits - 2) + 32 (16 bits for es = 2).

    The Posit Standard (2022) quire of posit<bits, 2> is a 16 bits-bit two's-complement
    fixed-point register whose lowest bit is worth minpos^2 = 2^(16 - 8 bits); it holds
    every product of two posits exactly and sums of at least 2^31 - 1 of them without
    overflow; its NaR is 10...0. For es != 2 (legacy drafts) the width is derived the same
    way: with M = emax = 2^es (bits - 2) every product lies in [2^-2M, 2^2M], so the quire
    has 4M + 32 bits with its lowest bit worth 2^-2M: 4M + 1 bits for the product range,
    30 carry bits and a sign bit. (SoftPosit's quires follow the 2018 drafts, e.g. 128 bits
    for its es = 1 posit16; only rounded outputs are compared with it.)"""
    f = as_posit(fmt)
    return 4 * f.emax + 32


def quire_lsb_exponent(fmt: PositLike) -> int:
    """log2 of the weight of the quire's lowest bit: -2 * 2^es (bits - 2) (16 - 8 bits for
    es = 2)."""
    return -2 * as_posit(fmt).emax


def quire_limbs(fmt: PositLike) -> int:
    """Number of int64 limbs used by the implementation, including 3 of headroom: the
    quire is held as 32-bit digits in int64 limbs added with lazy carries, so a sum of
    fewer than 2^31 products is exact (the kernel notes in ``kernels/posit.py`` give the
    bounds)."""
    return -(-quire_bits(fmt) // 32) + 3


def quire_dot(a_codes: npt.ArrayLike, b_codes: npt.ArrayLike, fmt: PositLike,
              rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.generic:
    """Code of sum_i a[i] * b[i] for 1-D posit codes, computed exactly in the quire and
    rounded once (default nearest-even, the standard's rule; STOCHASTIC uses ``seed``).
    NaR if any element is NaR; an empty sum is 0. At most 2^31 - 1 products (ValueError
    beyond). Returns a scalar of the format's code dtype."""
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    s = check_seed(seed)
    a = check_codes(a_codes, f.bits, f.name, param="a_codes")
    b = check_codes(b_codes, f.bits, f.name, param="b_codes")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a_codes and b_codes must be 1-D of equal length; got shapes "
                         f"{a.shape} and {b.shape}")
    if a.size > _MAX_TERMS:
        raise ValueError(f"quire_dot accumulates at most 2^31 - 1 products; got {a.size}")
    q = np.zeros(quire_limbs(f), dtype=np.int64)
    code = _k.quire_dot(np.ascontiguousarray(a), np.ascontiguousarray(b), f.bits, f.es,
                        quire_lsb_exponent(f), q, mode, s)
    return f.code_dtype.type(code)


def quire_matmul(A: npt.ArrayLike, B: npt.ArrayLike, fmt: PositLike,
                 rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0
                 ) -> np.ndarray:
    """Codes of A @ B for posit code matrices A (M, K) and B (K, N): every entry is a
    fused dot product, exact in its own quire and rounded once (STOCHASTIC uses ``seed``
    and the flat output index). An entry is NaR when its row of A or column of B holds a
    NaR. K is at most 2^31 - 1 (ValueError beyond)."""
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    s = check_seed(seed)
    a = check_codes(A, f.bits, f.name, param="A")
    b = check_codes(B, f.bits, f.name, param="B")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"A and B must be 2-D with A.shape[1] == B.shape[0]; got {a.shape} "
                         f"and {b.shape}")
    if a.shape[1] > _MAX_TERMS:
        raise ValueError(f"quire_matmul accumulates at most 2^31 - 1 products; K = {a.shape[1]}")
    out = np.empty((a.shape[0], b.shape[1]), dtype=f.code_dtype)
    _k.quire_matmul(np.ascontiguousarray(a), np.ascontiguousarray(b.T), f.bits, f.es,
                    quire_lsb_exponent(f), quire_limbs(f), mode, s, out)
    return out
