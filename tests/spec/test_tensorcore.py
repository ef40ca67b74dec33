"""Specification of refquant.sim.TensorCore: kernel == pure-Python reference, exact
single products, correctly rounded sums with wide windows, integer / binary / sparse /
block-scaled MMA identities, and bad-input errors."""
import importlib.util
import math
from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from refquant import Overflow, Rounding
from refquant.sim import TensorCore
from refquant.sim import GPUS, BlockFMAModel, decompress_sparse

_spec = importlib.util.spec_from_file_location(
    "tc_reference", Path(__file__).resolve().parents[1] / "reference" / "tensorcore.py")
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

_DT = {"fp16": np.float16, "bf16": ml_dtypes.bfloat16, "e4m3fn": ml_dtypes.float8_e4m3fn,
       "e5m2": ml_dtypes.float8_e5m2}


def all_values(fmt):
    """Every finite value of a <= 16-bit input format, as float64."""
    dt = _DT[fmt]
    bits = 8 if fmt in ("e4m3fn", "e5m2") else 16
    codes = np.arange(2 ** bits, dtype=np.uint16 if bits == 16 else np.uint8)
    with np.errstate(invalid="ignore"):
        v = codes.view(dt).astype(np.float64)
    return v[np.isfinite(v)]


def random_values(fmt, shape, rng, spread=None):
    """Random finite values of fmt (tf32: float32 with the low 13 bits cleared)."""
    if fmt == "tf32":
        x = rng.standard_normal(shape) * 2.0 ** rng.integers(-6, 6, shape)
        return ((x.astype(np.float32).view(np.uint32) & np.uint32(0xFFFFE000))
                .view(np.float32).astype(np.float64))
    vals = all_values(fmt)
    if spread is not None:
        vals = vals[(np.abs(vals) <= spread) & (np.abs(vals) >= 1 / spread) | (vals == 0)]
    return rng.choice(vals, size=shape)


def combos():
    out = []
    for gpu, p in GPUS.items():
        for f in p[6]:
            outs = ("fp32",) if f in ("bf16", "tf32") else ("fp32", "fp16")
            for o in outs:
                instrs = p[7] if f in ("e4m3fn", "e5m2") else (None,)
                for ins in instrs:
                    out.append((gpu, f, o, ins))
    return out


COMBOS = combos()


def reference_rows(model, a, b, c):
    mode = "rz" if model.rounding == Rounding.TOWARD_ZERO else "rne"
    res = []
    for i in range(a.shape[0]):
        if model.fp8_sync:
            res.append(ref.fp8_sync(list(a[i]), list(b[i]), float(c[i]), model.out_format,
                                    model.min_exp_limit))
        else:
            res.append(ref.chain(list(a[i]), list(b[i]), float(c[i]), model.in_format, model.n,
                                 model.neab, model.out_format, mode, model.min_exp_limit,
                                 model._frac))
    return np.array(res)


def same(x, y):
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    return np.array_equal(np.isnan(x), np.isnan(y)) and np.array_equal(
        np.where(np.isnan(x), 0, x), np.where(np.isnan(y), 0, y))


@pytest.mark.parametrize("gpu,fmt,out,instr", COMBOS)
@settings(max_examples=8)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 70))
def test_kernel_equals_reference(gpu, fmt, out, instr, seed, k):
    rng = np.random.default_rng(seed)
    tc = TensorCore(gpu)
    model = tc.model(fmt, out, instr)
    a = random_values(fmt, (6, k), rng)
    b = random_values(fmt, (6, k), rng)
    c = random_values("fp16", (6,), rng) * (2.0 ** rng.integers(-20, 20, 6) if out == "fp32" else 1)
    got = tc.mma_rows(a, b, c, fmt, out, instr)
    assert same(got, reference_rows(model, a, b, c))


