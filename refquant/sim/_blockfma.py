"""The block-FMA unit of NVIDIA tensor cores, bit-accurate: ``BlockFMAModel`` and the
operand and output formats it takes."""
from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from ..registry import format as _get_format
from ..modes import Rounding, as_rounding

_k = kernels("tensorcore")

__all__ = ["BlockFMAModel", "INPUT_FORMATS", "FP8_FORMATS", "input_format_name"]

# Operand formats, by refquant's format names: NVIDIA's FP8 E4M3 is the OCP E4M3 without
# infinities (max 448, "e4m3fn"); e3m2/e2m3/e2m1 are the OCP MX element formats. Every
# bit width, exponent range and rounding comes from these format objects.
IN_NAMES = ("fp16", "bf16", "tf32", "e4m3fn", "e5m2", "e3m2", "e2m3", "e2m1")
ALIASES = {"half": "fp16", "binary16": "fp16", "float16": "fp16", "bfloat16": "bf16",
           "tensorfloat32": "tf32", "fp8-e5m2": "e5m2", "float8_e4m3fn": "e4m3fn",
           "float8_e5m2": "e5m2", "fp4": "e2m1", "single": "fp32", "binary32": "fp32",
           "float32": "fp32", "f32": "fp32", "f16": "fp16"}
INPUT_FORMATS = ("fp16", "bf16", "tf32", "e4m3fn", "e5m2")
FP8_FORMATS = ("e4m3fn", "e5m2")
# names whose E4M3 is ambiguous: refquant.format("e4m3") is the IEEE-like E4M3
_AMBIGUOUS = ("e4m3", "fp8-e4m3", "fp8_e4m3", "float8_e4m3")
OUT = {"fp32": (-126, 127, 23), "fp16": (-14, 15, 10)}   # (emin, emax, fraction bits)
NO_LIMIT = -1000000   # min_exp_limit of the kernels: no limit


def tc_format(name: str) -> Any:
    """The refquant FloatFormat of a tensor-core format name (input names or fp32)."""
    return _get_format(name)


