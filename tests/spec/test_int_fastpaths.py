"""Boundaries of the fast paths of the integer, term and column-combining kernels: the
serial / parallel switch at its threshold, task and sub-block edges, odd shapes, the
float32 first pass against float64 and exact ties, and the layouts the fast affine
quantizer cuts into pieces. Each fast result equals the general kernel's or the
reference's."""
import numpy as np
import pytest

import refquant as rq
from refquant.integer import _affine as affine
from refquant.kernels import integer as ki
from refquant.kernels import pow2 as kp
from refquant.pow2 import _terms as terms
from refquant.pow2 import term_quantize
from refquant.sparse import column_combine
from reference import pow2 as ref_pow2
from reference import sparse as ref_sparse

MODES = ["nearest_even", "nearest_away", "nearest_up", "toward_zero", "down", "up"]


def _general(monkeypatch, x, fmt, **kw):
    with monkeypatch.context() as m:
        m.setattr(affine, "FAST_MIN_SIZE", 10**12)
        return rq.quantize(x, fmt, **kw).codes


def _tricky(rng, shape, dtype):
    """Normal values with exact ties (k + 1/2 for scale 1 / 4), zeros, signed zeros,
    saturating and tiny values mixed in."""
    x = rng.normal(size=shape) * 40
    flat = x.reshape(-1)
    flat[::5] = (rng.integers(-600, 600, flat[::5].size) + 0.5) / 4
    flat[1::11] = 0.0
    flat[2::13] = -0.0
    flat[3::17] = 1e30
    flat[4::19] = -3e-40
    return x.astype(dtype)


@pytest.fixture(params=["numpy", "kernels"])
def fast_pass(request, monkeypatch):
    """Both first passes of the int fast path: NumPy (inputs up to NUMPY_MAX_SIZE) and
    the kernels (forced by NUMPY_MAX_SIZE = -1), so each keeps its edges covered."""
    if request.param == "kernels":
        monkeypatch.setattr(affine, "NUMPY_MAX_SIZE", -1)
    return request.param


