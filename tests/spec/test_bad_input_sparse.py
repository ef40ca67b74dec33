"""Malformed and extreme inputs to the public refquant.sparse API: every one gives the
right answer or a ValueError / TypeError that names the parameter and the allowed range;
none crashes the interpreter, hangs, or returns a silently wrong result.

Inputs that used to crash the interpreter (out-of-bounds reads and writes in the SpMM
kernels) run in a subprocess, so a segmentation fault fails the test instead of pytest.
"""
import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from refquant.sparse import (BSR, COO, CSC, CSR, block_prune, check_nm, column_combine,
                             combine_groups, compress_2_4, conflicts, decompress_2_4,
                             global_magnitude_prune, gradual_sparsity, is_nm, is_transposable,
                             magnitude_prune, nm_compress, nm_decompress, nm_mask, spmm_2_4,
                             structured_prune, transposable_mask, transposable_patterns,
                             transposable_report)

# ----------------------------------------------------------------------------------------
# Out-of-bounds structures: formerly segmentation faults, now a clean ValueError


def _isolated(body):
    """Run body (which must raise) in a fresh interpreter; return what it printed."""
    code = textwrap.dedent("""
        import numpy as np
        from refquant.sparse import BSR, COO, CSC, CSR
        try:
        {body}
        except ValueError as e:
            print("ValueError:", e)
        else:
            print("no error")
        """).format(body=textwrap.indent(textwrap.dedent(body).strip(), "    "))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"interpreter died (rc {r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


CRASHERS = {
    "csr_check_false": ("""
        a = CSR(np.array([1, 2]), np.array([0, 10**9]), np.array([0, 1, 2]), (2, 3), check=False)
        a @ np.ones((3, 2))
        """, "CSR.indices out of bounds"),
    "csr_reassigned_indices": ("""
        a = CSR.from_dense(np.eye(3))
        a.indices = np.array([0, 1, 10**9])
        a @ np.ones((3, 2))
        """, "CSR.indices out of bounds"),
    "csr_short_indptr": ("""
        a = CSR(np.array([1.0, 2.0]), np.array([0, 1]), np.array([0, 2]), (3, 3), check=False)
        a @ np.ones((3, 2))
        """, "CSR.indptr has length 2; expected 4"),
    "csr_indptr_past_end": ("""
        a = CSR.from_dense(np.eye(3))
        a.indptr = np.array([0, 1, 2, 10**6])
        a @ np.ones((3, 2))
        """, "CSR.indptr[-1]"),
    "csc_int": ("""
        a = CSC(np.array([1, 2]), np.array([0, 10**9]), np.array([0, 1, 2, 2]), (2, 3), check=False)
        a @ np.ones((3, 2), dtype=np.int8)
        """, "CSC.indices out of bounds"),
    "bsr_float": ("""
        a = BSR(np.ones((1, 2, 2)), np.array([10**6]), np.array([0, 1]), (2, 4), check=False)
        a @ np.ones((4, 2))
        """, "BSR.indices out of bounds"),
    "bsr_reassigned_data": ("""
        a = BSR.from_dense(np.ones((4, 4)), (2, 2))
        a.data = np.ones((1, 2, 2))
        a @ np.ones((4, 2))
        """, "BSR.data has length 1"),
    "coo_check_false": ("""
        a = COO(np.array([1, 2]), np.array([0, 10**9]), np.array([0, 0]), (2, 2), check=False)
        a @ np.ones(2)
        """, "COO.row out of bounds"),
}


@pytest.mark.parametrize("case", sorted(CRASHERS))
def test_formerly_crashing_structures_raise_cleanly(case):
    body, phrase = CRASHERS[case]
    out = _isolated(body)
    assert out.startswith("ValueError:") and phrase in out, out


def test_stored_arrays_are_private_and_frozen():
    data = np.array([1.0, 2.0, 3.0])
    indices = np.array([0, 2, 1])
    indptr = np.array([0, 2, 3])
    a = CSR(data, indices, indptr, (2, 3))
    # the caller's arrays are copied: changing them afterwards changes nothing
    indices[:] = 10**9
    indptr[:] = 0
    data[:] = 0
    assert a.to_dense().tolist() == [[1, 0, 2], [0, 3, 0]]
    assert (a @ np.ones(3)).tolist() == [3.0, 3.0]
    # the stored arrays are read-only
    for arr in (a.data, a.indices, a.indptr):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 7
    o = COO.from_dense(np.eye(2))
    for arr in (o.data, o.row, o.col):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1
    b = BSR.from_dense(np.eye(4), (2, 2))
    for arr in (b.data, b.indices, b.indptr):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1


