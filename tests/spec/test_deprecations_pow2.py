"""Old refquant.pow2 names (docs/glossary.md): each still works for one release, with a
DeprecationWarning that names the replacement and points at the caller."""
import warnings

import numpy as np
import pytest

import refquant as rq
from refquant import Rounding, pow2
from refquant.pow2 import APoTFormat, LogFormat, NHotFormat, PWLQFormat

V = np.array([[91, -7, 300, 12, 3, -64, 5, 0], [1, 2, 3, 4, 5, 6, 7, 8]])
A = np.array([[200, 77, 0, 19, 9, 255, 3, 17]])
W = np.arange(-8, 8).reshape(8, 2)


def _warns(new):
    """pytest.warns for a DeprecationWarning naming ``new``."""
    return pytest.warns(DeprecationWarning, match=new)


def _from_here(record):
    assert all(r.filename == __file__ for r in record), [r.filename for r in record]


# ----------------------------------------------------------------------------------------
# group_size -> block_size (term_quantize)


@pytest.mark.parametrize("return_terms", [False, True])
def test_term_quantize_group_size(return_terms):
    with _warns(r"term_quantize\(group_size=\.\.\.\).*block_size=") as rec:
        old = pow2.term_quantize(V, group_size=4, budget=3, return_terms=return_terms)
    _from_here(rec)
    new = pow2.term_quantize(V, block_size=4, budget=3, return_terms=return_terms)
    if return_terms:
        for a, b in zip((old.values, old.sign, old.exponent, old.count),
                        (new.values, new.sign, new.exponent, new.count)):
            assert np.array_equal(a, b)
    else:
        assert np.array_equal(old, new)
    assert np.array_equal(rq.term_quantize(V, 4, 3), pow2.term_quantize(V, 4, 3))


def test_term_quantize_both_names_is_an_error():
    with pytest.raises(TypeError, match="both group_size="):
        pow2.term_quantize(V, group_size=4, block_size=4, budget=3)


def test_term_quantize_positional_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pow2.term_quantize(V, 4, 3)


# ----------------------------------------------------------------------------------------
# width fields: nbits -> bits (LogFormat, APoTFormat), b -> value_bits (PWLQFormat)


@pytest.mark.parametrize("cls, name", [(LogFormat, "log5"), (APoTFormat, "apot5")])
def test_nbits_property(cls, name):
    f = rq.format(name)
    with _warns(rf"{cls.__name__}\.nbits.*use bits") as rec:
        assert f.nbits == 5
    _from_here(rec)
    assert f.bits == 5


@pytest.mark.parametrize("cls, name", [(LogFormat, "log5"), (APoTFormat, "apot5")])
def test_nbits_keyword(cls, name):
    with _warns(r"__init__\(nbits=\.\.\.\).*bits=") as rec:
        f = cls(nbits=5)
    _from_here(rec)
    assert f == cls(bits=5) == cls(5) == rq.format(name)


def test_pwlq_b_property():
    f = rq.format("pwlq4_p0.3_0.6")
    with _warns(r"PWLQFormat\.b .*value_bits") as rec:
        assert f.b == 4
    _from_here(rec)
    assert f.value_bits == 4 and f.bits == 6


def test_pwlq_b_keyword():
    with _warns(r"__init__\(b=\.\.\.\).*value_bits=") as rec:
        f = PWLQFormat(b=3, breakpoints=(0.5,))
    _from_here(rec)
    assert f == PWLQFormat(value_bits=3, breakpoints=(0.5,)) == rq.format("pwlq3_p0.5")


def test_width_keyword_both_names_is_an_error():
    with pytest.raises(TypeError, match="both nbits="):
        LogFormat(nbits=4, bits=4)


# ----------------------------------------------------------------------------------------
# finfo names: max_value -> max, min_value -> min (served by the Format base)

