"""Tapered fixed point (TENT): a posit-like word with no exponent bits, a regime run of
bounded length and a per-layer power-of-two scale.

Source: H. F. Langroudi, V. Karia, T. Pandit, D. Kudithipudi, "TENT: Efficient
Quantization of Neural Networks on the tiny Edge with Tapered FixEd PoiNT", arXiv
2104.02233 (tinyML 2021 poster, OpenReview xCLZfHvH3iU).

What the primary source was checked for, and what it gave. The stored copies reachable
here (arxiv abstract pages, the ar5iv HTML rendering and OpenReview, each only from its
beginning; code, documentation and issue indexes) hold the abstract and the opening of
section 1 only; no repository implementing TENT and no copy of sections 2-5 was found
(searched for the title, the arXiv id, "tapered fixed point", TFX, the authors' names,
adaptive/generalized posit). Verified from the abstract: a tapered fixed-point format;
a quantization algorithm that matches the format's dynamic range and distribution to the
parameter distribution of each layer; an accelerator; accuracy up to ~31 % better than
fixed point at ~17-30 % energy overhead (ConvNet, ResNet-18). A secondary survey page
(emergentmind "tapered-precision representations", a generated summary, not the paper)
names the format TFX(n, IS, SC): a sign, then a "signed unary" regime of at most IS bits,
then (by the name SC) a scale. NOT verified: the bit layout beyond that, whether the word
is two's complement, the zero/NaR codes, the value equation, the rounding rule, and the
layer-wise parameter choice. The same group's adaptive posit (CVPRW 2020) and ALPS /
generalized posit (CVPRW 2021) abstracts say only that format hyper-parameters are tuned
per layer; their equations were not reachable either.

So the definition below is refquant's: the verified parts (sign, signed-unary regime of
bounded length, a per-layer scale) completed with the posit conventions (es = 0, two's
complement words, 0 and NaR codes, posit rounding). It is exact and tested as stated, but
it is not claimed to be bit-compatible with the paper's hardware:

    TentFormat(n, rs, scale_exp), 2 <= n <= 32, 1 <= rs <= n - 1, |scale_exp| <= 64.
    Codes: n-bit two's-complement words; 0 is zero, 10...0 is NaR (as posits); a negative
    value's code is the two's complement of its magnitude's code.
    Magnitude pattern (after the sign): a run of m identical bits with 1 <= m <= rs, the
    opposite bit only when m < rs (a run of rs bits has no terminator), then the
    f = n - 2 - m (m < rs) or n - 1 - rs (m = rs) remaining bits as fraction F (es = 0).
    k = m - 1 for a run of ones, -m for zeros: -rs <= k <= rs - 1 for rs < n - 1, and
    2 - n <= k <= n - 2 for rs = n - 1 (the zero run of code 1 then has a terminator).
    value = (1 + F / 2^f) * 2^(k + scale_exp).
    maxpos = 2^(rs - 1 + scale_exp) * (2 - 2^-(n-1-rs)).
    minpos (code 1) = 2^(-rs + scale_exp) * (1 + 2^-(n-1-rs)) for rs < n - 1,
                      2^(2 - n + scale_exp) for rs = n - 1.
    rs = n - 1, scale_exp = 0 is exactly posit<n, 0>.

Rounding is the posit rule (nearest, ties to the even pattern on the bit string,
saturation at +-maxpos, no underflow to zero, NaN/inf -> NaR) applied to x * 2^-scale_exp;
the directed and stochastic modes of ``encode`` choose between the same two bracketing codes.

Layer-wise parameter choice (``TentFormat.fit(x, n)``), refquant's reading of "match the
dynamic range and distribution" (the paper's algorithm was not reachable):
scale_exp = round-half-even(mean(log2|x|)) over the nonzero finite elements, which puts
the densest values (k in {-1, 0}) on the geometric centre of the layer's magnitudes;
rs = the smallest run bound in 1..n-1 whose maxpos covers max|x| (n - 1 if none does).
The scale is part of the format (decoded values include 2^scale_exp); ``refquant.quantize``
may add its own scale on top.

Names: ``tent{n}_{rs}`` (scale_exp 0) and ``tent{n}_{rs}_{scale_exp}`` (e.g.
``tent8_3_-4``); fixed names ``tent8`` = TentFormat(8, 3), ``tent16`` = TentFormat(16, 4)
(refquant's defaults, not sizes taken from the paper).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..affine import as_real_array
from .base import check_int, register, register_pattern
from .posit import _Tapered

__all__ = ["TentFormat"]


@dataclass(frozen=True)
class TentFormat(_Tapered):
    """Tapered fixed point TENT(n, rs, scale_exp): posit<n, 0> patterns with the regime run
    bounded at rs bits and values scaled by 2^scale_exp. The exact definition, what was
    verified in arXiv 2104.02233 (abstract only) and what is refquant's own completion
    are in the ``refquant.formats.tent`` module docstring."""

    n: int = 8
    rs: int = 3
    scale_exp: int = 0

    def __post_init__(self):
        check_int(self.n, 2, 32, "n")
        check_int(self.rs, 1, self.n - 1, "rs")
        check_int(self.scale_exp, -64, 64, "scale_exp")

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
        check_int(n, 2, 32, "n")
        a = np.abs(as_real_array(x).astype(np.float64)).ravel()
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