def test_structure_is_checked_before_every_kernel_call():
    a = CSR.from_dense(np.eye(3))
    a.indices = np.array([0, 1, -1])       # a negative index would wrap silently in NumPy
    for call in (lambda: a.to_dense(), lambda: a.dequantize(), lambda: a.tocoo(),
                 lambda: a @ np.ones(3), lambda: a.to_scipy()):
        with pytest.raises(ValueError, match="CSR.indices out of bounds"):
            call()


def _script(code):
    """Run code in a fresh interpreter (a crash fails the test, not pytest); its stdout."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"interpreter died (rc {r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


KERNEL_CHECK = """
import numpy as np
from refquant.kernels import sparse as KS
for kernel in ("csr", "csc", "bsr"):
    for python in (False, True):
        fi = getattr(KS, kernel + "_spmm_int")
        ff = getattr(KS, kernel + "_spmm_float")
        if python:   # the pure-Python path (the functions themselves under NUMBA_DISABLE_JIT)
            fi, ff = getattr(fi, "py_func", fi), getattr(ff, "py_func", ff)
        data = np.ones((2, 1, 1), np.int64) if kernel == "bsr" else np.ones(2, np.int64)
        b = np.ones((3, 2), np.int64)
        az = np.zeros(3, np.int64)
        good_ptr = np.array([0, 1, 2, 2], np.int64)
        bad = [
            (good_ptr, np.array([0, 3], np.int64)),                           # index too big
            (good_ptr, np.array([0, -1], np.int64)),                          # negative index
            (np.array([0, 2], np.int64), np.array([0, 1], np.int64)),         # short indptr
            (np.array([0, 1, 5, 5], np.int64), np.array([0, 1], np.int64)),   # past the end
            (np.array([0, 2, 1, 2], np.int64), np.array([0, 1], np.int64)),   # decreasing
            (np.array([-1, 1, 2, 2], np.int64), np.array([0, 1], np.int64)),  # negative start
        ]
        for ptr, idx in bad:
            oi = np.zeros((3, 2), np.int64)
            of = np.zeros((3, 2), np.float64)
            assert fi(ptr, idx, data, az, b, 1, 32, oi) != 0, (kernel, python, ptr, idx)
            assert ff(ptr, idx, data.astype(np.float64), b.astype(np.float64), of) != 0
        # a_zero too short, out of the wrong width
        oi = np.zeros((3, 2), np.int64)
        assert fi(good_ptr, np.array([0, 2], np.int64), data, az[:1], b, 1, 32, oi) != 0
        assert fi(good_ptr, np.array([0, 2], np.int64), data, az, b, 1, 32, oi[:, :1]) != 0
        assert fi(good_ptr, np.array([0, 2], np.int64), data, az, b, 1, 32, oi) == 0
print("ok")
"""


def test_kernels_refuse_out_of_range_structures():
    """The kernels check bounds themselves (compiled and pure-Python paths): a bad
    structure returns a non-zero status, which the wrappers turn into ValueError,
    instead of reading or writing out of bounds."""
    assert _script(KERNEL_CHECK).strip() == "ok"


PACKED_CHECK = """
import numpy as np
from refquant.kernels import sparse as KS
from refquant.sparse import column_combine
c = column_combine(np.array([[1, 0], [0, 2]], np.int8), 2, 1.0)
c.select = c.select.copy()
c.select[0, 0] = 10**6
for call in (lambda: c.matmul(np.ones(2, np.int8)), lambda: c.matmul(np.ones(2)), c.unpack):
    try:
        call()
    except ValueError as e:
        assert "select" in str(e), e
    else:
        raise AssertionError("no error")
order = np.zeros((2, 1), np.int64)
for f in (KS.packed_gemm_int, getattr(KS.packed_gemm_int, "py_func", KS.packed_gemm_int)):
    out = np.zeros((2, 1), np.int64)
    assert f(c.packed.astype(np.int64), c.select, order, np.zeros(2, np.int64),
             np.ones((2, 1), np.int64), 1, 32, out) != 0
