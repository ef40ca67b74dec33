"""refquant.strategies draw what their docstrings promise."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import refquant as rq
import refquant.strategies as rqst
from refquant.sparse import is_nm

SMALL = ["e4m3fn", "e5m2", "e2m1", "bf16", "posit8", "int4"]
WIDE = ["fp32", "posit32"]


@pytest.mark.parametrize("name", SMALL + ["uint8"])
@given(data=st.data())
def test_codes_are_codes(name, data):
    f = rq.format(name)
    c = data.draw(rqst.codes(f))
    f.decode(np.array([c]).astype(f.code_dtype))   # a code of f: decodes without error
    arr = data.draw(rqst.code_arrays(f))
    assert arr.dtype == f.code_dtype and 1 <= arr.ndim <= 2


@pytest.mark.parametrize("name", SMALL + WIDE)
@given(data=st.data())
def test_adjacent_values_and_midpoints(name, data):
    f = rq.format(name)
    lo, mid, hi = data.draw(rqst.ties(f))
    assert lo < mid < hi and math.isfinite(lo) and math.isfinite(hi)
    assert f.quantize(np.array([lo, hi])).tolist() == [lo, hi]
    q = float(f.quantize(np.array([mid]))[0])
    assert q in (lo, hi)   # nothing of the format lies between lo and hi
    below, above = np.nextafter(mid, -math.inf), np.nextafter(mid, math.inf)
    assert f.quantize(np.array([below, above])).tolist() == [lo, hi]
    m = data.draw(rqst.midpoints(f))
    assert math.isfinite(m)
    a, b = data.draw(rqst.adjacent_values(f))
    assert a < b


@pytest.mark.parametrize("name", ["e4m3fn", "e5m2", "bf16", "int8", "posit16"])
@given(data=st.data())
def test_overflow_edges_are_at_or_beyond_max(name, data):
    f = rq.format(name)
    x = data.draw(rqst.overflow_edges(f))
    assert abs(x) >= f.max


@pytest.mark.parametrize("name", ["e4m3fn", "fp16", "e2m3"])
@given(data=st.data())
def test_subnormals_are_below_the_smallest_normal(name, data):
    f = rq.format(name)
    x = data.draw(rqst.subnormals(f))
    assert abs(x) < f.smallest_normal


def test_subnormals_refuse_formats_without():
    with pytest.raises(ValueError, match="no subnormal"):
        rqst.subnormals("e8m0")


@given(x=rqst.values("e4m3fn"))
def test_values_are_encodable(x):
    rq.format("e4m3fn").encode(np.array([x]))   # every draw is a valid input


@given(x=rqst.values("e2m1", allow_nan=False, allow_infinity=False))
def test_values_respect_allow_flags(x):
    assert math.isfinite(x)


@given(q=rqst.qtensors())
def test_qtensors(q):
    f = q.fmt
    lo, hi = (int(f.min), int(f.max)) if f.is_integer else (0, (1 << f.bits) - 1)
    assert np.all((q.codes.astype(np.int64) >= lo) & (q.codes.astype(np.int64) <= hi))
    assert np.all(q.scale > 0)
    if not f.is_integer:
        assert not np.any(q.zero_point)
    assert np.all(np.isfinite(q.dequantize()))


@given(w=rqst.nm_sparse(2, 4), w8=rqst.nm_sparse(1, 8, dtype=np.int8))
def test_nm_sparse(w, w8):
    assert is_nm(w, 2, 4) and w.shape[1] % 4 == 0
    assert is_nm(w8, 1, 8) and w8.dtype == np.int8


@given(a=rqst.csr_matrices(), b=rqst.csr_matrices(dtype=np.int32, density=0.3))
def test_csr_matrices(a, b):
    for m in (a, b):
        m.check()
        assert np.count_nonzero(m.to_dense()) == m.nnz


@pytest.mark.parametrize("acc_bits", [12, 16, 20])
@given(data=st.data())
def test_gemm_operands_overflow_the_accumulator(acc_bits, data):
    a, b, (i, j) = data.draw(rqst.gemm_overflow_operands(acc_bits))
    assert a.dtype == np.int8 and b.dtype == np.int8 and a.shape[1] == b.shape[0]
    exact = int(a.astype(np.int64)[i] @ b.astype(np.int64)[:, j])
    assert not -2 ** (acc_bits - 1) <= exact <= 2 ** (acc_bits - 1) - 1


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_gemm_operands_refuse_impossible_requests():
    with pytest.raises(ValueError, match="max_k"):
        rqst.gemm_overflow_operands(48).example()


def test_import_refquant_testing_loads_no_test_framework():
    code = ("import sys, refquant.testing\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('hypothesis', 'pytest', 'dask', 'distributed', 'numba'))\n"
            "print(bad)\nassert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
