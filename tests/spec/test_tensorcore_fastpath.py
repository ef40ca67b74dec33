"""The tiled GEMM kernel (finite operands, 16 output columns at a time) against the
general block-FMA kernel, bit for bit, over random and adversarial operands."""
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from refquant import Rounding
from refquant.kernels import tensorcore as K
from refquant.sim import BlockFMAModel, TensorCore

_DTYPES = {"fp16": (np.float16, np.uint16), "bf16": (ml_dtypes.bfloat16, np.uint16),
           "e4m3fn": (ml_dtypes.float8_e4m3fn, np.uint8),
           "e5m2": (ml_dtypes.float8_e5m2, np.uint8), "fp32": (np.float32, np.uint32)}


def finite_values(fmt):
    """Every finite value of fmt (fp16, bf16, fp8) as float64, both zeros included."""
    dt, ut = _DTYPES[fmt]
    bits = np.arange(np.iinfo(ut).max + 1, dtype=np.int64).astype(ut)
    v = bits.view(dt).astype(np.float64)
    return v[np.isfinite(v)]


def draw(fmt, shape, rng, lo=None, hi=None):
    """Random values of fmt with exponents in [lo, hi] (all finite values when None)."""
    if fmt == "tf32":
        lo = -20 if lo is None else lo
        hi = 20 if hi is None else hi
        x = rng.standard_normal(shape) * 2.0 ** rng.integers(lo, hi + 1, shape)
        return ((x.astype(np.float32).view(np.uint32) & np.uint32(0xFFFFE000))
                .view(np.float32).astype(np.float64))
    vals = finite_values(fmt)
    if lo is not None:
        with np.errstate(divide="ignore"):
            e = np.floor(np.log2(np.abs(vals)))
        vals = vals[(vals == 0) | ((e >= lo) & (e <= hi))]
    return rng.choice(vals, size=shape)


def general(model, A, B, C):
    """D by the general kernel (``kernels.tensorcore.gemm``), whatever the operands."""
    asig, aexp, acls, _ = model._decompose(A, model.in_format)
    bsig, bexp, bcls, _ = model._decompose(np.ascontiguousarray(B.T), model.in_format)
    out = np.empty((A.shape[0], B.shape[1]))
    K.gemm(asig, aexp, acls, bsig, bexp, bcls, np.ascontiguousarray(C), *model._args(), out)
    return model._cast(out)


def tiled(model, A, B, C):
    """D by ``gemm_tiled`` directly (finite operands)."""
    asig, aexp = model._decompose_fast(A, np.int32)
    out = np.empty((A.shape[0], B.shape[1]))
    K.gemm_tiled(asig, aexp, *model._decompose_tiles(B), np.ascontiguousarray(C),
                 *model._fast_args(), out)
    return model._cast(out)


