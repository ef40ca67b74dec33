"""NVIDIA tensor cores, bit-accurate: ``TensorCore(gpu)`` with the block-FMA model of each
GPU and instruction, integer, binary, sparse and block-scaled MMA."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .. import sparse as _sparse
from .._deprecate import warn
from .._lazy import kernels
from .._validate import check_bool
from ..registry import format as _get_format
from ..modes import Overflow, Rounding, as_overflow
from ._blockfma import (IN_NAMES, ALIASES, FP8_FORMATS, INPUT_FORMATS, OUT, BlockFMAModel, as_float,
                        check_out_representable, check_representable, format_name)

_k = kernels("tensorcore")

__all__ = ["TensorCore", "GPUS", "PTX_SHAPES", "decompress_sparse"]

_INT = {"s8": (-128, 127, 32), "u8": (0, 255, 32), "s4": (-8, 7, 64), "u4": (0, 15, 64)}

# gpu: (n fp16/bf16, n tf32, n fp8 or None, neab, min_exp fp32 out, min_exp fp16 out,
#       formats, fp8 instructions, compute capability)
GPUS: dict[str, tuple[Any, ...]] = {
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


def decompress_sparse(values: npt.ArrayLike, metadata: npt.ArrayLike, k: int,
                      ratio: str = "2:4") -> np.ndarray:
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
    dense = _sparse.decompress_2_4(vals, words, 16 if ratio == "2:4" else 32)  # bits
    return dense[:, :k]


class TensorCore:
    """The tensor cores of one NVIDIA GPU: ``TensorCore("H100")``.

    gpu is one of V100, A100, A2, A30, Ada, L40S, H100, H200, B200 (see ``GPUS``).
    Methods take operands as float arrays holding values of the declared input format
    (a ValueError names any operand that is not) and return float32 (fp32 output) or
    float16 (fp16 output) arrays holding exactly what the GPU returns.

    Operand and output formats are refquant's formats (``refquant.format``: fp16, bf16,
    tf32, e4m3fn, e5m2, e3m2, e2m3, e2m1; fp32/fp16 for C and D; e8m0 and ue4m3fn for
    block scales): a value is accepted iff the format's quantisation returns it
    unchanged. NVIDIA's FP8 "E4M3" is the OCP E4M3FN ("e4m3fn", max 448, no
    infinities); refquant's "e4m3" is the IEEE-like E4M3 (max 240), which tensor cores
    do not take: "e4m3" raises ValueError saying to use "e4m3fn".

    The block-FMA presets of ``model`` (terms per block n, extra alignment bits neab,
    see ``BlockFMAModel``): V100 fp16 n=4, neab=0; A100/A2/A30/Ada/L40S fp16/bf16 n=8,
    tf32 n=4, neab=1; H100/H200/B200 fp16/bf16 n=16, tf32 n=8, neab=2; fp32 output
    truncated (toward zero), fp16 output rounded to nearest even. min_exp_limit is -133
    (fp32 out) / -21 (fp16 out) on H100/H200/B200, -132 / -20 on the Ampere/Ada parts
    and none / -19 on V100 (no recorded row reaches these limits). fp8 (e4m3fn, e5m2):

    * ``instruction="mma.sync"`` on Ada/L40S (sm_89): n=16 with a 13-bit window
      (neab = -10); fp32 output truncated to 13 fraction bits, fp16 output rounded to
      nearest even;
    * ``instruction="wgmma"`` on H100/H200: n=32, neab=-10, fp32 output truncated to 13
      fraction bits (the recordings ran it with C = 0);
    * ``instruction="mma.sync"`` on H100/H200/B200 (sm_90/sm_100): the fp8 operands are
      converted exactly to fp16 and each k32 chunk runs as two fp16 block FMAs (n=16,
      neab=2, the fp16 preset's output rounding) over the interleaved halves k % 4 in
      {0, 1} then k % 4 in {2, 3}, starting from 0; C is then added in a separate
      operation rounded once to nearest even (fp32 or fp16). This model was fitted to
      the recorded rows and reproduces every one of them.

    Integer MMA (s8/u8, s4/u4) sums each instruction's chunk of K exactly and
    accumulates in int32, wrapping or clamping (.satfinite) after each chunk; b1 uses
    XOR or AND and popcount. Sparse MMA (mma.sp) expands the 2:4 (1:2 for tf32)
    metadata to the dense operand and runs the dense model. Block-scaled MMA: see
    ``mma_block_scaled``.
    """

    def __init__(self, gpu: str):
        if not isinstance(gpu, str):
            raise TypeError(f"gpu must be a string, got {type(gpu).__name__}")
        key = {g.lower(): g for g in GPUS}.get(gpu.strip().lower())
        if key is None:
            raise ValueError(f"gpu={gpu!r} is unknown; allowed: {', '.join(GPUS)}")
        self.gpu = key
        self._p = GPUS[key]

    def __repr__(self) -> str:
        return f"TensorCore({self.gpu!r})"

    @property
    def formats(self) -> tuple[str, ...]:
        """Floating-point input formats this GPU's tensor cores accept."""
        return self._p[6]

    def model(self, in_format: str = "fp16", out_format: str = "fp32",
              instruction: str | None = None) -> BlockFMAModel:
        """The BlockFMAModel this GPU uses for in_format -> out_format.

        instruction (fp8 only, None otherwise): "wgmma" (H100/H200, the default there)
        or "mma.sync" (the default elsewhere). bf16 and tf32 accumulate in fp32 only (PTX).
        Format names as in ``INPUT_FORMATS`` ("e4m3fn" for NVIDIA's FP8 E4M3; the
        ambiguous "e4m3" raises ValueError)."""
        if instruction is not None and not isinstance(instruction, str):
            raise TypeError(f"instruction must be a str or None, got {type(instruction).__name__}")
        n16, ntf, nf8, neab, me32, me16, fmts, instrs, _ = self._p
        fin = format_name(in_format, "in_format", IN_NAMES)
        fout = format_name(out_format, "out_format", OUT)
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

    def mma_rows(self, a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike | None = None,
                 in_format: str = "fp16", out_format: str = "fp32",
                 instruction: str | None = None) -> np.ndarray:
        """One chain of block FMAs per row: D[r] = a[r, :] . b[r, :] + c[r].

        a, b: (rows, K) float arrays of in_format values; c: (rows,) values of
        out_format (zeros when None). This is the shape of the recorded GPU data.
        """
        return self.model(in_format, out_format, instruction).rows(a, b, c)

    def gemm(self, A: npt.ArrayLike, B: npt.ArrayLike, C: npt.ArrayLike | None = None,
             in_format: str = "fp16", out_format: str = "fp32",
             instruction: str | None = None) -> np.ndarray:
        """D = A @ B + C for any M, N, K: blocks along K chained in K order, zero padded."""
        return self.model(in_format, out_format, instruction).gemm(A, B, C)

    def mma(self, A: npt.ArrayLike, B: npt.ArrayLike, C: npt.ArrayLike | None = None,
            in_format: str = "fp16", out_format: str = "fp32",
            instruction: str | None = None) -> np.ndarray:
        """One PTX mma.sync tile: A (M, K), B (K, N), C (M, N) with (M, N, K) one of the
        shapes in PTX_SHAPES[in_format] (e.g. m16n8k16 for fp16)."""
        fin = format_name(in_format, "in_format", IN_NAMES)
        self._check_shape(A, B, fin)
        return self.gemm(A, B, C, fin, out_format, instruction)

    def _check_shape(self, A: npt.ArrayLike, B: npt.ArrayLike, fin: str) -> None:
        sa, sb = np.shape(A), np.shape(B)
        if len(sa) != 2 or len(sb) != 2 or sa[1] != sb[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {sa}, {sb}")
        shape = (sa[0], sb[1], sa[1])
        if shape not in PTX_SHAPES[fin]:
            allowed = ", ".join(f"m{m}n{n}k{k}" for m, n, k in PTX_SHAPES[fin])
            raise ValueError(f"shape m{shape[0]}n{shape[1]}k{shape[2]} is not a PTX mma "
                             f"shape for {fin}; allowed: {allowed}")

    # ---------------------------------------------------------------- integer MMA
    def imma(self, A: npt.ArrayLike, B: npt.ArrayLike, C: npt.ArrayLike | None = None,
             in_format: str = "s8", overflow: Overflow | str = Overflow.WRAP,
             tile: bool = False, *, saturate: bool | None = None) -> np.ndarray:
        """Integer MMA D = A @ B + C with s32 accumulation (s8/u8/s4/u4 operands).

        Each instruction's chunk of K (32 for 8-bit, 64 for 4-bit operands) is summed
        exactly; the int32 accumulator then wraps modulo 2^32 (overflow=Overflow.WRAP,
        the default) or is clamped to [-2^31, 2^31 - 1] (Overflow.SATURATE, PTX
        .satfinite); other policies raise ValueError. tile=True also checks that the
        shape is a PTX mma shape. Returns int32. Not available on V100. ``saturate=``
        (a bool) is the deprecated form of ``overflow``.
        """
        ov = _int_overflow(overflow, saturate, "imma")
        tile = check_bool(tile, "tile")
        if self.gpu == "V100":
            raise ValueError("V100 tensor cores have no integer MMA (in_format)")
        fin = format_name(in_format, "in_format", _INT)
        lo, hi, kstep = _INT[fin]
        A = np.asarray(A)
        B = np.asarray(B)
        if tile:
            self._check_shape(A, B, fin)
        a, bt, c = self._int_operands(A, B, C, lo, hi)
        out = np.empty(c.shape, np.int64)
        _k.int_gemm(a, bt, c, kstep, 1 if ov == Overflow.SATURATE else 0, out)
        return out.astype(np.int32)

    def bmma(self, A: npt.ArrayLike, B: npt.ArrayLike, C: npt.ArrayLike | None = None,
             op: str = "xor", tile: bool = False) -> np.ndarray:
        """Binary MMA: D = C + popc(A op B) over K with A, B of 0/1 bits, op "xor" or
        "and"; int32 accumulation wrapping modulo 2^32. Returns int32."""
        tile = check_bool(tile, "tile")
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
    def _int_operands(A: np.ndarray, B: np.ndarray, C: npt.ArrayLike | None, lo: int, hi: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    def mma_sp(self, values: npt.ArrayLike, metadata: npt.ArrayLike, B: npt.ArrayLike,
               C: npt.ArrayLike | None = None, in_format: str = "fp16",
               out_format: str = "fp32", instruction: str | None = None,
               overflow: Overflow | str = Overflow.WRAP, *, saturate: bool | None = None
               ) -> np.ndarray:
        """Sparse MMA (mma.sp): A given as compressed values (M, K/2) and metadata
        nibbles (2:4; 1:2 for tf32, see ``decompress_sparse``); the result equals the
        dense MMA of the decompressed A. Integer formats (s8/u8/s4/u4) use ``imma``
        with ``overflow`` (WRAP or SATURATE); for float formats overflow must stay WRAP
        (ValueError otherwise). ``saturate=`` is the deprecated form of ``overflow``."""
        ov = _int_overflow(overflow, saturate, "mma_sp")
        B = np.asarray(B)
        if B.ndim != 2:
            raise ValueError(f"B must be 2-D (K, N), got shape {B.shape}")
        key = in_format.strip().lower() if isinstance(in_format, str) else in_format
        ratio = "1:2" if ALIASES.get(key, key) == "tf32" else "2:4"
        A = decompress_sparse(values, metadata, B.shape[0], ratio)
        if key in _INT:
            return self.imma(A, B, C, key, ov)
        if ov != Overflow.WRAP:
            raise ValueError(f"overflow={ov.name.lower()!r} applies to integer formats "
                             f"({', '.join(_INT)}) only; in_format={in_format!r}")
        return self.gemm(A, B, C, in_format, out_format, instruction)

    # ---------------------------------------------------------------- block scaled
    def mma_block_scaled(self, A: npt.ArrayLike, B: npt.ArrayLike,
                         C: npt.ArrayLike | None = None, scale_a: npt.ArrayLike | None = None,
                         scale_b: npt.ArrayLike | None = None, in_format: str = "e4m3fn",
                         kind: str = "mxf8f6f4") -> np.ndarray:
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
        fmts: tuple[str, ...]
        if kind == "mxf8f6f4":
            blk, fmts = 32, ("e4m3fn", "e5m2", "e3m2", "e2m3", "e2m1")
        elif kind == "nvf4":
            blk, fmts = 16, ("e2m1",)
        else:
            raise ValueError(f"kind={kind!r} must be 'mxf8f6f4' or 'nvf4'")
        fin = format_name(in_format, "in_format", IN_NAMES)
        if fin not in fmts:
            raise ValueError(f"in_format={fin!r} is not allowed for kind {kind}; allowed: "
                             f"{', '.join(fmts)}")
        A = as_float(A, "A")
        B = as_float(B, "B")
        if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
            raise ValueError(f"A (M, K) and B (K, N) shapes do not match: {A.shape}, {B.shape}")
        M, K = A.shape
        N = B.shape[1]
        if K % blk:
            raise ValueError(f"K={K} must be a multiple of the scale block {blk}")
        check_representable(A, fin, "A")
        check_representable(B, fin, "B")
        if scale_a is None or scale_b is None:
            raise ValueError(f"block-scaled MMA needs scale_a of shape {(M, K // blk)} and "
                             f"scale_b of shape {(K // blk, N)}")
        sa = as_float(scale_a, "scale_a")
        sb = as_float(scale_b, "scale_b")
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
        C = np.zeros((M, N)) if C is None else as_float(C, "C")
        if C.shape != (M, N):
            raise ValueError(f"C must have shape {(M, N)}, got {C.shape}")
        check_out_representable(C, "fp32")
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


def _int_overflow(overflow: object, saturate: object, method: str) -> Overflow:
    """The accumulator policy of an integer MMA: WRAP or SATURATE, from ``overflow`` or
    the deprecated ``saturate`` flag (also accepted as a bool in overflow's place)."""
    if saturate is not None:
        flag = check_bool(saturate, "saturate")
        if overflow is not Overflow.WRAP:
            raise TypeError(f"TensorCore.{method}() got both saturate= (deprecated) and overflow=")
        warn(f"TensorCore.{method}(saturate=...)", "overflow='saturate' or 'wrap'", stacklevel=4)
        return Overflow.SATURATE if flag else Overflow.WRAP
    if isinstance(overflow, (bool, np.bool_)):   # the old positional saturate flag
        warn(f"a bool as TensorCore.{method}'s saturate flag", "overflow='saturate' or 'wrap'",
             stacklevel=4)
        return Overflow.SATURATE if overflow else Overflow.WRAP
    ov = as_overflow(overflow)
    if ov not in (Overflow.WRAP, Overflow.SATURATE):
        raise ValueError(f"overflow={overflow!r} not allowed for the int32 accumulator of "
                         "integer MMA; allowed: 'wrap', 'saturate'")
    return ov
