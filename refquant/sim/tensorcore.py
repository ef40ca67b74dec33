"""Bit-accurate simulator of NVIDIA tensor-core MMA numerics.

Sources: F. A. Khattak and M. Mikaitis, "Accurate Models of NVIDIA Tensor Cores"
(arXiv 2512.07004) and their MATLAB models and recorded GPU outputs
(north-numerical-computing/MATLAB-tensor-core, BSD-2); M. Fasi, N. J. Higham,
M. Mikaitis, S. Pranesh, "Numerical behavior of NVIDIA tensor cores" (PeerJ CS 2021);
the PTX ISA (mma.sync / mma.sp shapes, integer .satfinite, block-scaled kinds).

What the model is (checked against the primary source and the recorded data)
------------------------------------------------------------------------------
One block FMA computes D = C + sum_{i<n} a_i b_i:

* products are exact and not renormalised: a = sig_a 2^ea with ea = max(floor(log2|a|),
  emin of the input format) (subnormals keep sig < 1), the product has exponent ea + eb
  and a significand in [0, 4);
* C joins as an fp32 value (exponent max(floor(log2|c|), -126)); zero products and a
  zero C take no part in choosing the exponent;
* every term is aligned to the largest exponent maxe = max(exponents, min_exp_limit):
  neab extra bits are kept below the 24-bit fp32 significand and everything further
  right is discarded (magnitude truncation, no guard or sticky bit); the aligned
  integers are summed exactly; the sum is normalised once and rounded: fp32 output by
  truncation (toward zero), fp16 output by round to nearest even;
* K larger than n is zero padded to a multiple of n and the blocks are chained in K
  order, each block's rounded D being the C of the next;
* NaN, inf * 0, or +inf with -inf give NaN; otherwise an infinite term gives that inf.
  A zero sum gives +0; a rounded magnitude >= 2^128 (fp32) or 2^16 (fp16) gives inf.

The MATLAB models express the same alignment as "normalise products >= 2 and add one
extra alignment bit when the largest product is >= 2"; both give the grid
2^(max(ea+eb, ec) - 23 - neab), which is how this implementation states it.

Presets (terms per block n, neab):
V100 fp16 n=4, neab=0; A100/A2/A30/Ada/L40S fp16/bf16 n=8, tf32 n=4, neab=1;
H100/H200/B200 fp16/bf16 n=16, tf32 n=8, neab=2.  min_exp_limit is -133 (fp32 out) /
-21 (fp16 out) on H100/H200/B200, -132 / -20 on the Ampere/Ada parts and none / -19 on
V100 (spec table; no recorded row reaches these limits, so the data neither confirms
nor contradicts them).

fp8 (e4m3fn, e5m2), three modes, each validated on every recorded row:

* ``instruction="mma.sync"`` on Ada/L40S (sm_89): n=16 with a 13-bit window
  (neab = -10); fp32 output truncated to 13 fraction bits, fp16 output rounded to
  nearest even;
* ``instruction="wgmma"`` on H100/H200 (the data's fp32 rows, C = 0): n=32, neab=-10,
  fp32 output truncated to 13 fraction bits;
* ``instruction="mma.sync"`` on H100/H200/B200 (sm_90/sm_100): found here by fitting
  the recorded rows (the MATLAB models do not reproduce them): the fp8 operands are
  converted exactly to fp16 and each k32 chunk runs as two fp16 block FMAs (n=16,
  neab=2, the fp16 preset's output rounding) over the interleaved halves k % 4 in
  {0, 1} then k % 4 in {2, 3}, starting from 0; C is then added in a separate
  operation rounded once to nearest even (fp32 or fp16). This reproduces all 5000
  rows of H100, H200 (fp16 out) and B200 (fp32 and fp16 out) for e4m3fn and e5m2.

Operand and output formats are refquant's FloatFormat objects (``refquant.format``:
fp16, bf16, tf32, e4m3fn, e5m2, e3m2, e2m3, e2m1; fp32/fp16 for C and D; e8m0 and
ue4m3fn for block scales): a value is accepted iff the format's quantisation returns it
unchanged, and decomposition takes the fraction bits and emin from them. Format names
are the registry's, with one meaning each: NVIDIA's FP8 "E4M3" is the OCP E4M3FN
("e4m3fn", max 448, no infinities), while refquant's "e4m3" is the IEEE-like E4M3
(max 240), which tensor cores do not take: "e4m3" raises ValueError saying to use
"e4m3fn".

Integer MMA (s8/u8, s4/u4) sums each instruction's chunk of K exactly and accumulates
in int32, wrapping or clamping (.satfinite) after each chunk; b1 uses XOR or AND and
popcount. Sparse MMA (mma.sp) expands the 2:4 (1:2 for tf32) metadata to the dense
operand and runs the dense model. Block-scaled MMA: see ``TensorCore.mma_block_scaled``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("tensorcore")
from .. import sparse as _sparse
from ..formats import format as _get_format
from ..modes import Rounding, as_rounding

__all__ = ["TensorCore", "BlockFMAModel", "GPUS", "INPUT_FORMATS", "PTX_SHAPES",
           "decompress_sparse"]

# Input format name -> refquant format (refquant.formats.floats): NVIDIA's FP8 E4M3 is
# the OCP E4M3 without infinities (max 448, "e4m3fn"); e3m2/e2m3/e2m1 are the OCP MX
# element formats. Every bit width, exponent range and rounding comes from these objects.
_IN = {"fp16": "fp16", "bf16": "bf16", "tf32": "tf32", "e4m3fn": "e4m3fn", "e5m2": "e5m2",
       "e3m2": "e3m2", "e2m3": "e2m3", "e2m1": "e2m1"}


def _fmt(name):
    """The refquant FloatFormat of a tensor-core format name (input names or fp32)."""
    return _get_format(_IN.get(name, name))


_ALIASES = {"half": "fp16", "binary16": "fp16", "float16": "fp16", "bfloat16": "bf16",
            "tensorfloat32": "tf32", "fp8-e5m2": "e5m2", "float8_e4m3fn": "e4m3fn",
            "float8_e5m2": "e5m2", "fp4": "e2m1", "single": "fp32", "binary32": "fp32",
            "float32": "fp32", "f32": "fp32", "f16": "fp16"}
INPUT_FORMATS = ("fp16", "bf16", "tf32", "e4m3fn", "e5m2")
FP8_FORMATS = ("e4m3fn", "e5m2")
# names whose E4M3 is ambiguous: refquant.format("e4m3") is the IEEE-like E4M3
_AMBIGUOUS = ("e4m3", "fp8-e4m3", "fp8_e4m3", "float8_e4m3")
_OUT = {"fp32": (-126, 127, 23), "fp16": (-14, 15, 10)}
_INT = {"s8": (-128, 127, 32), "u8": (0, 255, 32), "s4": (-8, 7, 64), "u4": (0, 15, 64)}

# gpu: (n fp16/bf16, n tf32, n fp8 or None, neab, min_exp fp32 out, min_exp fp16 out,
#       formats, fp8 instructions, compute capability)
GPUS = {
    "V100": (4, None, None, 0, None, -19, ("fp16",), (), "sm_70"),
    "A100": (8, 4, None, 1, -132, -20, ("fp16", "bf16", "tf32"), (), "sm_80"),
    "A2": (8, 4, None, 1, -132, -20, ("fp16", "bf16", "tf32"), (), "sm_86"),
    "A30": (8, 4, None, 1, -132, -20, ("fp16", "bf16", "tf32"), (), "sm_80"),
    "Ada": (8, 4, 16, 1, -132, -20, INPUT_FORMATS, ("mma.sync",), "sm_89"),
    "L40S": (8, 4, 16, 1, -132, -20, INPUT_FORMATS, ("mma.sync",), "sm_89"),
    "H100": (16, 8, 32, 2, -133, -21, INPUT_FORMATS, ("wgmma", "mma.sync"), "sm_90"),
    "H200": (16, 8, 32, 2, -133, -21, INPUT_FORMATS, ("wgmma", "mma.sync"), "sm_90"),
    "B200": (16, 8, 32, 2, -133, -21, INPUT_FORMATS, ("mma.sync",), "sm_100"),
}

# PTX mma.sync shapes (M, N, K) per input type.
PTX_SHAPES = {
    "fp16": ((16, 8, 16), (16, 8, 8), (8, 8, 4)),
    "bf16": ((16, 8, 16), (16, 8, 8)),
    "tf32": ((16, 8, 8), (16, 8, 4)),
    "e4m3fn": ((16, 8, 32),),
    "e5m2": ((16, 8, 32),),
    "s8": ((16, 8, 32), (16, 8, 16), (8, 8, 16)),
    "u8": ((16, 8, 32), (16, 8, 16), (8, 8, 16)),
    "s4": ((16, 8, 64), (16, 8, 32), (8, 8, 32)),
    "u4": ((16, 8, 64), (16, 8, 32), (8, 8, 32)),
    "b1": ((16, 8, 256), (16, 8, 128), (8, 8, 128)),
}


def _fmt_name(name, param, table):
    if not isinstance(name, str):
        raise TypeError(f"{param} must be a string naming a format, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _AMBIGUOUS:
        raise ValueError(f"{param}={name!r} is ambiguous: refquant.format('e4m3') is the "
                         "IEEE-like E4M3 (max 240), which tensor cores do not take; NVIDIA's "
                         "FP8 E4M3 is the OCP E4M3FN: use 'e4m3fn'")
    key = _ALIASES.get(key, key)
    if key not in table:
        raise ValueError(f"{param}={name!r} is not supported; allowed: {', '.join(table)}")
    return key


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


def _check_representable(x, fmt, param):
    """Raise ValueError if any element of float64 x is not a value of format fmt (an
    input name or "fp32"/"fp16"): x is representable iff the format's round-to-nearest
    quantisation returns it unchanged; NaN and inf only where the format has them."""
    f = _fmt(fmt)
    nan = np.isnan(x)
    if nan.any() and not f.has_nan:
        raise ValueError(f"{param} holds NaN, which {f.name} cannot represent")
    inf = np.isinf(x)
    if inf.any() and not f.has_inf:
        raise ValueError(f"{param} holds inf, which {fmt} cannot represent")
    v = x[~(nan | inf)]
    if v.size == 0:
        return
    vmax = f.max
    over = np.abs(v) > vmax
    if over.any():
        raise ValueError(f"{param} holds {v[int(np.argmax(over))]!r}, beyond the largest "
                         f"{fmt} value {vmax!r}")
    bad = f.quantize(v) != v
    if bad.any():
        raise ValueError(f"{param} holds {v[int(np.argmax(bad))]!r}, which is not "
                         f"representable in {fmt}")


def _check_out_representable(c, out):
    try:
        _check_representable(c, out, "C")
    except ValueError as exc:
        raise ValueError(f"{exc} (the output format {out})") from None


def _as_float(x, param):
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds
        raise TypeError(f"{param} must be array-like: {exc}") from None
    if arr.dtype.kind not in "fiub":
        if arr.dtype.kind == "V" or arr.dtype.name in ("bfloat16",) or "float8" in arr.dtype.name:
            arr = arr.astype(np.float64)
        else:
            raise TypeError(f"{param} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


@dataclass(frozen=True)
class BlockFMAModel:
    """A parameterised block-FMA unit (one tensor-core dot-product step).

    n          terms per block FMA (K is zero padded to a multiple of n).
    neab       extra alignment bits kept below the 24-bit fp32 significand (may be
               negative: -10 keeps a 13-bit window as the fp8 paths of Ada/Hopper).
    in_format  operand format (fp16, bf16, tf32, e4m3fn, e5m2, or e3m2/e2m3/e2m1).
    out_format fp32 or fp16 (C and D).
    rounding   rounding of the normalised sum (a ``Rounding``; hardware: TOWARD_ZERO
               for fp32 output, NEAREST_EVEN for fp16 output).
    frac_bits  fraction bits the output keeps (None: 23 or 10; the fp8 window paths
               keep 23 + neab for fp32).
    min_exp_limit  lower limit of the alignment exponent (None: no limit).
    in_subnormals  False flushes subnormal operands to zero before the MMA.
    fp8_sync   the sm_90/sm_100 fp8 mma.sync model (two interleaved fp16 half blocks
               chained from 0, then C added with one round to nearest even).

    The aligned sum is held exactly (carry bits unlimited: with n <= 64 terms the
    hardware needs at most 7 carry bits, so no carry is ever lost in the model).
    """

    n: int
    neab: int
    in_format: str
    out_format: str = "fp32"
    rounding: Rounding = Rounding.TOWARD_ZERO
    frac_bits: int | None = None
    min_exp_limit: int | None = None
    in_subnormals: bool = True
    fp8_sync: bool = False

    def __post_init__(self):
        object.__setattr__(self, "in_format", _fmt_name(self.in_format, "in_format", _IN))
        object.__setattr__(self, "out_format", _fmt_name(self.out_format, "out_format", _OUT))
        object.__setattr__(self, "rounding", as_rounding(self.rounding))
        if not isinstance(self.n, (int, np.integer)) or not 1 <= self.n <= 64:
            raise ValueError(f"n={self.n!r} must be an integer in [1, 64]")
        if not isinstance(self.neab, (int, np.integer)) or not -20 <= self.neab <= 30:
            raise ValueError(f"neab={self.neab!r} must be an integer in [-20, 30]")
        if self.frac_bits is not None and not 0 <= self.frac_bits <= _OUT[self.out_format][2]:
            raise ValueError(f"frac_bits={self.frac_bits!r} must be in [0, "
                             f"{_OUT[self.out_format][2]}] for {self.out_format}")
        if self.rounding == Rounding.STOCHASTIC:
            raise ValueError("rounding=STOCHASTIC is not a tensor-core output rounding")
        if self.fp8_sync and self.n != 32:
            raise ValueError("fp8_sync requires n=32 (one k32 mma.sync instruction)")

    @property
    def _frac(self):
        if self.frac_bits is not None:
            return self.frac_bits
        full = _OUT[self.out_format][2]
        if self.out_format == "fp32" and self.neab < 0:
            return full + self.neab
        return full

    def _decompose(self, x, fmt):
        f = _fmt(fmt)
        p, emin = f.man_bits, f.emin
        if self.fp8_sync:  # operands converted exactly to fp16 first
            f16 = _fmt("fp16")
            p, emin = f16.man_bits, f16.emin
        if not self.in_subnormals:
            x = np.where(np.abs(x) < f.min_normal, 0.0, x)
        shape = x.shape
        flat = np.ascontiguousarray(x).reshape(-1)
        sig = np.empty(flat.size, np.int64)
        exp = np.empty(flat.size, np.int64)
        cls = np.empty(flat.size, np.int8)
        _k.decompose(flat, p, emin, sig, exp, cls)
        return sig.reshape(shape), exp.reshape(shape), cls.reshape(shape), p

    def _args(self):
        emin, emax, _ = _OUT[self.out_format]
        if self.fp8_sync:
            return (self.n, 1, 20, self.neab, _NOLIM if self.min_exp_limit is None
                    else self.min_exp_limit, emin, emax, self._frac, int(self.rounding))
        p = _fmt(self.in_format).man_bits
        return (self.n, 0, 2 * p, self.neab,
                _NOLIM if self.min_exp_limit is None else self.min_exp_limit,
                emin, emax, self._frac, int(self.rounding))

    def _cast(self, out):
        return out.astype(np.float32 if self.out_format == "fp32" else np.float16)

    def rows(self, a, b, c=None):
        """D[r] = chained block FMAs of a[r, :] . b[r, :] + c[r] (a, b: rows x K)."""
        a = _as_float(a, "a")
        b = _as_float(b, "b")
        if a.ndim != 2 or b.shape != a.shape:
            raise ValueError(f"a and b must be 2-D of equal shape (rows, K); got {a.shape} "
                             f"and {b.shape}")
        c = np.zeros(a.shape[0]) if c is None else _as_float(c, "c")
        if c.shape != (a.shape[0],):
            raise ValueError(f"c must have shape ({a.shape[0]},), got {c.shape}")
        _check_representable(a, self.in_format, "a")
        _check_representable(b, self.in_format, "b")
        _check_out_representable(c, self.out_format)
        return self._run(_k.mma_rows_fast, _k.mma_rows, a, b, c, np.empty(a.shape[0]))

    def _run(self, fast, exact, a, b, c, out):
        """Decompose a and b (both with K last) and run the kernel pair's ``fast``
        member (finite operands, not the fp8 mma.sync model) or else ``exact`` into
        out; returns out cast to the output format."""
        if not self.fp8_sync and all(np.isfinite(x).all() for x in (a, b, c)):
            asig, aexp = self._decompose_fast(a)
            bsig, bexp = self._decompose_fast(b)
            fast(asig, aexp, bsig, bexp, c, *self._fast_args(), out)
        else:
            asig, aexp, acls, _ = self._decompose(a, self.in_format)
            bsig, bexp, bcls, _ = self._decompose(b, self.in_format)
            exact(asig, aexp, acls, bsig, bexp, bcls, c, *self._args(), out)
        return self._cast(out)

    def _fast_args(self):
        n, _, two_p, *rest = self._args()
        return (n, two_p, *rest)

    def _decompose_fast(self, x):
        f = _fmt(self.in_format)
        p, emin = f.man_bits, f.emin
        if not self.in_subnormals:
            x = np.where(np.abs(x) < f.min_normal, 0.0, x)
        flat = np.ascontiguousarray(x).reshape(-1)
        sig = np.empty(flat.size, np.int64)
        exp = np.empty(flat.size, np.int64)
        _k.decompose_fast(flat, p, emin, sig, exp)
        return sig.reshape(x.shape), exp.reshape(x.shape)

    def gemm(self, A, B, C=None):
        """D = A @ B + C for any (M, K) x (K, N): each D[i, j] chains block FMAs along K."""
        A = _as_float(A, "A")
        B = _as_float(B, "B")
        if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {A.shape}, {B.shape}")
        M, N = A.shape[0], B.shape[1]
        C = np.zeros((M, N)) if C is None else _as_float(C, "C")
        if C.shape != (M, N):
            raise ValueError(f"C must have shape {(M, N)}, got {C.shape}")
        _check_representable(A, self.in_format, "A")
        _check_representable(B, self.in_format, "B")
        _check_out_representable(C, self.out_format)
        return self._run(_k.gemm_fast, _k.gemm, A, np.ascontiguousarray(B.T),
                         np.ascontiguousarray(C), np.empty((M, N)))


_NOLIM = -1000000


def decompress_sparse(values, metadata, k, ratio="2:4"):
    """Expand N:M compressed rows to dense (rows, k).

    values: (rows, k // 2); metadata: integer words (rows, words) holding one 4-bit
    nibble per group of 4 (2:4: idx0 | idx1 << 2 with idx0 < idx1) or per group of 2
    (1:2, tf32: 0b0100 = element 0, 0b1110 = element 1), packed little-endian
    (group g at bits 4g..4g+3 of the word stream, words of any integer width; nibbles
    beyond the k / 4 (k / 2) groups are ignored). This is the layout of
    ``refquant.sparse.compress_2_4``, whose ``decompress_2_4`` does the expansion here
    (the words are regrouped into its int16 words first); invalid nibbles raise its
    ValueError ("invalid metadata nibble ...").
    """
    vals = np.asarray(values)
    meta = np.asarray(metadata)
    if meta.dtype.kind not in "iu":
        raise TypeError(f"metadata must be an integer array, got dtype {meta.dtype}")
    if vals.ndim != 2 or meta.ndim != 2 or meta.shape[0] != vals.shape[0]:
        raise ValueError(f"values (rows, k/2) and metadata (rows, words) do not match: "
                         f"{vals.shape}, {meta.shape}")
    rows = vals.shape[0]
    if ratio == "2:4":
        group, kept = 4, 2
    elif ratio == "1:2":
        group, kept = 2, 1
    else:
        raise ValueError(f"ratio={ratio!r} must be '2:4' or '1:2'")
    if k % group or vals.shape[1] != k // group * kept:
        raise ValueError(f"values must have shape (rows, {k // group * kept}) for k={k}; "
                         f"got {vals.shape}")
    groups = k // group
    per = meta.dtype.itemsize * 2
    if meta.shape[1] * per < groups:
        raise ValueError(f"metadata holds {meta.shape[1] * per} nibbles per row, need {groups}")
    # The nibble stream is the words' little-endian bytes, whatever the word width:
    # regroup it into the int16 words of refquant.sparse's layout (4 groups a word),
    # filling any missing groups of the last word with the valid nibble 0b0100 and
    # zero values, and let refquant.sparse.decompress_2_4 expand (and validate) it.
    le = meta.astype(meta.dtype.newbyteorder("<"), copy=False)
    raw = np.ascontiguousarray(le).view(np.uint8).reshape(rows, -1)[:, :(groups + 1) // 2]
    raw = raw.copy()
    if groups % 2:
        raw[:, -1] = (raw[:, -1] & 0x0F) | 0x40
    pad = (-groups) % 4
    if pad:
        raw = np.concatenate([raw, np.full((rows, (groups + pad + 1) // 2 - raw.shape[1]),
                                           0x44, np.uint8)], axis=1)
        vals = np.concatenate([vals, np.zeros((rows, pad * kept), vals.dtype)], axis=1)
    words = np.ascontiguousarray(raw).view("<i2").astype(np.int16)
    dense = _sparse.decompress_2_4(vals, words, data_bits=16 if ratio == "2:4" else 32)
    return dense[:, :k]


class TensorCore:
    """The tensor cores of one NVIDIA GPU: ``TensorCore("H100")``.

    gpu is one of V100, A100, A2, A30, Ada, L40S, H100, H200, B200 (see ``GPUS``).
    Methods take operands as float arrays holding values of the declared input format
    (a ValueError names any operand that is not) and return float32 (fp32 output) or
    float16 (fp16 output) arrays holding exactly what the GPU returns.
    """

    def __init__(self, gpu: str):
        if not isinstance(gpu, str):
            raise TypeError(f"gpu must be a string, got {type(gpu).__name__}")
        key = {g.lower(): g for g in GPUS}.get(gpu.strip().lower())
        if key is None:
            raise ValueError(f"gpu={gpu!r} is unknown; allowed: {', '.join(GPUS)}")
        self.gpu = key
        self._p = GPUS[key]

    def __repr__(self):
        return f"TensorCore({self.gpu!r})"

    @property
    def formats(self):
        """Floating-point input formats this GPU's tensor cores accept."""
        return self._p[6]

    def model(self, in_format="fp16", out_format="fp32", instruction=None) -> BlockFMAModel:
        """The BlockFMAModel this GPU uses for in_format -> out_format.

        instruction (fp8 only, None otherwise): "wgmma" (H100/H200, the default there)
        or "mma.sync" (the default elsewhere). bf16 and tf32 accumulate in fp32 only (PTX).
        Format names as in ``INPUT_FORMATS`` ("e4m3fn" for NVIDIA's FP8 E4M3; the
        ambiguous "e4m3" raises ValueError)."""
        if instruction is not None and not isinstance(instruction, str):
            raise TypeError(f"instruction must be a str or None, got {type(instruction).__name__}")
        n16, ntf, nf8, neab, me32, me16, fmts, instrs, _ = self._p
        fin = _fmt_name(in_format, "in_format", _IN)
        fout = _fmt_name(out_format, "out_format", _OUT)
        if fin not in fmts:
            raise ValueError(f"in_format={fin!r} is not supported by {self.gpu} tensor cores; "
                             f"allowed: {', '.join(fmts)}")
        if fin in ("bf16", "tf32") and fout != "fp32":
            raise ValueError(f"out_format={fout!r}: {fin} MMA accumulates in fp32 only")
        rnd = Rounding.TOWARD_ZERO if fout == "fp32" else Rounding.NEAREST_EVEN
        lim = me32 if fout == "fp32" else me16
        if fin in FP8_FORMATS:
            if instruction is None:
                instruction = "wgmma" if "wgmma" in instrs else "mma.sync"
            if instruction not in instrs:
                raise ValueError(f"instruction={instruction!r} is not available for fp8 on "
                                 f"{self.gpu}; allowed: {', '.join(instrs)}")
            if instruction == "wgmma" or self.gpu in ("Ada", "L40S"):
                return BlockFMAModel(nf8, -10, fin, fout, rnd, None, lim)
            return BlockFMAModel(32, neab, fin, fout, rnd, None, lim, fp8_sync=True)
        if instruction is not None:
            raise ValueError(f"instruction={instruction!r} applies to fp8 formats only "
                             f"({', '.join(FP8_FORMATS)}); {fin} has one model on {self.gpu}")
        n = ntf if fin == "tf32" else n16
        return BlockFMAModel(n, neab, fin, fout, rnd, None, lim)

    def mma_rows(self, a, b, c=None, in_format="fp16", out_format="fp32", instruction=None):
        """One chain of block FMAs per row: D[r] = a[r, :] . b[r, :] + c[r].

        a, b: (rows, K) float arrays of in_format values; c: (rows,) values of
        out_format (zeros when None). This is the shape of the recorded GPU data.
        """
        return self.model(in_format, out_format, instruction).rows(a, b, c)

    def gemm(self, A, B, C=None, in_format="fp16", out_format="fp32", instruction=None):
        """D = A @ B + C for any M, N, K: blocks along K chained in K order, zero padded."""
        return self.model(in_format, out_format, instruction).gemm(A, B, C)

    def mma(self, A, B, C=None, in_format="fp16", out_format="fp32", instruction=None):
        """One PTX mma.sync tile: A (M, K), B (K, N), C (M, N) with (M, N, K) one of the
        shapes in PTX_SHAPES[in_format] (e.g. m16n8k16 for fp16)."""
        fin = _fmt_name(in_format, "in_format", _IN)
        self._check_shape(A, B, fin)
        return self.gemm(A, B, C, fin, out_format, instruction)

    def _check_shape(self, A, B, fin):
        sa, sb = np.shape(A), np.shape(B)
        if len(sa) != 2 or len(sb) != 2 or sa[1] != sb[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {sa}, {sb}")
        shape = (sa[0], sb[1], sa[1])
        if shape not in PTX_SHAPES[fin]:
            allowed = ", ".join(f"m{m}n{n}k{k}" for m, n, k in PTX_SHAPES[fin])
            raise ValueError(f"shape m{shape[0]}n{shape[1]}k{shape[2]} is not a PTX mma "
                             f"shape for {fin}; allowed: {allowed}")

    # ---------------------------------------------------------------- integer MMA
    def imma(self, A, B, C=None, in_format="s8", saturate=False, tile=False):
        """Integer MMA D = A @ B + C with s32 accumulation (s8/u8/s4/u4 operands).

        Each instruction's chunk of K (32 for 8-bit, 64 for 4-bit operands) is summed
        exactly; the int32 accumulator then wraps modulo 2^32, or with saturate=True
        (PTX .satfinite) is clamped to [-2^31, 2^31 - 1]. tile=True also checks that
        the shape is a PTX mma shape. Returns int32. Not available on V100.
        """
        _check_flag(saturate, "saturate")
        _check_flag(tile, "tile")
        if self.gpu == "V100":
            raise ValueError("V100 tensor cores have no integer MMA (in_format)")
        fin = _fmt_name(in_format, "in_format", _INT)
        lo, hi, kstep = _INT[fin]
        A = np.asarray(A)
        B = np.asarray(B)
        if tile:
            self._check_shape(A, B, fin)
        a, bt, c = self._int_operands(A, B, C, lo, hi)
        out = np.empty(c.shape, np.int64)
        _k.int_gemm(a, bt, c, kstep, 1 if saturate else 0, out)
        return out.astype(np.int32)

    def bmma(self, A, B, C=None, op="xor", tile=False):
        """Binary MMA: D = C + popc(A op B) over K with A, B of 0/1 bits, op "xor" or
        "and"; int32 accumulation wrapping modulo 2^32. Returns int32."""
        _check_flag(tile, "tile")
        if self.gpu == "V100":
            raise ValueError("V100 tensor cores have no binary MMA (in_format b1)")
        if op not in ("xor", "and"):
            raise ValueError(f"op={op!r} must be 'xor' or 'and'")
        A = np.asarray(A)
        B = np.asarray(B)
        if tile:
            self._check_shape(A, B, "b1")
        a, bt, c = self._int_operands(A, B, C, 0, 1)
        out = np.empty(c.shape, np.int64)
        _k.bin_gemm(a.astype(np.int8), bt.astype(np.int8), c, 0 if op == "xor" else 1, out)
        return out.astype(np.int32)

    @staticmethod
    def _int_operands(A, B, C, lo, hi):
        for name, x in (("A", A), ("B", B)):
            if x.dtype.kind not in "iub":
                raise TypeError(f"{name} must be an integer array, got dtype {x.dtype}")
            if x.ndim != 2:
                raise ValueError(f"{name} must be 2-D, got shape {x.shape}")
            if x.size and (x.min() < lo or x.max() > hi):
                raise ValueError(f"{name} holds values outside [{lo}, {hi}]")
        if A.shape[1] != B.shape[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {A.shape}, {B.shape}")
        shape = (A.shape[0], B.shape[1])
        if C is None:
            c = np.zeros(shape, np.int64)
        else:
            c = np.asarray(C)
            if c.dtype.kind not in "iu" or c.shape != shape:
                raise ValueError(f"C must be an integer array of shape {shape}")
            if c.size and (c.min() < -2**31 or c.max() > 2**31 - 1):
                raise ValueError("C holds values outside int32")
            c = c.astype(np.int64)
        return (np.ascontiguousarray(A, np.int64), np.ascontiguousarray(B.T, np.int64),
                np.ascontiguousarray(c))

    # ---------------------------------------------------------------- sparse MMA
    def mma_sp(self, values, metadata, B, C=None, in_format="fp16", out_format="fp32",
               instruction=None, saturate=False):
        """Sparse MMA (mma.sp): A given as compressed values (M, K/2) and metadata
        nibbles (2:4; 1:2 for tf32, see ``decompress_sparse``); the result equals the
        dense MMA of the decompressed A. Integer formats (s8/u8/s4/u4) use ``imma``."""
        B = np.asarray(B)
        if B.ndim != 2:
            raise ValueError(f"B must be 2-D (K, N), got shape {B.shape}")
        key = in_format.strip().lower() if isinstance(in_format, str) else in_format
        ratio = "1:2" if _ALIASES.get(key, key) == "tf32" else "2:4"
        A = decompress_sparse(values, metadata, B.shape[0], ratio)
        if key in _INT:
            return self.imma(A, B, C, key, saturate)
        return self.gemm(A, B, C, in_format, out_format, instruction)

    # ---------------------------------------------------------------- block scaled
    def mma_block_scaled(self, A, B, C=None, scale_a=None, scale_b=None, in_format="e4m3fn",
                         kind="mxf8f6f4"):
        """Block-scaled MMA (B200): D = C + sum_k (A[i,k] sa[i,k//s]) (B[k,j] sb[k//s,j]).

        kind "mxf8f6f4": operands e4m3fn/e5m2/e3m2/e2m3/e2m1 with ue8m0 scales (powers of
        two 2^-127 .. 2^127) per s = 32 elements of K; kind "nvf4": e2m1 operands with
        ue4m3 scales (positive e4m3 values) per s = 16. scale_a has shape (M, K/s),
        scale_b (K/s, N); fp32 C and D.

        Accumulation assumption (no published measurement exists): each scaled product
        is exact and enters the fp32 block FMA of the B200 fp16 path (n = 32 terms per
        instruction, neab = 2, truncation to fp32) with the scaled operand's exponent
        taken as floor(log2 |a * s|); blocks chain along K.
        """
        if self.gpu != "B200":
            raise ValueError(f"block-scaled MMA needs sm_100 (B200), not {self.gpu}")
        if kind == "mxf8f6f4":
            blk, fmts = 32, ("e4m3fn", "e5m2", "e3m2", "e2m3", "e2m1")
        elif kind == "nvf4":
            blk, fmts = 16, ("e2m1",)
        else:
            raise ValueError(f"kind={kind!r} must be 'mxf8f6f4' or 'nvf4'")
        fin = _fmt_name(in_format, "in_format", _IN)
        if fin not in fmts:
            raise ValueError(f"in_format={fin!r} is not allowed for kind {kind}; allowed: "
                             f"{', '.join(fmts)}")
        A = _as_float(A, "A")
        B = _as_float(B, "B")
        if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {A.shape}, {B.shape}")
        M, K = A.shape
        N = B.shape[1]
        if K % blk:
            raise ValueError(f"K={K} must be a multiple of the scale block {blk}")
        _check_representable(A, fin, "A")
        _check_representable(B, fin, "B")
        if scale_a is None or scale_b is None:
            raise ValueError(f"block-scaled MMA needs scale_a of shape {(M, K // blk)} and "
                             f"scale_b of shape {(K // blk, N)}")
        sa = _as_float(scale_a, "scale_a")
        sb = _as_float(scale_b, "scale_b")
        if sa.shape != (M, K // blk):
            raise ValueError(f"scale_a must have shape {(M, K // blk)}, got {sa.shape}")
        if sb.shape != (K // blk, N):
            raise ValueError(f"scale_b must have shape {(K // blk, N)}, got {sb.shape}")
        # ue8m0 (OCP MX E8M0: powers of two 2^-127 .. 2^127, no zero) and ue4m3 (the
        # non-negative OCP E4M3 values): a scale is valid iff the format reproduces it.
        sfmt = _get_format("e8m0" if kind == "mxf8f6f4" else "ue4m3fn")
        for name, s in (("scale_a", sa), ("scale_b", sb)):
            ok = np.isfinite(s) & (s > 0)
            ok[ok] = sfmt.quantize(s[ok]) == s[ok]
            if not ok.all():
                what = ("a ue8m0 value (a power of two in [2^-127, 2^127])"
                        if kind == "mxf8f6f4" else "a positive ue4m3 value")
                raise ValueError(f"{name} holds {float(s[~ok].flat[0])!r}, not {what}")
        As = A * np.repeat(sa, blk, axis=1)
        Bs = B * np.repeat(sb, blk, axis=0)
        C = np.zeros((M, N)) if C is None else _as_float(C, "C")
        if C.shape != (M, N):
            raise ValueError(f"C must have shape {(M, N)}, got {C.shape}")
        _check_out_representable(C, "fp32")
        n16, _, _, neab, me32 = self._p[:5]
        out = np.empty((M, N))
        parts = []
        for X in (As, np.ascontiguousarray(Bs.T)):
            flat = X.reshape(-1)
            sig = np.empty(flat.size, np.int64)
            exp = np.empty(flat.size, np.int64)
            cls = np.empty(flat.size, np.int8)
            _k.decompose(flat, 23, -100000, sig, exp, cls)
            parts.append((sig.reshape(X.shape), exp.reshape(X.shape), cls.reshape(X.shape)))
        (asig, aexp, acls), (bsig, bexp, bcls) = parts
        _k.gemm(asig, aexp, acls, bsig, bexp, bcls, np.ascontiguousarray(C), 32, 0, 46,
                neab, me32, -126, 127, 23, int(Rounding.TOWARD_ZERO), out)
        return out.astype(np.float32)
