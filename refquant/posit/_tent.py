"""Tapered fixed point (TENT, arXiv 2104.02233): a posit-like word with no exponent bits,
a regime run of bounded length and a per-layer power-of-two scale; names ``tent*``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import _deprecate, registry
from .._validate import as_real_array, check_int
from ._tapered import TaperedFormat, renamed_width

__all__ = ["TentFormat"]


@renamed_width
@dataclass(frozen=True)
class TentFormat(TaperedFormat):
    """Tapered fixed point TENT(bits, rs, scale_exp): posit<bits, 0> patterns with the
    regime run bounded at ``rs`` bits and values scaled by 2^scale_exp.

    refquant's definition (the paper's sign, signed-unary regime of bounded length and
    per-layer scale, completed with the posit conventions; not claimed bit-compatible
    with the paper's hardware, see docs/sources.md):

        2 <= bits <= 32, 1 <= rs <= bits - 1, |scale_exp| <= 64.
        Codes: bits-bit two's-complement words; 0 is zero, 10...0 is NaR (as posits); a
        negative value's code is the two's complement of its magnitude's code.
        Magnitude pattern (after the sign): a run of m identical bits with 1 <= m <= rs,
        the opposite bit only when m < rs (a run of rs bits has no terminator), then the
        f = bits - 2 - m (m < rs) or bits - 1 - rs (m = rs) remaining bits as fraction F
        (es = 0). k = m - 1 for a run of ones, -m for zeros: -rs <= k <= rs - 1 for
        rs < bits - 1, and 2 - bits <= k <= bits - 2 for rs = bits - 1 (the zero run of
        code 1 then has a terminator).
        value = (1 + F / 2^f) * 2^(k + scale_exp).
        max = maxpos = 2^(rs - 1 + scale_exp) * (2 - 2^-(bits-1-rs)).
        smallest_normal = smallest_subnormal = minpos (code 1)
            = 2^(-rs + scale_exp) * (1 + 2^-(bits-1-rs)) for rs < bits - 1,
              2^(2 - bits + scale_exp) for rs = bits - 1.
        rs = bits - 1, scale_exp = 0 is exactly posit<bits, 0>.

    Rounding is the posit rule (nearest, ties to the even pattern on the bit string,
    saturation at ±maxpos, no underflow to zero, NaN/inf -> NaR) applied to
    x * 2^-scale_exp; the directed and stochastic modes of ``encode`` choose between the
    same two bracketing codes.

    Names: ``tent{bits}_{rs}`` (scale_exp 0) and ``tent{bits}_{rs}_{scale_exp}`` (e.g.
    ``tent8_3_-4``); fixed names ``tent8`` = TentFormat(8, 3), ``tent16`` =
    TentFormat(16, 4) (refquant's defaults, not sizes taken from the paper). The layer-wise
    parameter choice is ``TentFormat.fit``.
    """

    bits: int = 8
    rs: int = 3
    scale_exp: int = 0

    def __post_init__(self) -> None:
        check_int(self.bits, "bits", 2, 32)
        check_int(self.rs, "rs", 1, self.bits - 1)
        check_int(self.scale_exp, "scale_exp", -64, 64)

    @property
    def es(self) -> int:
        """0: TENT has no exponent bits."""
        return 0

    @property
    def name(self) -> str:
        s = f"tent{self.bits}_{self.rs}"
        return s if self.scale_exp == 0 else f"{s}_{self.scale_exp}"

    @property
    def calibration_max(self) -> float:
        """maxpos: a symmetric scale maps the calibrated amax to the top of the range,
        as the layer-wise choice does (the range is bounded by rs)."""
        return self.max

    @staticmethod
    @_deprecate.renamed_kwargs(n="bits")
    def max_for(bits: int, rs: int, scale_exp: int = 0) -> float:
        """maxpos of TentFormat(bits, rs, scale_exp), computed from the definition."""
        f = bits - 1 - rs
        return float(np.ldexp(2.0 - 2.0 ** -f, rs - 1 + scale_exp))

    @classmethod
    @_deprecate.renamed_kwargs(n="bits")
    def fit(cls, x: npt.ArrayLike, bits: int = 8) -> TentFormat:
        """The layer-wise parameter choice for the tensor ``x``, refquant's reading of the
        paper's "match the dynamic range and distribution": scale_exp =
        round-half-even(mean(log2|x|)) over the nonzero finite elements (clipped to
        [-64, 64]), which puts the densest values (k in {-1, 0}) on the geometric centre
        of the layer's magnitudes; rs = the smallest run bound in 1..bits-1 whose maxpos
        covers max|x| (bits - 1 if none does). An all-zero tensor gives
        TentFormat(bits, 1, 0). The scale is part of the format (decoded values include
        2^scale_exp); ``refquant.quantize`` may add its own scale on top."""
        check_int(bits, "bits", 2, 32)
        a = np.abs(as_real_array(x).astype(np.float64)).ravel()
        a = a[np.isfinite(a) & (a > 0)]
        if a.size == 0:
            return cls(bits, 1, 0)
        se = int(np.clip(np.rint(np.mean(np.log2(a))), -64, 64))
        amax = float(a.max())
        rs = bits - 1
        for r in range(1, bits):
            if cls.max_for(bits, r, se) >= amax:
                rs = r
                break
        return cls(bits, rs, se)

    def __repr__(self) -> str:
        return f"TentFormat(bits={self.bits}, rs={self.rs}, scale_exp={self.scale_exp})"


registry.register("tent8", lambda: TentFormat(8, 3))
registry.register("tent16", lambda: TentFormat(16, 4))
registry.register_pattern(r"tent(\d+)_(\d+)(?:_(-?\d+))?",
                          lambda m: TentFormat(int(m[1]), int(m[2]), int(m[3] or 0)),
                          "tent{bits}_{rs}[_{scale_exp}]")