@pytest.mark.parametrize("gpu,fmt,out,instr", COMBOS)
def test_single_product_is_the_rounded_float64_product(gpu, fmt, out, instr):
    """K = 1, C = 0: D is the exact product rounded by the output rule (truncation for
    fp32 output, nearest even for fp16), for many operand pairs incl. subnormals."""
    rng = np.random.default_rng(5)
    a = random_values(fmt, (3000, 1), rng)
    b = random_values(fmt, (3000, 1), rng)
    tc = TensorCore(gpu)
    model = tc.model(fmt, out, instr)
    got = tc.mma_rows(a, b, np.zeros(3000), fmt, out, instr).astype(np.float64)
    prod = (a * b)[:, 0]  # exact in float64
    if out == "fp16":
        with np.errstate(over="ignore"):
            want = prod.astype(np.float16).astype(np.float64)  # nearest even, inf beyond
    else:
        with np.errstate(over="ignore"):
            f = prod.astype(np.float32)
        over = np.abs(f.astype(np.float64)) > np.abs(prod)
        f[over] = np.nextafter(f[over], np.float32(0))  # toward zero
        want = f.astype(np.float64)
        # the model's overflow rule (MATLAB models): |D| >= 2^128 becomes inf even
        # under truncation
        big = np.abs(prod) >= 2.0 ** 128
        want[big] = np.copysign(np.inf, prod[big])
        if model._frac < 23:  # fp8 window paths keep 13 fraction bits; products fit
            assert (np.frexp(prod)[0] * 2 ** 14 % 1 == 0).all()
    assert same(got, want)


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "e4m3fn", "e5m2"])
def test_exhaustive_identity_products(fmt):
    """Every finite code x of the format: x * 1 + 0 == x exactly (fp32 output on each
    GPU that has the format), and x * 1 + 0 == fp16(x) for fp16 output."""
    x = all_values(fmt)[:, None]
    one = np.ones_like(x)
    for gpu, p in GPUS.items():
        if fmt not in p[6]:
            continue
        tc = TensorCore(gpu)
        d = tc.mma_rows(x, one, None, fmt, "fp32")
        assert np.array_equal(d.astype(np.float64), x[:, 0])
        if fmt != "bf16":
            d16 = tc.mma_rows(x, one, None, fmt, "fp16")
            assert np.array_equal(d16.astype(np.float64), x[:, 0].astype(np.float16).astype(np.float64))


def test_exhaustive_fp8_pairs():
    """All 2^16 e4m3fn x e4m3fn and e5m2 x e5m2 code pairs (finite): the single product
    through each fp8 path equals the float64 product truncated to fp32."""
    for fmt in ("e4m3fn", "e5m2"):
        v = all_values(fmt)
        a = np.repeat(v, v.size)[:, None]
        b = np.tile(v, v.size)[:, None]
        prod = (a * b)[:, 0]
        f = prod.astype(np.float32)
        over = np.abs(f.astype(np.float64)) > np.abs(prod)
        f[over] = np.nextafter(f[over], np.float32(0))
        for gpu, instr in (("Ada", "mma.sync"), ("H100", "wgmma"), ("H100", "mma.sync"),
                           ("B200", "mma.sync")):
            d = TensorCore(gpu).mma_rows(a, b, None, fmt, "fp32", instr)
            assert np.array_equal(d, f), (fmt, gpu, instr)


def nearest_fp32(x: Fraction) -> float:
    """x rounded to fp32 by nearest even, decided on exact rationals."""
    f = np.float32(float(x))
    cands = [f, np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))]
    best = min(cands, key=lambda c: (abs(Fraction(float(c)) - x),
                                     int(np.array(c).view(np.uint32)) & 1))
    return float(best)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 16))
def test_wide_window_nearest_is_correctly_rounded(seed, k):
    """neab = 30 and nearest-even output: with fp16 operands in [2^-8, 2^8] no bit is
    ever discarded, so one block FMA is the correctly rounded exact sum."""
    rng = np.random.default_rng(seed)
    model = BlockFMAModel(16, 30, "fp16", "fp32", Rounding.NEAREST_EVEN)
    a = random_values("fp16", (1, k), rng, spread=256.0)
    b = random_values("fp16", (1, k), rng, spread=256.0)
    c = np.array([float(np.float32(rng.standard_normal()))])
    exact = sum(Fraction(x) * Fraction(y) for x, y in zip(a[0], b[0])) + Fraction(c[0])
    d = model.rows(a, b, c)
    assert float(d[0]) == nearest_fp32(exact)