NAMES = ["log4", "ulog4", "log5_sqrt2", "apot4", "uapot4", "nhot2_8", "pwlq4"]


@pytest.mark.parametrize("name", NAMES)
def test_max_value(name):
    f = rq.format(name)
    with _warns(r"\.max_value .*use max") as rec:
        old = f.max_value
    _from_here(rec)
    assert old == f.max == f.values()[-1] == f.magnitudes[-1]


@pytest.mark.parametrize("name", NAMES)
def test_min_value(name):
    f = rq.format(name)
    with _warns(r"\.min_value .*use min") as rec:
        old = f.min_value
    _from_here(rec)
    assert old == f.min == f.values()[0] == (-f.max if f.signed else 0.0)


# ----------------------------------------------------------------------------------------
# NHotFormat.is_integer_valued (dead: every n-hot value is an integer)


def test_nhot_is_integer_valued():
    f = NHotFormat(2, 8)
    with _warns(r"NHotFormat\.is_integer_valued") as rec:
        assert f.is_integer_valued is True
    _from_here(rec)
    assert np.all(f.values() == np.round(f.values()))


# ----------------------------------------------------------------------------------------
# B -> bits (build_power_value_terms, apot_level_terms)


@pytest.mark.parametrize("B", [2, 3, 4, 5, 6])
def test_apot_B_keyword(B):
    with _warns(r"build_power_value_terms\(B=\.\.\.\).*bits=") as rec:
        old = pow2.build_power_value_terms(B=B)
    _from_here(rec)
    assert old == pow2.build_power_value_terms(bits=B) == pow2.build_power_value_terms(B)
    with _warns(r"apot_level_terms\(B=\.\.\.\).*bits=") as rec:
        old = pow2.apot_level_terms(B=B)
    _from_here(rec)
    assert old == pow2.apot_level_terms(B)


# ----------------------------------------------------------------------------------------
# round=True/False -> rounding=Rounding.NEAREST_EVEN / TOWARD_ZERO (sparq, sparq_dot)


@pytest.mark.parametrize("flag, mode", [(True, Rounding.NEAREST_EVEN),
                                        (False, Rounding.TOWARD_ZERO)])
def test_sparq_round_keyword(flag, mode):
    with _warns(r"sparq\(round=\.\.\.\).*rounding=") as rec:
        old = pow2.sparq(A, round=flag, vsparq=False)
    _from_here(rec)
    assert np.array_equal(old, pow2.sparq(A, rounding=mode, vsparq=False))
    with _warns(r"sparq_dot\(round=\.\.\.\).*rounding=") as rec:
        old = pow2.sparq_dot(A, W, round=flag)
    _from_here(rec)
    assert np.array_equal(old, pow2.sparq_dot(A, W, rounding=mode))


@pytest.mark.parametrize("flag, mode", [(True, Rounding.NEAREST_EVEN),
                                        (False, Rounding.TOWARD_ZERO)])
def test_sparq_positional_bool(flag, mode):
    with _warns(r"sparq\(\) with a bool rounding argument") as rec:
        old = pow2.sparq(A, "3opt", flag, False)
    _from_here(rec)
    assert np.array_equal(old, pow2.sparq(A, "3opt", mode, False))
    with _warns(r"sparq_dot\(\) with a bool rounding argument") as rec:
        old = pow2.sparq_dot(A, W, "3opt", np.bool_(flag), True)
    _from_here(rec)
    assert np.array_equal(old, pow2.sparq_dot(A, W, "3opt", mode, True))
    with _warns(r"sparq\(rounding=True/False\)") as rec:
        old = pow2.sparq(A, rounding=flag)
    _from_here(rec)
    assert np.array_equal(old, pow2.sparq(A, rounding=mode))


def test_sparq_round_checks():
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="round must be a bool"):
        pow2.sparq(A, round="no")
    with pytest.raises(TypeError, match="both round="):
        pow2.sparq(A, round=True, rounding="nearest_even")