bad_order = np.full((2, 1), 5, np.int64)
sel = np.zeros((2, 1), np.int64)
for f in (KS.packed_gemm_float, getattr(KS.packed_gemm_float, "py_func",
                                        KS.packed_gemm_float)):
    out = np.zeros((2, 1))
    assert f(np.ones((2, 1)), sel, bad_order, np.ones((2, 1)), out) != 0
print("ok")
"""


def test_packed_gemm_refuses_bad_select():
    assert _script(PACKED_CHECK).strip() == "ok"


def test_check_false_skips_only_canonical_checks():
    # unsorted (non-canonical) but in bounds: accepted with check=False, and products
    # are still right (duplicates are summed)
    a = COO(np.array([1, 2]), np.array([1, 0]), np.array([0, 0]), (2, 2), check=False)
    assert (a @ np.array([1, 1])).tolist() == [2, 1]
    assert a.to_dense().tolist() == [[2, 0], [1, 0]]
    c = CSR(np.array([1.0, 2.0]), np.array([2, 0]), np.array([0, 2, 2]), (2, 3), check=False)
    assert (c @ np.array([1.0, 0.0, 10.0])).tolist() == [12.0, 0.0]
    with pytest.raises(ValueError, match="unsorted"):
        c.check()


# ----------------------------------------------------------------------------------------
# N:M indices wider than uint8


@pytest.mark.parametrize("m", [2, 4, 8, 16, 256, 257, 1024])
def test_nm_compress_round_trip_any_m(m):
    rng = np.random.default_rng(m)
    for n in sorted({1, max(1, m // 2), m}):
        w = np.zeros((3, 2 * m))
        for r in range(3):
            for g in range(2):
                pos = rng.choice(m, size=n, replace=False)
                pos[0] = m - 1                       # the largest position is always used
                w[r, g * m + pos] = rng.standard_normal(n) + 10
        v, i = nm_compress(w, n, m)
        want = np.uint8 if m <= 256 else np.uint16
        assert i.dtype == want
        assert int(i.max()) == m - 1
        assert np.array_equal(nm_decompress(v, i, n, m), w)
        # and along axis 0
        v0, i0 = nm_compress(w.T, n, m, axis=0)
        assert np.array_equal(nm_decompress(v0, i0, n, m, axis=0), w.T)


def test_nm_index_dtype_follows_m():
    assert nm_compress(np.zeros(65536), 1, 65536)[1].dtype == np.uint16
    assert nm_compress(np.zeros(65537), 1, 65537)[1].dtype == np.uint32


def test_nm_decompress_refuses_indices_the_format_cannot_hold():
    with pytest.raises(ValueError, match=r"indices must be in \[0, 3\]"):
        nm_decompress(np.ones(2), np.array([0, 2**64 - 1], np.uint64), 2, 4)


# ----------------------------------------------------------------------------------------
# transposable_patterns: bounded work


def _count_bruteforce(n, m):
    rows = list(itertools.combinations(range(m), n))
    cnt = 0
    for choice in itertools.product(rows, repeat=m):
        cols = [0] * m
        for r in choice:
            for c in r:
                cols[c] += 1
        cnt += all(c == n for c in cols)
    return cnt


HUGE_WORK = """
import time
import numpy as np
from refquant.sparse import transposable_mask, transposable_patterns, transposable_report
calls = [
    (lambda: transposable_patterns(4, 8), "n=4, m=8) would enumerate 116963796250 patterns"),
    (lambda: transposable_patterns(1, 10**6), "at least 1000000! = 10^"),
    (lambda: transposable_mask(np.ones((1024, 1024)), 512, 1024), "more than max_work=1e+13"),
    (lambda: transposable_mask(np.ones((1024, 1024)), 512, 1024, "optimal_at_most"),
     "grows as m^5"),
    (lambda: transposable_report(np.ones((512, 512)), 256, 512), "max_work"),
]
for call, phrase in calls:
    t = time.perf_counter()
    try:
        call()
    except ValueError as e:
        assert phrase in str(e) and "to allow it" in str(e), e
    else:
        raise AssertionError("no error")
    assert time.perf_counter() - t < 5