def test_truncation_worked_example():
    """C = 1 fixes the window: H100 (neab = 2) keeps bits down to 2^-25, so sixteen
    products 2^-25 add 2^-21 while sixteen products 2^-26 vanish (no sticky bit);
    V100 (neab = 0) keeps bits down to 2^-23."""
    tc = TensorCore("H100")
    a = np.full((2, 16), 2.0 ** -12)
    b = np.array([[2.0 ** -13] * 16, [2.0 ** -14] * 16])
    d = tc.mma_rows(a, b, np.array([1.0, 1.0]), "fp16", "fp32")
    assert d[0] == np.float32(1 + 2.0 ** -21)
    assert d[1] == np.float32(1.0)
    v = TensorCore("V100").mma_rows(np.full((2, 4), 2.0 ** -12), np.array(
        [[2.0 ** -11] * 4, [2.0 ** -12] * 4]), np.array([1.0, 1.0]), "fp16", "fp32")
    assert v[0] == np.float32(1 + 2.0 ** -21) and v[1] == np.float32(1.0)
    # the exact sum 1 + 4 * 2^-24 is representable, yet V100 returns 1


def test_specials():
    tc = TensorCore("A100")
    inf, nan = math.inf, math.nan
    a = np.array([[inf, 1.0], [inf, -inf], [inf, 1.0], [nan, 1.0], [1.0, 2.0], [inf, 1.0]])
    b = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    c = np.array([0.0, 0.0, 0.0, 0.0, -inf, -inf])
    d = tc.mma_rows(a, b, c, "fp16", "fp32").astype(np.float64)
    assert d[0] == inf and np.isnan(d[1]) and np.isnan(d[2]) and np.isnan(d[3])
    assert d[4] == -inf and np.isnan(d[5])
    # overflow of the fp16 output becomes inf; an exact zero sum is +0
    e = tc.mma_rows(np.array([[60000.0, 60000.0], [1.0, -1.0]]), np.array([[1.0, 1.0], [1.0, 1.0]]),
                    None, "fp16", "fp16")
    assert e[0] == np.inf and e[1] == 0 and not np.signbit(e[1])


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 5), n=st.integers(1, 5),
       k=st.integers(1, 40))
def test_gemm_equals_rows(seed, m, n, k):
    rng = np.random.default_rng(seed)
    tc = TensorCore("H100")
    A = random_values("bf16", (m, k), rng)
    B = random_values("bf16", (k, n), rng)
    C = random_values("fp16", (m, n), rng)
    D = tc.gemm(A, B, C, "bf16", "fp32")
    rows = tc.mma_rows(np.repeat(A, n, axis=0), np.tile(B.T, (m, 1)), C.reshape(-1), "bf16", "fp32")
    assert np.array_equal(D.reshape(-1), rows)


def test_mma_tile_shapes():
    tc = TensorCore("A100")
    rng = np.random.default_rng(1)
    A = random_values("fp16", (16, 16), rng)
    B = random_values("fp16", (16, 8), rng)
    D = tc.mma(A, B, None, "fp16", "fp32")
    assert D.shape == (16, 8) and D.dtype == np.float32
    assert np.array_equal(D, tc.gemm(A, B, None, "fp16", "fp32"))
    with pytest.raises(ValueError, match="m16n8k12 is not a PTX mma shape"):
        tc.mma(A[:, :12], B[:12], None, "fp16", "fp32")


@pytest.mark.parametrize("fmt,lo,hi", [("s8", -128, 127), ("u8", 0, 255), ("s4", -8, 7),
                                       ("u4", 0, 15)])