def format_name(name: object, param: str, table: Collection[str]) -> str:
    """``name`` (any case, aliases such as "half" or "bfloat16" accepted) as the key of
    ``table`` it names; TypeError for a non-str, ValueError for an ambiguous E4M3 name
    or a name outside ``table``; the messages name ``param``."""
    if not isinstance(name, str):
        raise TypeError(f"{param} must be a string naming a format, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _AMBIGUOUS:
        raise ValueError(f"{param}={name!r} is ambiguous: refquant.format('e4m3') is the "
                         "IEEE-like E4M3 (max 240), which tensor cores do not take; NVIDIA's "
                         "FP8 E4M3 is the OCP E4M3FN: use 'e4m3fn'")
    key = ALIASES.get(key, key)
    if key not in table:
        raise ValueError(f"{param}={name!r} is not supported; allowed: {', '.join(table)}")
    return key


def input_format_name(name: str, param: str = "in_format",
                      allowed: Collection[str] = IN_NAMES) -> str:
    """The tensor-core input format that ``name`` names, as refquant's format name
    (fp16, bf16, tf32, e4m3fn, e5m2, e3m2, e2m3, e2m1; aliases such as "half",
    "bfloat16" or "float8_e4m3fn" accepted), limited to ``allowed``. TypeError for a
    non-str; ValueError, naming ``param``, for a name outside ``allowed`` and for the
    ambiguous "e4m3" (refquant's IEEE-like E4M3, max 240, which tensor cores do not
    take; NVIDIA's FP8 E4M3 is "e4m3fn")."""
    return format_name(name, param, tuple(allowed))


_TILE = 64  # output columns per tile of kernels.tensorcore.gemm_tiled
_NATIVE = {"fp16": np.float16, "fp32": np.float32}


def check_representable(x: np.ndarray, fmt: str, param: str) -> None:
    """Raise ValueError if any element of float64 x is not a value of format fmt (an
    input name or "fp32"/"fp16"): x is representable iff the format's round-to-nearest
    quantisation returns it unchanged; NaN and inf only where the format has them."""
    native = _NATIVE.get(fmt)
    if native is not None:
        # IEEE fp16/fp32 have NaN and inf: x passes when it survives the round trip
        # through NumPy's type (NaN compares unequal and is accepted on its own); any
        # other x goes through the checks below, which name the offending value
        with np.errstate(over="ignore", invalid="ignore"):
            y = x.astype(native)
        if bool(np.all((y == x) | np.isnan(x))):
            return
    f = tc_format(fmt)
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


def check_out_representable(c: np.ndarray, out: str) -> None:
    try:
        check_representable(c, out, "C")
    except ValueError as exc:
        raise ValueError(f"{exc} (the output format {out})") from None


def as_float(x: npt.ArrayLike, param: str) -> np.ndarray:
    """``x`` as a contiguous float64 array (ml_dtypes' bfloat16 and float8 types
    included); TypeError for anything that does not hold real numbers."""
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

    One block FMA computes D = C + sum_{i<n} a_i b_i:

    * products are exact and not renormalised: a = sig_a 2^ea with ea =
      max(floor(log2|a|), emin of the input format) (subnormals keep sig < 1), the
      product has exponent ea + eb and a significand in [0, 4);
    * C joins as an fp32 value (exponent max(floor(log2|c|), -126)); zero products and a
      zero C take no part in choosing the exponent;
    * every term is aligned to the largest exponent maxe = max(exponents,
      min_exp_limit): neab extra bits are kept below the 24-bit fp32 significand and
      everything further right is discarded (magnitude truncation, no guard or sticky
      bit), i.e. the grid is 2^(max(ea+eb, ec) - 23 - neab); the aligned integers are
      summed exactly; the sum is normalised once and rounded (``rounding``) to
      ``frac_bits`` fraction bits;
    * K larger than n is zero padded to a multiple of n and the blocks are chained in
      K order, each block's rounded D being the C of the next;
    * NaN, inf * 0, or +inf with -inf give NaN; otherwise an infinite term gives that
      inf. A zero sum gives +0; a rounded magnitude >= 2^128 (fp32) or 2^16 (fp16)
      gives inf.

    With fp8_sync the fp8 operands are converted exactly to fp16 and each k32 chunk
    runs as two fp16 block FMAs (n=16 terms each, neab, the output rounding) over the
    interleaved halves k % 4 in {0, 1} then k % 4 in {2, 3}, starting from 0; C is then
    added in a separate operation rounded once to nearest even.

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_format", format_name(self.in_format, "in_format", IN_NAMES))
        object.__setattr__(self, "out_format", format_name(self.out_format, "out_format", OUT))
        object.__setattr__(self, "rounding", as_rounding(self.rounding))
        if not isinstance(self.n, (int, np.integer)) or not 1 <= self.n <= 64:
            raise ValueError(f"n={self.n!r} must be an integer in [1, 64]")
        if not isinstance(self.neab, (int, np.integer)) or not -20 <= self.neab <= 30:
            raise ValueError(f"neab={self.neab!r} must be an integer in [-20, 30]")
        if self.frac_bits is not None and not 0 <= self.frac_bits <= OUT[self.out_format][2]:
            raise ValueError(f"frac_bits={self.frac_bits!r} must be in [0, "
                             f"{OUT[self.out_format][2]}] for {self.out_format}")
        if self.rounding == Rounding.STOCHASTIC:
            raise ValueError("rounding=STOCHASTIC is not a tensor-core output rounding")
        if self.fp8_sync and self.n != 32:
            raise ValueError("fp8_sync requires n=32 (one k32 mma.sync instruction)")

    @property
    def _frac(self) -> int:
        if self.frac_bits is not None:
            return self.frac_bits
        full = OUT[self.out_format][2]
        if self.out_format == "fp32" and self.neab < 0:
            return full + self.neab
        return full

    def _decompose(self, x: np.ndarray, fmt: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        f = tc_format(fmt)
        p, emin = f.man_bits, f.emin
        smallest_normal = math.ldexp(1.0, f.emin)
        if self.fp8_sync:  # operands converted exactly to fp16 first
            f16 = tc_format("fp16")
            p, emin = f16.man_bits, f16.emin
        if not self.in_subnormals:
            x = np.where(np.abs(x) < smallest_normal, 0.0, x)
        shape = x.shape
        flat = np.ascontiguousarray(x).reshape(-1)
        sig = np.empty(flat.size, np.int64)
        exp = np.empty(flat.size, np.int64)
        cls = np.empty(flat.size, np.int8)
        _k.decompose(flat, p, emin, sig, exp, cls)
        return sig.reshape(shape), exp.reshape(shape), cls.reshape(shape), p

    def _args(self) -> tuple[int, ...]:
        emin, emax, _ = OUT[self.out_format]
        if self.fp8_sync:
            return (self.n, 1, 20, self.neab, NO_LIMIT if self.min_exp_limit is None
                    else self.min_exp_limit, emin, emax, self._frac, int(self.rounding))
        p = tc_format(self.in_format).man_bits
        return (self.n, 0, 2 * p, self.neab,
                NO_LIMIT if self.min_exp_limit is None else self.min_exp_limit,
                emin, emax, self._frac, int(self.rounding))

    def _cast(self, out: np.ndarray) -> np.ndarray:
        return out.astype(np.float32 if self.out_format == "fp32" else np.float16)

    def rows(self, a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike | None = None
             ) -> np.ndarray:
        """D[r] = chained block FMAs of a[r, :] . b[r, :] + c[r] (a, b: rows x K)."""
        a = as_float(a, "a")
        b = as_float(b, "b")
        if a.ndim != 2 or b.shape != a.shape:
            raise ValueError(f"a and b must be 2-D of equal shape (rows, K); got {a.shape} "
                             f"and {b.shape}")
        c = np.zeros(a.shape[0]) if c is None else as_float(c, "c")
        if c.shape != (a.shape[0],):
            raise ValueError(f"c must have shape ({a.shape[0]},), got {c.shape}")
        check_representable(a, self.in_format, "a")
        check_representable(b, self.in_format, "b")
        check_out_representable(c, self.out_format)
        return self._run(_k.mma_rows_fast, _k.mma_rows, a, b, c, np.empty(a.shape[0]))

    def _run(self, fast: Callable[..., Any], exact: Callable[..., Any], a: np.ndarray,
             b: np.ndarray, c: np.ndarray, out: np.ndarray) -> np.ndarray:
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

    def _fast_args(self) -> tuple[int, ...]:
        n, _, two_p, *rest = self._args()
        return (n, two_p, *rest)

    def _decompose_fast(self, x: np.ndarray, dtype: type[np.signedinteger[Any]] = np.int64
                        ) -> tuple[np.ndarray, np.ndarray]:
        f = tc_format(self.in_format)
        p, emin = f.man_bits, f.emin
        if not self.in_subnormals:
            x = np.where(np.abs(x) < math.ldexp(1.0, emin), 0.0, x)
        flat = np.ascontiguousarray(x).reshape(-1)
        sig: np.ndarray = np.empty(flat.size, dtype)
        exp: np.ndarray = np.empty(flat.size, dtype)
        _k.decompose_fast(flat, p, emin, sig, exp)
        return sig.reshape(x.shape), exp.reshape(x.shape)

    def _decompose_tiles(self, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """B (K, N), finite, decomposed as ``_decompose_fast`` into the packed int32
        tiles of 64 columns that ``kernels.tensorcore.gemm_tiled`` takes."""
        f = tc_format(self.in_format)
        p, emin = f.man_bits, f.emin
        if not self.in_subnormals:
            B = np.where(np.abs(B) < math.ldexp(1.0, emin), 0.0, B)
        shape = (-(-B.shape[1] // _TILE), B.shape[0], _TILE)
        sig = np.empty(shape, np.int32)
        exp = np.empty(shape, np.int32)
        _k.decompose_tiles(np.ascontiguousarray(B), p, emin, sig, exp)
        return sig, exp

    def gemm(self, A: npt.ArrayLike, B: npt.ArrayLike, C: npt.ArrayLike | None = None
             ) -> np.ndarray:
        """D = A @ B + C for any (M, K) x (K, N): each D[i, j] chains block FMAs along K."""
        A = as_float(A, "A")
        B = as_float(B, "B")
        if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {A.shape}, {B.shape}")
        M, N = A.shape[0], B.shape[1]
        C = np.zeros((M, N)) if C is None else as_float(C, "C")
        if C.shape != (M, N):
            raise ValueError(f"C must have shape {(M, N)}, got {C.shape}")
        check_representable(A, self.in_format, "A")
        check_representable(B, self.in_format, "B")
        check_out_representable(C, self.out_format)
        out = np.empty((M, N))
        if not self.fp8_sync and all(np.isfinite(x).all() for x in (A, B, C)):
            asig, aexp = self._decompose_fast(A, np.int32)
            _k.gemm_tiled(asig, aexp, *self._decompose_tiles(B), C, *self._fast_args(), out)
            return self._cast(out)
        return self._run(_k.gemm_fast, _k.gemm, A, np.ascontiguousarray(B.T), C, out)

