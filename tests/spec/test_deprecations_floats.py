"""Old refquant.floats names (docs/glossary.md): each still works for one release, with a
DeprecationWarning that names the replacement and points at the caller."""
import warnings

import numpy as np
import pytest

import refquant as rq
from refquant.floats import BlockFormat, FloatFormat, p3109, pack, unpack


def _warns(new):
    """pytest.warns for a DeprecationWarning naming ``new``."""
    return pytest.warns(DeprecationWarning, match=new)


def _from_here(record):
    assert all(r.filename == __file__ for r in record), [r.filename for r in record]


@pytest.mark.parametrize("name", ["e4m3fn", "e8m0", "bf16", "p3109_k8p3se", "ue5m2nosub"])
def test_min_normal(name):
    f = rq.format(name)
    with _warns(r"FloatFormat\.min_normal is deprecated.*smallest_normal") as rec:
        old = f.min_normal
    _from_here(rec)
    assert old == f.smallest_normal


@pytest.mark.parametrize("name", ["e4m3fn", "e8m0", "bf16", "p3109_k8p3se", "ue5m2nosub"])
def test_min_subnormal(name):
    f = rq.format(name)
    with _warns(r"FloatFormat\.min_subnormal is deprecated.*smallest_subnormal") as rec:
        old = f.min_subnormal
    _from_here(rec)
    assert old == f.smallest_subnormal


@pytest.mark.parametrize("name", ["e4m3fn", "e8m0", "ue4m3", "mxfp4", "mxint8", "nvfp4"])
def test_max_value_min_value(name):
    f = rq.format(name)
    with _warns(r"\.max_value is deprecated.*use max") as rec:
        hi = f.max_value
    _from_here(rec)
    with _warns(r"\.min_value is deprecated.*use min") as rec:
        lo = f.min_value
    _from_here(rec)
    assert (hi, lo) == (f.max, f.min)


def test_finfo_values_of_the_new_names():
    f = rq.format("e4m3fn")
    assert (f.max, f.min, f.smallest_normal, f.smallest_subnormal) == \
        (448.0, -448.0, 2.0 ** -6, 2.0 ** -9)
    e8 = rq.format("e8m0")   # no zero, no subnormals: the smallest value is 2^-127
    assert e8.min == e8.smallest_subnormal == e8.smallest_normal == 2.0 ** -127
    assert rq.format("mxfp6_e2m3").max == 7.5 and rq.format("mxfp6_e2m3").min == -7.5


@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3",
                                  "mxfp4", "mxint8"])
def test_emax_elem(name):
    f = rq.format(name)
    with _warns(r"BlockFormat\.emax_elem is deprecated.*element_emax") as rec:
        old = f.emax_elem
    _from_here(rec)
    assert old == f.element_emax
    if isinstance(f.element, FloatFormat):
        assert f.element_emax == f.element.emax


def test_encode_saturate():
    f = rq.format("e4m3fn")
    x = np.array([1e6, -1e6, np.inf, 3.0])
    with _warns(r"FloatFormat\.encode\(saturate=\.\.\.\) is deprecated.*overflow='saturate'") as rec:
        old = f.encode(x, saturate=True)
    _from_here(rec)
    assert np.array_equal(old, f.encode(x, overflow="saturate"))
    with _warns(r"encode\(saturate=\.\.\.\)") as rec:
        old = f.encode(x, saturate=False)
    _from_here(rec)
    assert np.array_equal(old, f.encode(x))
    with pytest.raises(ValueError, match="conflicts"), _warns("saturate"):
        f.encode(x, overflow="nan", saturate=True)


def test_quantize_saturate():
    f = rq.format("e5m2")
    x = np.array([1e9, -1e9, 1.0])
    with _warns(r"FloatFormat\.quantize\(saturate=\.\.\.\) is deprecated") as rec:
        old = f.quantize(x, saturate=True)
    _from_here(rec)
    assert old.tolist() == [57344.0, -57344.0, 1.0]


def test_p3109_k():
    with _warns(r"p3109\(k=\.\.\.\) is deprecated.*bits=") as rec:
        old = p3109(k=8, p=3)
    _from_here(rec)
    assert old == p3109(bits=8, p=3) == rq.format("p3109_k8p3se")
    with pytest.raises(TypeError, match="both k="):
        p3109(k=8, bits=8, p=3)


def test_new_names_do_not_warn():
    f = rq.format("e4m3fn")
    b = rq.format("mxfp4")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f.smallest_normal, f.smallest_subnormal, f.max, f.min, f.eps, f.emax, f.emin
        b.max, b.min, b.element_emax
        f.encode(np.ones(2), overflow="saturate")
        f.quantize(np.ones(2), overflow="saturate")
        p3109(8, 3)
        b.quantize_tensor(np.ones((2, 32)))