def identical(x, y):
    """Equal bit patterns (signed zeros told apart), NaN equal to NaN."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    nx, ny = np.isnan(x), np.isnan(y)
    return (np.array_equal(nx, ny)
            and np.array_equal(np.where(nx, 0.0, x).view(np.uint64),
                               np.where(ny, 0.0, y).view(np.uint64)))


MODELS = [
    ("H100", "fp16", "fp32", None), ("H100", "fp16", "fp16", None),
    ("H100", "bf16", "fp32", None), ("H100", "tf32", "fp32", None),
    ("H100", "e4m3fn", "fp32", "wgmma"), ("H100", "e5m2", "fp16", "wgmma"),
    ("A100", "fp16", "fp32", None), ("A100", "bf16", "fp32", None),
    ("V100", "fp16", "fp16", None), ("Ada", "e4m3fn", "fp32", None),
]

CUSTOM = [
    BlockFMAModel(16, 2, "fp16", "fp32", Rounding.UP),
    BlockFMAModel(16, 2, "fp16", "fp32", Rounding.DOWN),
    BlockFMAModel(8, 0, "fp16", "fp16", Rounding.NEAREST_AWAY),
    BlockFMAModel(5, -3, "bf16", "fp32", Rounding.TOWARD_ZERO, frac_bits=10),
    BlockFMAModel(16, 2, "fp16", "fp32", Rounding.TOWARD_ZERO, min_exp_limit=-10),
    BlockFMAModel(16, 2, "fp16", "fp32", Rounding.NEAREST_EVEN, in_subnormals=False),
]


def model_of(spec):
    return TensorCore(spec[0]).model(*spec[1:]) if isinstance(spec, tuple) else spec


def operands(model, kind, m, n, k, rng):
    fmt = model.in_format
    cf = model.out_format
    if kind == "random":
        A, B = draw(fmt, (m, k), rng), draw(fmt, (k, n), rng)
    elif kind == "spread":  # exponents far apart within a block: alignment truncates
        A = draw(fmt, (m, k), rng, -14, 15) if fmt == "fp16" else draw(fmt, (m, k), rng)
        B = draw(fmt, (k, n), rng)
        A[:, ::3] = np.sign(A[:, ::3] + 0.5) * model_max(fmt)
    elif kind == "cancel":  # pairs that cancel exactly, plus a small rest
        A = draw(fmt, (m, k), rng)
        B = draw(fmt, (k, n), rng)
        half = k // 2
        A[:, half:2 * half] = -A[:, :half]
        B[half:2 * half] = B[:half]
    elif kind == "subnormal":  # the smallest exponents of the input format
        lo = {"fp16": -24, "bf16": -133, "tf32": -136, "e4m3fn": -9, "e5m2": -16}[fmt]
        lo, hi = (-140, -120) if fmt == "tf32" else (lo, lo + 6)
        A = draw(fmt, (m, k), rng, lo, hi)
        B = draw(fmt, (k, n), rng, lo, hi)
    else:  # "sparse": many zeros and signed zeros
        A = draw(fmt, (m, k), rng) * (rng.random((m, k)) < 0.3)
        B = draw(fmt, (k, n), rng) * (rng.random((k, n)) < 0.3)
        A[A == 0] = -0.0
    C = draw(cf if cf != "fp32" else "fp16", (m, n), rng) * (rng.random((m, n)) < 0.7)
    if kind == "sparse":
        C[rng.random((m, n)) < 0.3] = -0.0
    if cf == "fp32":
        C = C * 2.0 ** rng.integers(-20, 20, (m, n))
        C = C.astype(np.float32).astype(np.float64)
    return A, B, C


def model_max(fmt):
    return {"fp16": 65504.0, "bf16": 3.3895313892515355e38, "tf32": 3.4011621342146535e38,
            "e4m3fn": 448.0, "e5m2": 57344.0}[fmt]


KINDS = ["random", "spread", "cancel", "subnormal", "sparse"]


@pytest.mark.parametrize("spec", MODELS + CUSTOM, ids=str)
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 9), n=st.integers(1, 40),
       k=st.integers(0, 75))
def test_tiled_equals_general(spec, kind, seed, m, n, k):
    """Any M, N (not a multiple of the 16-column tile), K (odd, not a multiple of the
    block, or 0): the tiled kernel and the public gemm equal the general kernel."""
    model = model_of(spec)
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore", invalid="ignore"):
        A, B, C = operands(model, kind, m, n, k, rng)
    want = general(model, A, B, C)
    assert identical(tiled(model, A, B, C), want)
    assert identical(model.gemm(A, B, C), want)


@pytest.mark.parametrize("spec", [("H100", "fp16", "fp16", None), ("V100", "fp16", "fp16", None),
                                  ("H100", "e5m2", "fp16", "wgmma")], ids=str)
def test_overflow_to_inf_and_beyond(spec):
    """fp16 output overflows to +-inf in an early block; later blocks keep it."""
    model = model_of(spec)
    rng = np.random.default_rng(7)
    k = 64
    big = model_max(model.in_format)
    A = draw(model.in_format, (5, k), rng)
    B = draw(model.in_format, (k, 19), rng)
    A[:, :4] = big
    B[:4, ::2] = big
    B[:4, 1::2] = -big
    C = np.zeros((5, 19))
    want = general(model, A, B, C)
    assert np.isinf(want).any()
    assert identical(tiled(model, A, B, C), want)
    assert identical(model.gemm(A, B, C), want)


@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan])
def test_specials_take_the_general_kernel(special):
    """inf and NaN operands go to the general kernel; the public gemm equals it."""
    model = TensorCore("H100").model("fp16", "fp32")
    rng = np.random.default_rng(3)
    A = draw("fp16", (6, 37), rng)
    B = draw("fp16", (37, 21), rng)
    C = draw("fp16", (6, 21), rng)
    A[2, 5] = special
    B[7, 3] = 0.0
    A[4, 7] = special
    C[1, 1] = special
    got = model.gemm(A, B, C)
    assert identical(got, general(model, A, B, C))
    assert np.isnan(got[4, 3])  # inf * 0 (or NaN) gives NaN


def test_h100_benchmark_shape():
    """The benchmark's shape and data (512 x 512 x 512, fp16 -> fp32 on H100) agree
    with the branch-free per-element kernel on a slice of rows."""
    rng = np.random.default_rng(0)
    n = 512
    A = rng.standard_normal((n, n)).astype(np.float16).astype(np.float64)
    B = rng.standard_normal((n, n)).astype(np.float16).astype(np.float64)
    C = rng.standard_normal((n, n)).astype(np.float32).astype(np.float64)
    model = TensorCore("H100").model("fp16", "fp32")
    got = model.gemm(A, B, C)
    rows = slice(0, 24)
    asig, aexp = model._decompose_fast(A[rows])
    bsig, bexp = model._decompose_fast(np.ascontiguousarray(B.T))
    out = np.empty((24, n))
    K.gemm_fast(asig, aexp, bsig, bexp, np.ascontiguousarray(C[rows]), *model._fast_args(), out)
    assert identical(got[rows], model._cast(out))