@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 200), sat=st.booleans())
def test_integer_mma_equals_exact_gemm(fmt, lo, hi, seed, k, sat):
    rng = np.random.default_rng(seed)
    A = rng.integers(lo, hi + 1, (3, k))
    B = rng.integers(lo, hi + 1, (k, 4))
    C = rng.integers(-2**31, 2**31, (3, 4)) if seed % 2 else rng.integers(-100, 100, (3, 4))
    D = TensorCore("A100").imma(A, B, C, fmt, overflow="saturate" if sat else "wrap")
    kstep = 32 if fmt in ("s8", "u8") else 64
    want = [[ref.int_mma(A[i], B[:, j], C[i, j], kstep, sat) for j in range(4)] for i in range(3)]
    assert D.dtype == np.int32 and D.tolist() == want
    if not sat:  # wrap == exact modulo 2^32
        exact = A.astype(object) @ B.astype(object) + C.astype(object)
        assert D.tolist() == [[(int(x) + 2**31) % 2**32 - 2**31 for x in r] for r in exact]


def test_integer_saturation_example():
    A = np.full((1, 32), 127)
    B = np.full((32, 1), 127)
    tc = TensorCore("H100")
    C = np.array([[2**31 - 1000]])
    assert tc.imma(A, B, C, "s8", overflow=Overflow.SATURATE)[0, 0] == 2**31 - 1
    assert tc.imma(A, B, C, "s8", overflow=Overflow.WRAP)[0, 0] == 2**31 - 1000 + 32 * 127 * 127 - 2**32


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 300))
def test_binary_mma(seed, k):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 2, (2, k))
    B = rng.integers(0, 2, (k, 3))
    C = rng.integers(-50, 50, (2, 3))
    tc = TensorCore("A100")
    x = tc.bmma(A, B, C, "xor")
    n = tc.bmma(A, B, C, "and")
    assert x.tolist() == (C + (A[:, :, None] ^ B[None]).sum(1)).tolist()
    assert n.tolist() == (C + A @ B).tolist()


def compress_2_4(dense):
    """Test-side 2:4 compressor (spec/sparse.md): two kept values per group of four and
    nibble idx0 | idx1 << 2 packed little-endian into int16 words."""
    rows, k = dense.shape
    vals, nibs = [], []
    for r in range(rows):
        vr, nr = [], []
        for g in range(k // 4):
            grp = dense[r, 4 * g:4 * g + 4]
            idx = [i for i in range(4) if grp[i] != 0][:2]
            for i in range(4):
                if len(idx) == 2:
                    break
                if i not in idx:
                    idx.append(i)
            idx = sorted(idx)
            vr += [grp[idx[0]], grp[idx[1]]]
            nr.append(idx[0] | idx[1] << 2)
        vals.append(vr)
        words = []
        for w in range(0, len(nr), 4):
            word = 0
            for j, nb in enumerate(nr[w:w + 4]):
                word |= nb << (4 * j)
            words.append(word - (1 << 16) if word >= 1 << 15 else word)
        nibs.append(words)
    return np.array(vals), np.array(nibs, dtype=np.int16)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), groups=st.integers(1, 8))
def test_sparse_mma_equals_dense_of_decompressed(seed, groups):
    rng = np.random.default_rng(seed)
    k = 4 * groups
    dense = random_values("fp16", (3, k), rng)
    for r in range(3):  # prune to 2:4
        for g in range(groups):
            drop = rng.choice(4, 2, replace=False)
            dense[r, 4 * g + drop] = 0
    vals, meta = compress_2_4(dense)
    assert np.array_equal(decompress_sparse(vals, meta, k), dense)
    B = random_values("fp16", (k, 5), rng)
    tc = TensorCore("H100")
    assert np.array_equal(tc.mma_sp(vals, meta, B, None, "fp16", "fp32"),
                          tc.gemm(dense, B, None, "fp16", "fp32"))
    ints = rng.integers(-128, 128, (3, k)) * (dense != 0)
    iv, im = compress_2_4(ints)
    Bi = rng.integers(-128, 128, (k, 5))
    assert np.array_equal(tc.mma_sp(iv, im, Bi, None, "s8"), tc.imma(ints, Bi, None, "s8"))