print("ok")
"""


def test_huge_enumerations_and_flows_are_refused_quickly():
    """Work that would take hours (the 116963796250 patterns of n=4, m=8; min-cost flow
    on a 1024 x 1024 block) is estimated first and refused in milliseconds. In a
    subprocess with a timeout, so a regression fails instead of hanging."""
    r = subprocess.run([sys.executable, "-c", HUGE_WORK], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


@pytest.mark.parametrize("n, m", [(1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (1, 4), (3, 4),
                                  (2, 5), (4, 4)])
def test_transposable_pattern_count_is_exact(n, m):
    pairs, pats = transposable_patterns(n, m)
    assert pats.shape == (_count_bruteforce(n, m), m)
    allowed = max(pats.shape[0], m) if n == m else pats.shape[0]   # n = m: m rows of ones
    with pytest.raises(ValueError, match="max_patterns"):
        transposable_patterns(n, m, max_patterns=allowed - 1)
    p2, t2 = transposable_patterns(n, m, max_patterns=allowed)
    assert np.array_equal(t2, pats)


def test_transposable_patterns_are_frozen():
    pairs, pats = transposable_patterns(2, 4)
    with pytest.raises(ValueError, match="read-only"):
        pats[0, 0] = 10**6
    with pytest.raises(ValueError, match="read-only"):
        pairs[0, 0] = 10**6


# ----------------------------------------------------------------------------------------
# conversions by value


def test_uint64_values_are_taken_by_value():
    big = np.array([[2**64 - 2, 0]], dtype=np.uint64)
    for a in (CSR.from_dense(big), CSC.from_dense(big), COO.from_dense(big),
              BSR.from_dense(big, (1, 1))):
        assert a.data.dtype == np.uint64 and int(a.data.reshape(-1)[0]) == 2**64 - 2
        with pytest.raises(ValueError, match=r"a - a_zero_point must lie within \[-2\^31, 2\^31\]"):
            a @ np.array([1, 1], dtype=np.uint64)
    # b and b_zero_point near 2^64: b - b_zero_point is small and exact
    a = CSR.from_dense(np.array([[3, 0, 5]], dtype=np.int8))
    b = np.array([2**64 - 1, 2**64 - 2, 2**64 - 3], dtype=np.uint64)
    got = a.matmul(b, b_zero_point=np.uint64(2**64 - 2))
    assert got.tolist() == [3 * 1 + 5 * (-1)]
    with pytest.raises(ValueError, match=r"b - b_zero_point must lie within"):
        a @ b
    # a large b_zero_point is not an obscure OverflowError
    with pytest.raises(ValueError, match=r"b - b_zero_point must lie within"):
        a.matmul(np.ones(3, np.int8), b_zero_point=2**70)


def test_spmm_2_4_uint64_values_by_value():
    x = np.zeros((1, 16), np.uint64)
    x[0, 0] = 2**64 - 2
    v, meta = compress_2_4(x, bits=16)
    with pytest.raises(ValueError, match=r"values must lie within \[-2\^31, 2\^31\]"):
        spmm_2_4(v, meta, np.ones(16, np.int8), bits=16)


def test_column_combine_uint64_and_zero_points_by_value():
    w = np.array([[2**64 - 2, 0], [0, 3]], dtype=np.uint64)
    c = column_combine(w, 2, 1.0)
    with pytest.raises(ValueError, match=r"packed - a_zero_point must lie within"):
        c.matmul(np.ones(2, np.int8))
    c = column_combine(np.array([[1, 0], [0, 3]], np.int8), 2, 1.0)
    with pytest.raises(ValueError, match=r"packed - a_zero_point must lie within"):
        c.matmul(np.ones(2, np.int8), a_zero_point=np.uint64(2**64 - 1))
    assert c.matmul(np.ones(2, np.int8), a_zero_point=np.int64(-1)).tolist() == [2, 4]


def test_big_endian_operands():
    x = np.array([[1, 0, 2], [0, 3, 0]], dtype=np.int32)
    want = (x.astype(np.int64) @ np.array([1, 2, 3])).tolist()
    for a in (CSR.from_dense(x.astype(">i4")), CSC.from_dense(x.astype(">i4")),
              COO.from_dense(x.astype(">i4")), BSR.from_dense(x.astype(">i4"), (1, 1))):
        assert (a @ np.array([1, 2, 3], dtype=">i2")).tolist() == want
        assert (a @ np.array([1, 2, 3], dtype=">f8")).tolist() == want
    v, i = nm_compress(np.array([1, 0, 0, 2], dtype=">f8"), 2, 4)
    assert nm_decompress(v, i.astype(">u2"), 2, 4).tolist() == [1, 0, 0, 2]


def test_big_endian_metadata_and_generators():
    x = np.zeros((32, 32), np.float16)
    x[:, 1] = 1
    v, meta = compress_2_4(x)
    be = meta.astype(">i2")
    assert np.array_equal(decompress_2_4(v, be), x)
    from refquant.sparse import reorder_metadata_cutlass, unreorder_metadata_cutlass
    assert np.array_equal(unreorder_metadata_cutlass(reorder_metadata_cutlass(be)), meta)
    masks = global_magnitude_prune((w for w in [np.arange(3.0), np.arange(2.0)]), 0.4)
    assert [m.tolist() for m in masks] == [[False, True, True], [False, True]]


def test_nm_mask_exact_integer_magnitudes():
    w = np.array([2**60, 2**60 + 1, -(2**63), 2**63 - 1], dtype=np.int64)
    assert nm_mask(w, 1, 2).tolist() == [False, True, True, False]
    u = np.array([2**64 - 2, 2**64 - 1], dtype=np.uint64)
    assert nm_mask(u, 1, 2).tolist() == [False, True]


def test_column_combine_int64_min_magnitude():
    w = np.array([[-(2**63), 5]], dtype=np.int64)
    c = column_combine(w, 2, 1.0)
    assert c.packed.tolist() == [[-(2**63)]] and c.select.tolist() == [[0]]


def test_gradual_sparsity_extreme_steps():
    assert gradual_sparsity(np.array([2**64 - 1], np.uint64), n=10).tolist() == [0.9]
    assert gradual_sparsity(np.int64(2**62), t0=-(2**62), n=10) == 0.9
    assert gradual_sparsity(np.int64(-(2**63)), t0=2**62, n=10) == 0.0
    assert gradual_sparsity(5, t0=10**30, n=10) == 0.0
    assert gradual_sparsity(5, t0=-10**30, n=10) == 0.9
    x = 0.9 + (0.5 - 0.9) * (1.0 - 1 / 2) ** 3
    assert gradual_sparsity(np.array([-1, 0, 1, 2, 3, 4], np.int8), s_i=0.5, s_f=0.9, t0=0, n=2,
                            dt=2).tolist() == [0.5, 0.5, 0.5, x, x, 0.9]


# ----------------------------------------------------------------------------------------
# empty and extreme but valid inputs


def test_empty_matrices():
    for cls in (CSR, CSC, COO):
        a = cls.from_dense(np.zeros((0, 3), np.int8))
        assert (a @ np.ones((3, 2), np.int8)).shape == (0, 2)
        b = cls.from_dense(np.zeros((3, 0), np.int8))
        assert (b @ np.ones((0, 2), np.int8)).tolist() == [[0, 0]] * 3
    e = CSR(np.array([]), np.array([]), np.array([0, 0]), (1, 4))
    assert e.nnz == 0 and (e @ np.ones(4)).tolist() == [0.0]
    assert BSR.from_dense(np.zeros((0, 0)), (2, 2)).matmul(np.ones((0, 2))).shape == (0, 2)
    assert nm_mask(np.zeros((2, 0)), 2, 4).shape == (2, 0)
    v, i = nm_compress(np.zeros((2, 0)), 2, 4)
    assert v.shape == i.shape == (2, 0)
    assert transposable_mask(np.zeros((0, 0)), 2, 4).shape == (0, 0)
    assert column_combine(np.zeros((0, 3)), 2, 0).groups == []


def test_huge_parameters_are_clamped_not_overflowed():
    w = np.eye(4)
    assert [g.tolist() for g in column_combine(w, 2, 1e300).groups] == [[0, 1], [2, 3]]
    assert [g.tolist() for g in column_combine(w, 10**30, 0.5).groups] == [[0, 1, 2, 3]]
    assert [g.tolist() for g in combine_groups(w, 10**30, 1e300)] == [[0, 1, 2, 3]]


# ----------------------------------------------------------------------------------------
# the table: (callable, args, kwargs, exception, phrase of the message)

X = np.array([[1, 0, 2], [0, 3, 0]], dtype=np.int32)
E = np.array([])


def x_matmul(*args, **kwargs):
    return CSR.from_dense(X).matmul(*args, **kwargs)


def huge_to_dense(**kwargs):
    return CSR(E, E, np.zeros(10**4 + 1, np.int64), (10**4, 10**6)).to_dense(**kwargs)


def huge_dequantize(**kwargs):
    return CSR(E, E, np.zeros(10**4 + 1, np.int64), (10**4, 10**6)).dequantize(**kwargs)

BAD = [
    # containers: shapes, index dtypes, block sizes
    (CSR, (E, E, [0], (1.5, 3)), {}, TypeError, "shape must be a pair of ints"),
    (CSR, (E, E, [0], (-1, 3)), {}, ValueError, "shape must be non-negative"),
    (CSR, (E, E, [0], (1, 3, 4)), {}, ValueError, "shape must have two entries"),
    (CSR, (E, E, [0], "ab"), {}, TypeError, "shape must be a pair of ints"),
    (CSR, (E, E, [0], None), {}, TypeError, "shape must be a pair of ints"),
    (CSR, (E, E, [0], (True, 3)), {}, TypeError, "shape must be a pair of ints"),
    (CSR, (E, E, [0], (2**63, 1)), {}, ValueError, "shape entries must be < 2**63"),
    (CSR, ([1.0], [0.7], [0, 1], (1, 3)), {}, TypeError, "CSR.indices must hold integers"),
    (CSR, ([1.0], [0], [0, 1.0], (1, 3)), {}, TypeError, "CSR.indptr must hold integers"),
    (CSR, ([1.0], [True], [0, 1], (1, 3)), {}, TypeError, "CSR.indices must hold integers"),
    (CSR, ([1.0], [[0]], [0, 1], (1, 3)), {}, ValueError, "CSR.indices must be 1-d"),
    (CSR, (["a"], [0], [0, 1], (1, 3)), {}, ValueError, "CSR.data must hold integers or floats"),
    (CSR, ([1.0 + 1j], [0], [0, 1], (1, 3)), {}, ValueError, "CSR.data must hold integers or floats"),
    (CSR, ([1.0], [0], [0, 1], (1, 3)), {"check": "yes"}, TypeError, "check must be a bool"),
    (CSC, ([1.0], [5], [0, 1], (3, 1)), {"check": False}, ValueError, "CSC.indices out of bounds"),
    (COO, ([1.0], [0.5], [0], (2, 2)), {}, TypeError, "COO.row must hold integers"),
    (COO, ([1.0], [0], [-1], (2, 2)), {"check": False}, ValueError, "COO.col out of bounds"),
    (COO, ([1.0, 2.0], [0], [0], (2, 2)), {"check": False}, ValueError, "1-d of one length"),
    (BSR.from_dense, (np.zeros((4, 4)), (2.5, 2)), {}, TypeError, "block_size must be a pair of ints"),
    (BSR.from_dense, (np.zeros((4, 4)), (True, 2)), {}, TypeError, "block_size must be a pair of ints"),
    (BSR.from_dense, (np.zeros((4, 4)), (0, 2)), {}, ValueError, "block_size=(0, 2)"),
    (BSR, (np.ones((1, 2, 2)), [0], [0, 1], (2, 4)), {"check": False, "blocksize": 2},
     TypeError, "unexpected keyword"),
    (CSR.from_dense, (np.float64(1),), {}, ValueError, "x must be a 2-d array"),
    (CSR.from_dense, (np.ones((2, 2), complex),), {}, TypeError, "x must hold integers"),
    # products
    (x_matmul, (np.ones(3, np.int8),), {"b_zero_point": 0.5}, TypeError,
     "b_zero_point must be integers"),
    (x_matmul, (np.ones(3, np.int8),), {"acc_bits": 65}, ValueError,
     "acc_bits must be an int in [2, 64], got 65"),
    (x_matmul, (np.float64(1),), {}, ValueError, "b must be a vector or a matrix"),
    (x_matmul, (np.ones((3, 1), object),), {}, TypeError, "b must hold integers"),
    (x_matmul, (np.ones((3, 1)),), {"max_bytes": 8}, ValueError,
     "max_bytes"),
    (huge_to_dense, (), {}, ValueError, "to_dense would need about 74.5 GiB (80000000000 bytes)"),
    (huge_dequantize, (), {}, ValueError, "max_bytes"),
    # N:M
    (nm_mask, (np.ones(4), 0, 4), {}, ValueError, "n must be an int >= 1, got 0"),
    (nm_mask, (np.ones(4), 5, 4), {}, ValueError, "n=5 > m=4"),
    (nm_mask, (np.ones(4), 1, 2**63), {}, ValueError, "m must be an int in [1, 4611686018427387904], got 9223372036854775808"),
    (nm_mask, (np.ones(4), 2.0, 4), {}, TypeError, "n must be an int"),
    (nm_mask, (np.ones(6), 2, 4), {}, ValueError, "not divisible by m=4"),
    (nm_mask, (np.array([1.0, np.nan]), 1, 2), {}, ValueError, "w contains NaN"),
    (nm_mask, (np.float64(1), 1, 1), {}, ValueError, "w must have at least one axis"),
    (nm_mask, (np.ones(4, complex), 2, 4), {}, TypeError, "w must be real"),
    (nm_mask, (np.ones(4), 2, 4), {"axis": True}, TypeError, "axis must be an int"),
    (nm_mask, (np.ones(4), 2, 4), {"axis": 1}, ValueError, "axis=1 out of range"),
    (is_nm, (np.ones(4, object), 2, 4), {}, TypeError, "w must be real"),
    (check_nm, (np.ones(4), 2, 3), {}, ValueError, "not divisible by m=3"),
    (nm_compress, (np.ones(4), 2, 4), {}, ValueError, "has 4 non-zeros; 2:4 allows 2"),
    (nm_compress, (np.ones(4, object), 2, 4), {}, TypeError, "w must be real"),
    (nm_decompress, (np.ones(2), np.array([0.0, 1.9]), 2, 4), {}, TypeError,
     "indices must hold integers"),
    (nm_decompress, (np.ones(3), np.array([0, 1, 2]), 2, 4), {}, ValueError,
     "values.shape[0] = 3 is not divisible by n=2"),
    (nm_decompress, (np.ones(2), np.array([1, 1]), 2, 4), {}, ValueError, "strictly increasing"),
    (nm_decompress, (np.ones(2), np.array([0, 4]), 2, 4), {}, ValueError,
     "indices must be in [0, 3], got 4"),
    (nm_decompress, (np.ones(1), np.array([0]), 1, 10**9), {}, ValueError,
     "nm_decompress would need about 7.45 GiB (8000000000 bytes)"),
    # 2:4
    (compress_2_4, (np.zeros((1, 16), np.float16), 16.0), {}, TypeError, "bits must be an int"),
    (compress_2_4, (np.zeros((1, 16), np.float16), True), {}, TypeError, "bits must be an int"),
    (compress_2_4, (np.zeros((1, 16)),), {}, ValueError, "bits=64; the 2:4 layout"),
    (compress_2_4, (np.zeros(16, np.float16),), {}, ValueError, "x must be a 2-d matrix"),
    (compress_2_4, (np.zeros((1, 8), np.float16),), {}, ValueError, "multiple of 16"),
    (compress_2_4, (np.zeros((1, 16), object), 16), {}, TypeError, "x must be real"),
    (decompress_2_4, (np.zeros((1, 8), np.float16), np.zeros((1, 1), np.int32)), {}, TypeError,
     "metadata must be int16"),
    (spmm_2_4, (np.zeros((1, 8), np.float16), np.full((1, 1), 0x4444, np.int16),
                np.ones((16, 1))), {"bits": 12}, ValueError, "bits=12"),
    # transposable
    (transposable_patterns, (-1, 4), {}, ValueError, "n must be an int >= 1, got -1"),
    (transposable_patterns, (5, 4), {}, ValueError, "n=5 > m=4"),
    (transposable_patterns, (0, 0), {}, ValueError, "n must be an int >= 1, got 0"),
    (transposable_patterns, (2, 4.0), {}, TypeError, "m must be an int"),
    (transposable_patterns, (2, 4), {"max_patterns": -1}, ValueError, "max_patterns"),
    (transposable_mask, (np.ones((4, 4)), 2, 4), {"method": "best"}, ValueError, "method='best'"),
    (transposable_mask, (np.ones((4, 6)), 2, 4), {}, ValueError, "divisible by m=4"),
    (transposable_mask, (np.ones((8, 8)), 4, 8), {"max_work": 10}, ValueError, "max_work=10"),
    (transposable_mask, (np.ones((8, 8)), 4, 8), {"max_work": 1.5}, TypeError, "max_work must"),
    (transposable_mask, (np.full((4, 4), np.nan), 2, 4), {}, ValueError, "w contains NaN"),
    (transposable_mask, (np.ones(4), 2, 4), {}, ValueError, "w must be a 2-d matrix"),
    (is_transposable, (np.ones((4, 4)), 2, 0), {}, ValueError, "m must be an int in [1, "),
    (is_transposable, (np.ones((4, 4)), -1, 4), {}, ValueError, "n must be an int >= 1, got -1"),
    (is_transposable, (np.ones(4), 2, 4), {}, ValueError, "mask.shape = (4,)"),
    (transposable_report, (np.ones((4, 4)), 5, 4), {}, ValueError, "n=5 > m=4"),
    # column combining
    (column_combine, (np.array([[np.nan, 1.0], [0, 2]]), 2, 1), {}, ValueError, "w contains NaN"),
    (column_combine, (np.ones(3), 1, 0), {}, ValueError, "w must be 2-d"),
    (column_combine, (np.ones((2, 2)), 0, 0), {}, ValueError, "alpha must be an int >= 1, got 0"),
    (column_combine, (np.ones((2, 2)), 1, np.nan), {}, ValueError, "gamma=nan"),
    (column_combine, (np.ones((2, 2)), 1, "x"), {}, TypeError, "gamma must be a real number"),
    (conflicts, (np.eye(3), [-1]), {}, ValueError, r"group indices must lie in [0, 3)"),
    (conflicts, (np.eye(3), [3]), {}, ValueError, r"group indices must lie in [0, 3)"),
    (conflicts, (np.eye(3), [0.5, 1]), {}, TypeError, "group must hold integers"),
    # pruning
    (magnitude_prune, (np.ones(4), "0.5"), {}, TypeError, "sparsity must be a real number"),
    (magnitude_prune, (np.ones(4), True), {}, TypeError, "sparsity must be a real number"),
    (magnitude_prune, (np.ones(4), np.nan), {}, ValueError, "sparsity=nan; allowed 0 <= sparsity <= 1"),
    (magnitude_prune, (np.ones(4), 1.5), {}, ValueError, "sparsity=1.5; allowed"),
    (magnitude_prune, (np.array([np.nan]), 0.5), {}, ValueError, "w contains NaN"),
    (magnitude_prune, (np.ones(2, complex), 0.5), {}, TypeError, "w must be real"),
    (global_magnitude_prune, ([], 0.5), {}, TypeError, "non-empty list"),
    (global_magnitude_prune, (5, 0.5), {}, TypeError, "non-empty list of arrays, got int"),
    (structured_prune, (np.ones((2, 3)), 0.5), {"axis": True}, TypeError, "axis must be an int"),
    (structured_prune, (np.ones((2, 3)), 0.5), {"axis": 2}, ValueError, "axis=2 out of range"),
    (structured_prune, (np.ones((2, 3)), 0.5), {"norm": "l3"}, ValueError, "norm='l3'"),
    (block_prune, (np.ones((4, 4)), 0.5, (2.5, 2)), {}, TypeError, "block_size must be a pair of ints"),
    (block_prune, (np.ones((4, 4)), 0.5, (3, 2)), {}, ValueError, "not divisible by block_size (3, 2)"),
    (gradual_sparsity, (5,), {"t0": 2.7, "n": 10}, TypeError, "t0 must be an int"),
    (gradual_sparsity, (5,), {"n": 2**62, "dt": 4}, ValueError, "n * dt"),
    (gradual_sparsity, (np.array([1.5]),), {}, TypeError, "t must be integer"),
    (gradual_sparsity, (5,), {"s_f": 2.0}, ValueError, "s_f=2.0; allowed 0 <= s_f <= 1"),
]


def _id(case):
    f = case[0]
    return getattr(f, "__qualname__", type(f).__name__) + ":" + case[4][:30]


@pytest.mark.parametrize("case", BAD, ids=[_id(c) for c in BAD])
def test_bad_input(case):
    f, args, kwargs, exc, phrase = case
    with pytest.raises(exc) as info:
        f(*args, **kwargs)
    assert phrase in str(info.value), str(info.value)