@pytest.mark.usefixtures("fast_pass")
@pytest.mark.parametrize("n", [affine.PARALLEL_MIN_SIZE - 1, affine.PARALLEL_MIN_SIZE,
                               affine.PARALLEL_MIN_SIZE + 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_serial_parallel_switch(monkeypatch, n, dtype):
    x = _tricky(np.random.default_rng(n), (n,), dtype)
    for mode in ("nearest_even", "down"):
        got = rq.quantize(x, "int8", scale=0.25, rounding=mode).codes
        assert np.array_equal(got, _general(monkeypatch, x, "int8", scale=0.25, rounding=mode))


@pytest.mark.usefixtures("fast_pass")
@pytest.mark.parametrize("n", [affine.FAST_MIN_SIZE - 1, affine.FAST_MIN_SIZE,
                               affine.FAST_TASK - 1, affine.FAST_TASK, affine.FAST_TASK + 1,
                               2 * affine.FAST_TASK + 255, 2 * affine.FAST_TASK + 256,
                               2 * affine.FAST_TASK + 257, 2 * affine.FAST_TASK + 383])
@pytest.mark.parametrize("mode", MODES)
def test_task_and_sub_block_edges(monkeypatch, n, mode):
    x = _tricky(np.random.default_rng(n), (n,), np.float32)
    kw = dict(scale=0.25, zero_point=3, rounding=mode)
    got = rq.quantize(x, "uint8", **kw).codes
    assert np.array_equal(got, _general(monkeypatch, x, "uint8", **kw))


@pytest.mark.usefixtures("fast_pass")
@pytest.mark.parametrize("shape, kw", [
    ((257, 131), dict(granularity="axis", axis=0)),
    ((257, 131), dict(granularity="axis", axis=1)),
    ((3, 129, 65), dict(granularity="axis", axis=1)),
    ((129, 130), dict(granularity="block", axis=1, block_size=7)),
    ((129, 130), dict(granularity="block", axis=0, block_size=33)),
    ((5, 4099), dict(granularity="block", axis=1, block_size=1000)),
    ((70000,), dict(granularity="tensor")),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", ["int8", "uint8", "int4", "int16", "int32"])
def test_layouts_and_formats(monkeypatch, shape, kw, dtype, fmt):
    rng = np.random.default_rng(sum(shape))
    x = _tricky(rng, shape, dtype)
    kw = dict(kw, symmetric=False)
    q = rq.quantize(x, fmt, **kw)
    assert np.array_equal(q.codes, _general(monkeypatch, x, fmt, **kw))


@pytest.mark.usefixtures("fast_pass")
def test_float32_pass_near_ties_decided_in_float64(monkeypatch):
    # quotients within float32 rounding of k + 1/2 but not ties: the float32 pass flags
    # them, float64 decides them; exact ties go to the general kernel
    s = 0.1
    k = np.arange(-120, 120, dtype=np.float64)
    near = np.concatenate([(k + 0.5) * s, np.nextafter((k + 0.5) * s, np.inf),
                           np.nextafter((k + 0.5) * s, -np.inf)]).astype(np.float32)
    x = np.tile(near, 40)
    for mode in MODES:
        got = rq.quantize(x, "int8", scale=s, rounding=mode).codes
        assert np.array_equal(got, _general(monkeypatch, x, "int8", scale=s, rounding=mode))


@pytest.mark.usefixtures("fast_pass")
def test_unusual_scales_fall_back(monkeypatch):
    x = _tricky(np.random.default_rng(1), (8192,), np.float32)
    # 1 / s beyond float32 (narrow pass off) and 1 / s not a normal float64 (no fast path)
    for s in (1e-40, 1e300, 2.0 ** 1023, 3e-39):
        got = rq.quantize(x, "int8", scale=s).codes
        assert np.array_equal(got, _general(monkeypatch, x, "int8", scale=s))


@pytest.mark.usefixtures("fast_pass")
def test_nonfinite_at_task_edges(monkeypatch):
    n = 3 * affine.FAST_TASK
    x = np.linspace(-3, 3, n).astype(np.float32)
    for i in (affine.FAST_TASK - 1, affine.FAST_TASK, n - 1):
        y = x.copy()
        y[i] = np.nan
        y[i // 2] = -np.inf
        with pytest.raises(ValueError, match=rf"x\[{i // 2}\] = -inf"):
            rq.quantize(y, "int8", scale=0.02)
        got = rq.quantize(y, "int8", scale=0.02, nonfinite="saturate").codes
        assert got[i] == 0 and got[i // 2] == -128
        assert np.array_equal(got, _general(monkeypatch, y, "int8", scale=0.02,
                                            nonfinite="saturate"))


def test_prep_kernel_equals_numpy():
    # the per-group constants of the kernel pass equal those of the NumPy pass, bit for
    # bit, including reciprocals that overflow or vanish in float32 or float64
    rng = np.random.default_rng(3)
    s = np.concatenate([rng.uniform(1e-3, 1e3, 61), [2.0 ** -1074, 3e-39, 1e-40, 1e300,
                                                    2.0 ** 1023, 1.0, 0.1]])
    z = rng.integers(-(2 ** 31), 2 ** 31, s.size)
    s3, z3 = s.reshape(1, -1, 1), z.reshape(1, -1, 1)
    got = ki.affine_fast_prep(s3, z3)
    want = affine._prep_numpy(s3, z3)
    assert got[:3] == want[:3]
    for g, w in zip(got[3:], want[3:]):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(g.view(f"u{g.itemsize}"), w.view(f"u{w.itemsize}"))


def test_kernel_collects_unresolved_in_order():
    # the second call lists the unresolved elements (ties, NaN) in ascending order
    x = np.array([[[0.5, 1.0, 1.5, np.nan, 0.2, 2.5]]], dtype=np.float32)
    r64 = np.ones((1, 1, 1))
    z = np.zeros((1, 1, 1))
    out = np.empty(x.shape, np.int8)
    counts = np.zeros(3, np.int64)
    tol32 = np.float32(130 * 2.0 ** -22)
    tol64 = 130 * 2.0 ** -49
    args = (x, r64.astype(np.float32), z.astype(np.float32), np.float32(-128),
            np.float32(127), tol32, np.float32(0.5) - tol32, r64, z, tol64, 1, -128.0, 127.0,
            0, 2, counts)
    ki.quantize_affine_fast(*args, np.empty(0, np.int64), out)
    assert counts.tolist() == [1, 2, 1]
    idx = np.empty(4, np.int64)
    ki.quantize_affine_fast(*args, idx, out)
    assert idx.tolist() == [0, 2, 3, 5]
    assert out[0, 0, 1] == 1 and out[0, 0, 4] == 0


# --------------------------------------------------------------------------- terms


@pytest.mark.parametrize("encoding", ["binary", "hese", "naf"])
@pytest.mark.parametrize("g, budget", [(1, 0), (1, 3), (3, 4), (8, 16), (64, 100)])
def test_term_values_equal_reference(encoding, g, budget):
    rng = np.random.default_rng(g * 100 + budget)
    v = rng.integers(-(2 ** 12), 2 ** 12, size=(7, 3 * g + 1))
    v[:, ::3] = rng.integers(-3, 4, size=v[:, ::3].shape)
    got = term_quantize(v, g, budget, encoding)
    for r in range(v.shape[0]):
        row = v[r].tolist()
        want = []
        for i in range(0, len(row), g):
            want += ref_pow2.term_quantize_group(row[i:i + g], budget, encoding)
        assert got[r].tolist() == want
    # the values alone equal the values listed with their terms
    assert np.array_equal(got, term_quantize(v, g, budget, encoding, return_terms=True).values)


@pytest.mark.parametrize("encoding", [0, 1, 2])
def test_term_values_top_bits(encoding):
    v = np.array([[2 ** 61 - 1, -(2 ** 61 - 1), 2 ** 60, 3 << 58, -5, 0, 2 ** 53 + 1,
                   2 ** 53 - 1]], np.int64)
    for budget in (0, 1, 5, 17, 200):
        a = np.empty(v.shape, np.int64)
        s3 = np.zeros((1, 1, 1), np.int64)
        c = np.empty(v.shape, np.int64)
        kp.term_select(v, encoding, v.shape[1], budget, False, a, s3, s3, c)
        b = np.empty(v.shape, np.int64)
        assert kp.term_quantize_values(v, encoding, budget, b) == 0
        assert np.array_equal(a, b)


@pytest.mark.parametrize("n", [terms.PARALLEL_MIN_SIZE - 8, terms.PARALLEL_MIN_SIZE,
                               terms.PARALLEL_MIN_SIZE + 8])
def test_term_serial_parallel_switch(monkeypatch, n):
    v = np.random.default_rng(n).integers(-255, 256, size=(n // 8, 8))
    got = term_quantize(v, 8, 16)
    with monkeypatch.context() as m:
        m.setattr(terms, "PARALLEL_MIN_SIZE", 10**12)
        assert np.array_equal(got, term_quantize(v, 8, 16))
    assert np.array_equal(got, term_quantize(v, 8, 16, return_terms=True).values)


@pytest.mark.parametrize("n", [100, terms.PARALLEL_MIN_SIZE + 8])
def test_term_range_checked_on_both_paths(n):
    v = np.zeros(n, np.int64)
    v[n - 1] = 2 ** 61
    with pytest.raises(ValueError, match="out of range"):
        term_quantize(v, 8, 3)
    v[n - 1] = -(2 ** 63)
    with pytest.raises(ValueError, match="out of range"):
        term_quantize(v, 8, 3)
    # a non-native int64 array goes the by-value way and gives the same values
    w = np.arange(-500, 500, dtype=">i8")
    assert np.array_equal(term_quantize(w, 4, 5), term_quantize(w.astype(np.int64), 4, 5))


# ----------------------------------------------------------------- column combining


@pytest.mark.parametrize("rows", [1, 63, 64, 65, 129])
@pytest.mark.parametrize("alpha, gamma", [(2, 0.0), (4, 0.3), (8, 1.0), (40, 100.0)])
def test_column_combine_word_edges(rows, alpha, gamma):
    rng = np.random.default_rng(rows * 10 + alpha)
    w = rng.normal(size=(rows, 37)).astype(np.float32)
    w[rng.random(w.shape) < 0.7] = 0
    w[:, 5] = 0
    w[-1, ::3] = 2.0  # the last row (top bit of the last word) populated
    cc = column_combine(w, alpha, gamma)
    groups = ref_sparse.column_groups(w.tolist(), alpha, gamma)
    assert [g.tolist() for g in cc.groups] == groups
    packed, select = ref_sparse.column_pack(w.tolist(), groups)
    assert cc.packed.tolist() == packed and cc.select.tolist() == select


def test_column_combine_float_and_int_magnitudes_agree():
    rng = np.random.default_rng(5)
    wi = rng.integers(-9, 10, size=(70, 50))
    wi[rng.random(wi.shape) < 0.6] = 0
    a = column_combine(wi, 4, 0.5)
    for dt in (np.float32, np.float64, np.int8, np.int64):
        b = column_combine(wi.astype(dt), 4, 0.5)
        assert np.array_equal(a.select, b.select) and np.array_equal(a.packed, b.packed)
    wi[3, 4] = -(2 ** 63)
    assert column_combine(wi, 4, 0.5).select[3].tolist().count(4) == 1
    w = wi.astype(np.float64)
    w[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        column_combine(w, 4, 0.5)