def test_sparse_metadata_layout_and_tf32():
    # nibbles 0b0100 {0,1}, 0b1110 {2,3}, 0b1001 {1,2}, 0b1100 {0,3} in one int16 word
    word = 0b0100 | 0b1110 << 4 | 0b1001 << 8 | 0b1100 << 12
    meta = np.array([[word - (1 << 16)]], dtype=np.int16)
    vals = np.arange(1.0, 9.0)[None]
    dense = decompress_sparse(vals, meta, 16)
    assert dense[0].tolist() == [1, 2, 0, 0, 0, 0, 3, 4, 0, 5, 6, 0, 7, 0, 0, 8]
    with pytest.raises(ValueError, match="invalid metadata nibble 0b0101"):
        decompress_sparse(vals[:, :2], np.array([[0b0101]], dtype=np.int16), 4)
    # tf32 1:2: 0b0100 keeps element 0, 0b1110 element 1
    meta12 = np.array([[0b0100 | 0b1110 << 4]], dtype=np.int32)
    assert decompress_sparse(np.array([[1.5, 2.5]]), meta12, 4, "1:2")[0].tolist() == [1.5, 0, 0, 2.5]
    B = np.array([[1.0], [2.0], [3.0], [4.0]])
    d = TensorCore("A100").mma_sp(np.array([[1.5, 2.5]]), meta12, B, None, "tf32", "fp32")
    assert d[0, 0] == np.float32(1.5 + 10.0)


