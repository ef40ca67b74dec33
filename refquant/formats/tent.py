"""Tapered fixed point (TENT): a posit-like word with no exponent bits, a regime run of
bounded length and a per-layer power-of-two scale.

Source: Langroudi et al., "TENT: Efficient Quantization of Neural Networks on the tiny
Edge with Tapered FixEd PoiNT", arXiv 2104.02233 (tinyML 2021). What could be verified
from the text reachable here (abstract and section 1; a survey of tapered-precision
formats quoting it as TFX(n, IS, SC)): the format is a sign, a "signed unary" regime of
bounded length, fraction bits and a scale; its parameters are chosen per layer so that
the format's dynamic range and distribution match those of the layer's parameters.
The paper's equations and its layer-wise algorithm (sections 3-4) could not be read;
the exact definition below is refquant's, built from those verified parts and the
posit conventions TENT extends (the same authors' "adaptive posit" bounds the regime
run the same way):

    TentFormat(n, rs, scale_exp), 2 <= n <= 32, 1 <= rs <= n - 1, |scale_exp| <= 64.
    Codes: n-bit two's-complement words; 0 is zero, 10...0 is NaR (as posits).
    Magnitude pattern (after the sign): a run of m identical bits with m <= rs, the
    opposite bit only when m < rs, then f fraction bits F (no exponent field, es = 0).
    k = m - 1 for a run of ones, -m for zeros (so -rs <= k <= rs - 1).
    value = (1 + F / 2^f) * 2^(k + scale_exp).
    maxpos = 2^(rs - 1 + scale_exp) * (2 - 2^-(n-1-rs)); minpos = code 1.
    rs = n - 1, scale_exp = 0 is exactly posit<n, 0>.

Rounding is the posit rule (nearest, ties to the even pattern on the bit string,
saturation at ±maxpos, no underflow to zero, NaN/inf -> NaR) applied to x * 2^-scale_exp.

Layer-wise parameter choice (``TentFormat.fit(x, n)``), refquant's reading of "match the
dynamic range and distribution": scale_exp = round-half-even(mean(log2|x|)) over the
nonzero finite elements, which centres the densest values (k in {-1, 0}) on the
geometric centre of the layer's magnitudes; rs = the smallest run bound in 1..n-1 whose
maxpos covers max|x| (n - 1 if none does). The scale is part of the format (the decoded
values include 2^scale_exp); ``refquant.quantize`` may add its own scale on top.

Names: ``tent{n}_{rs}`` (scale_exp 0) and ``tent{n}_{rs}_{scale_exp}`` (e.g.
``tent8_3_-4``); fixed names ``tent8`` = TentFormat(8, 3), ``tent16`` = TentFormat(16, 4).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import register, register_pattern
from .posit import _check_int, _Tapered

__all__ = ["TentFormat"]


@dataclass(frozen=True)
class TentFormat(_Tapered):
    """Tapered fixed point TENT(n, rs, scale_exp); see ``refquant.formats.tent`` for the
    exact definition, its sources and what could not be verified."""

    n: int = 8
    rs: int = 3
    scale_exp: int = 0

    def __post_init__(self):
        _check_int(self.n, 2, 32, "n")
        _check_int(self.rs, 1, self.n - 1, "rs")
        _check_int(self.scale_exp, -64, 64, "scale_exp")

    @property
    def _rs(self):
        return self.rs

    @property
    def _es(self):
        return 0

    @property
    def _scale(self):
        return self.scale_exp

    @property
    def bits(self) -> int:
        return self.n

    @property
    def name(self) -> str:
        s = f"tent{self.n}_{self.rs}"
        return s if self.scale_exp == 0 else f"{s}_{self.scale_exp}"

    @property
    def calibration_max(self) -> float:
        """maxpos: a symmetric scale maps the calibrated amax to the top of the range,
        as the layer-wise choice does (the range is bounded by rs)."""
        return self.max_value

    @staticmethod
    def max_for(n, rs, scale_exp=0) -> float:
        """maxpos of TentFormat(n, rs, scale_exp), computed from the definition."""
        f = n - 1 - rs
        return float(np.ldexp(2.0 - 2.0 ** -f, rs - 1 + scale_exp))

    @classmethod
    def fit(cls, x, n=8) -> "TentFormat":
        """The layer-wise parameter choice for the tensor ``x`` (module docstring):
        scale_exp = round(mean(log2|x|)) over nonzero finite x, rs = smallest bound whose
        maxpos covers max|x|. An all-zero tensor gives TentFormat(n, 1, 0)."""
        _check_int(n, 2, 32, "n")
        a = np.abs(np.asarray(x, dtype=np.float64)).ravel()
        a = a[np.isfinite(a) & (a > 0)]
        if a.size == 0:
            return cls(n, 1, 0)
        se = int(np.clip(np.rint(np.mean(np.log2(a))), -64, 64))
        amax = float(a.max())
        rs = n - 1
        for r in range(1, n):
            if cls.max_for(n, r, se) >= amax:
                rs = r
                break
        return cls(n, rs, se)

    def __repr__(self):
        return f"TentFormat(n={self.n}, rs={self.rs}, scale_exp={self.scale_exp})"


register("tent8", lambda: TentFormat(8, 3))
register("tent16", lambda: TentFormat(16, 4))
register_pattern(r"tent(\d+)_(\d+)(?:_(-?\d+))?",
                 lambda m: TentFormat(int(m[1]), int(m[2]), int(m[3] or 0)),
                 "tent{n}_{rs}[_{scale_exp}]")
