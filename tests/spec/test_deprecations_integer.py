"""Old refquant.integer / refquant.intops names (docs/glossary.md): each still works for one
release, with a DeprecationWarning that names the replacement and points at the caller."""
import warnings

import numpy as np
import pytest

from refquant import integer, intops

A = np.array([[1, -2, 3], [4, 5, -6]], dtype=np.int8)
B = np.array([[7, 0], [-1, 2], [3, 3]], dtype=np.int8)
X = np.arange(2 * 2 * 4 * 4, dtype=np.int16).reshape(2, 2, 4, 4) % 7
W = np.arange(3 * 2 * 2 * 2, dtype=np.int8).reshape(3, 2, 2, 2) % 5 - 2


def _warns(new):
    """pytest.warns for a DeprecationWarning naming ``new``."""
    return pytest.warns(DeprecationWarning, match=new)


def _from_here(record):
    assert all(r.filename == __file__ for r in record), [r.filename for r in record]


# ----------------------------------------------------------------------------------------
# a_zero / b_zero -> a_zero_point / b_zero_point (gemm)


@pytest.mark.parametrize("mod", [intops, integer])
def test_gemm_a_zero(mod):
    with _warns(r"gemm\(a_zero=\.\.\.\).*a_zero_point=") as rec:
        old = mod.gemm(A, B, a_zero=3, overflow="exact")
    _from_here(rec)
    assert np.array_equal(old, mod.gemm(A, B, a_zero_point=3, overflow="exact"))
    assert np.array_equal(old, (A.astype(np.int64) - 3) @ B.astype(np.int64))


@pytest.mark.parametrize("mod", [intops, integer])
def test_gemm_b_zero(mod):
    bz = np.array([1, -2], dtype=np.int8)
    with _warns(r"gemm\(b_zero=\.\.\.\).*b_zero_point=") as rec:
        old = mod.gemm(A, B, b_zero=bz, overflow="exact")
    _from_here(rec)
    assert np.array_equal(old, mod.gemm(A, B, b_zero_point=bz, overflow="exact"))
    assert np.array_equal(old, A.astype(np.int64) @ (B.astype(np.int64) - bz))


def test_gemm_positional_zero_points_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = intops.gemm(A, B, 1, 2, overflow="exact")
    assert np.array_equal(got, (A.astype(np.int64) - 1) @ (B.astype(np.int64) - 2))


def test_gemm_old_and_new_keyword_together_is_an_error():
    with pytest.raises(TypeError, match="both a_zero="):
        intops.gemm(A, B, a_zero=1, a_zero_point=1)


# ----------------------------------------------------------------------------------------
# x_zero / w_zero -> x_zero_point / w_zero_point (conv2d)


@pytest.mark.parametrize("mod", [intops, integer])
def test_conv2d_x_zero(mod):
    with _warns(r"conv2d\(x_zero=\.\.\.\).*x_zero_point=") as rec:
        old = mod.conv2d(X, W, x_zero=2, padding=1, overflow="exact")
    _from_here(rec)
    new = mod.conv2d(X, W, x_zero_point=2, padding=1, overflow="exact")
    assert np.array_equal(old, new)
    assert not np.array_equal(new, mod.conv2d(X, W, padding=1, overflow="exact"))


@pytest.mark.parametrize("mod", [intops, integer])
def test_conv2d_w_zero(mod):
    wz = np.array([1, 0, -1], dtype=np.int8)
    with _warns(r"conv2d\(w_zero=\.\.\.\).*w_zero_point=") as rec:
        old = mod.conv2d(X, W, w_zero=wz, overflow="exact")
    _from_here(rec)
    new = mod.conv2d(X, W, w_zero_point=wz, overflow="exact")
    assert np.array_equal(old, new)
    assert not np.array_equal(new, mod.conv2d(X, W, overflow="exact"))


def test_conv2d_old_and_new_keyword_together_is_an_error():
    with pytest.raises(TypeError, match="both w_zero="):
        intops.conv2d(X, W, w_zero=1, w_zero_point=1)


# ----------------------------------------------------------------------------------------
# overflow strings stay accepted without a warning (strings are parsed everywhere)


@pytest.mark.parametrize("name", ["wrap", "saturate", "exact", "raise", "SATURATE", " Wrap "])
def test_overflow_strings_do_not_warn(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        intops.gemm(A, B, overflow=name)
        intops.conv2d(X, W, overflow=name)


def test_aciq_alpha_dist_keyword_is_deprecated():
    import refquant.calibrate as C
    with pytest.warns(DeprecationWarning, match="distribution="):
        old = C.aciq_alpha(4, dist="gaussian")
    assert old == C.aciq_alpha(4, distribution="gaussian")


def test_refquant_formats_function_is_deprecated():
    import refquant
    with pytest.warns(DeprecationWarning, match="format_names"):
        names = refquant.formats()
    assert names == refquant.format_names()