def test_sparse_against_refquant_sparse():
    """mma.sp on refquant.sparse.compress_2_4's output equals the dense MMA of the pruned
    operand (fp16 2:4 with int16 words, e4m3fn 2:4 with int32 words, tf32 1:2)."""
    from refquant.sparse import compress_2_4, nm_mask
    rng = np.random.default_rng(3)
    tc = TensorCore("H100")
    for fmt, bits, k in (("fp16", 16, 32), ("e4m3fn", 8, 64), ("tf32", 32, 16)):
        dense = random_values(fmt, (16, k), rng)
        if fmt == "tf32":
            dense[:, 1::2] *= rng.random((16, k // 2)) < 0.3
            dense[:, 0::2] *= dense[:, 1::2] == 0
        else:
            dense = dense * nm_mask(dense, 2, 4)
        vals, meta = compress_2_4(dense, bits=bits)
        assert meta.dtype == (np.int32 if bits == 8 else np.int16)
        assert np.array_equal(decompress_sparse(vals, meta, k, "1:2" if bits == 32 else "2:4"),
                              dense)
        B = random_values(fmt, (k, 8), rng)
        C = random_values("fp16", (16, 8), rng)
        assert same(tc.mma_sp(vals, meta, B, C, fmt, "fp32"), tc.gemm(dense, B, C, fmt, "fp32"))


def test_block_scaled_semantics():
    tc = TensorCore("B200")
    rng = np.random.default_rng(7)
    A = random_values("e4m3fn", (2, 64), rng)
    B = random_values("e4m3fn", (64, 3), rng)
    one_a, one_b = np.ones((2, 2)), np.ones((2, 3))
    base = tc.mma_block_scaled(A, B, None, one_a, one_b, "e4m3fn")
    # a uniform power-of-two scale moves the whole computation: exact scaling of D
    s = tc.mma_block_scaled(A, B, None, one_a * 2.0 ** 5, one_b * 2.0 ** -3, "e4m3fn")
    assert np.array_equal(s, base * np.float32(4.0))
    # per-block scales equal pre-scaled operands in the same model
    sa = 2.0 ** rng.integers(-3, 4, (2, 2))
    want = BlockFMAModel(32, 2, "e4m3fn", "fp32", "toward_zero", min_exp_limit=-133)
    got = tc.mma_block_scaled(A, B, None, sa, one_b, "e4m3fn")
    ref_rows = [[ref.chain(list(A[i] * np.repeat(sa[i], 32)), list(B[:, j]), 0.0, "e4m3fn", 32, 2,
                           "fp32", "rz", -133) for j in range(3)] for i in range(2)]
    assert np.array_equal(got, np.array(ref_rows, dtype=np.float32)) and want.n == 32
    # nvf4: e2m1 values with ue4m3 scales per 16; worked example 6 * 1.5 * (0.5 * 3) * 16
    A4 = np.full((1, 16), 6.0)
    B4 = np.full((16, 1), 0.5)
    d = tc.mma_block_scaled(A4, B4, None, np.array([[1.5]]), np.array([[3.0]]), "e2m1", "nvf4")
    assert d[0, 0] == np.float32(16 * 6.0 * 1.5 * 0.5 * 3.0)


@pytest.mark.parametrize("call,match", [
    (lambda: TensorCore("P100"), "gpu='P100' is unknown"),
    (lambda: TensorCore("V100").model("bf16"), "bf16.*not supported by V100"),
    (lambda: TensorCore("A100").model("e4m3fn"), "e4m3fn.*not supported by A100"),
    (lambda: TensorCore("H100").model("fp64"), "in_format='fp64' is not supported"),
    (lambda: TensorCore("H100").model("fp16", "bf16"), "out_format='bf16' is not supported"),
    (lambda: TensorCore("H100").model("tf32", "fp16"), "accumulates in fp32 only"),
    (lambda: TensorCore("B200").model("e4m3fn", instruction="wgmma"), "instruction='wgmma'"),
    (lambda: TensorCore("H100").mma_rows([[1.0, 2.0]], [[1.0]], None), "equal shape"),
    (lambda: TensorCore("H100").gemm(np.ones((2, 3)), np.ones((4, 2))), "shapes do not match"),
    (lambda: TensorCore("H100").mma_rows([[1.0 + 2.0 ** -11]], [[1.0]], None), "a holds.*fp16"),
    (lambda: TensorCore("H100").mma_rows([[1.0]], [[500.0]], None, "e4m3fn"), "beyond the largest"),
    (lambda: TensorCore("H100").mma_rows([[1.0]], [[1.0]], [0.1], "fp16", "fp16"), "C holds"),
    (lambda: TensorCore("V100").imma(np.ones((1, 4), int), np.ones((4, 1), int)), "V100"),
    (lambda: TensorCore("A100").imma(np.full((1, 4), 300), np.ones((4, 1), int)), "outside"),
    (lambda: TensorCore("A100").mma_block_scaled(np.ones((1, 32)), np.ones((32, 1))), "B200"),
    (lambda: TensorCore("B200").mma_block_scaled(np.ones((1, 32)), np.ones((32, 1)), None,
                                                 [[0.0]], [[1.0]]), "scale_a holds 0.0, not a ue8m0"),
    (lambda: TensorCore("B200").mma_block_scaled(np.ones((1, 32)), np.ones((32, 1)), None,
                                                 [[1.0]], [[2.0 ** 128]]), "scale_b holds"),
    (lambda: TensorCore("B200").mma_block_scaled(np.ones((1, 16)), np.ones((16, 1)), None,
                                                 [[1.0]], [[0.3]], "e2m1", "nvf4"), "ue4m3"),
    (lambda: TensorCore("B200").mma_block_scaled(np.full((1, 32), np.nan), np.ones((32, 1)),
                                                 None, [[1.0]], [[1.0]], "e2m1"), "A holds NaN"),
    (lambda: TensorCore("H100").mma_rows([[1.0]], [[np.inf]], None, "e4m3fn"), "b holds inf"),
    (lambda: BlockFMAModel(0, 1, "fp16"), "n=0"),
    (lambda: BlockFMAModel(8, 99, "fp16"), "neab=99"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("gpu,fmt,out,instr", [c for c in COMBOS if c[0] in ("V100", "A100", "H100")])
@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 70))
def test_fast_kernel_equals_general_kernel(gpu, fmt, out, instr, seed, k):
    """Finite operands take the branch-free kernel; it must equal the general one."""
    from refquant.kernels import tensorcore as K
    rng = np.random.default_rng(seed)
    model = TensorCore(gpu).model(fmt, out, instr)
    a = random_values(fmt, (8, k), rng) * (rng.random((8, k)) < 0.8)
    b = random_values(fmt, (8, k), rng)
    c = random_values("fp16", (8,), rng) * (rng.random(8) < 0.7)
    fast = model.rows(a, b, c)
    asig, aexp, acls, _ = model._decompose(a, model.in_format)
    bsig, bexp, bcls, _ = model._decompose(b, model.in_format)
    general = np.empty(8)
    K.mma_rows(asig, aexp, acls, bsig, bexp, bcls, c, *model._args(), general)
    assert same(fast, model._cast(general))
