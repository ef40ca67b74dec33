"""Old refquant.posit names (docs/glossary.md): each still works for one release, with a
DeprecationWarning that names the replacement and points at the caller."""
import numpy as np
import pytest

from refquant.posit import PositFormat, TentFormat

FORMATS = [PositFormat(8, 2), PositFormat(16, 1), TentFormat(8, 3), TentFormat(8, 3, -4)]


def _warns(new):
    """pytest.warns for a DeprecationWarning naming ``new``."""
    return pytest.warns(DeprecationWarning, match=new)


def _from_here(record):
    assert record and all(r.filename == __file__ for r in record), [r.filename for r in record]


# ----------------------------------------------------------------------------------------
# finfo names: max_value / min_value -> max / min, min_positive -> smallest_subnormal


@pytest.mark.parametrize("f", FORMATS, ids=str)
def test_max_value(f):
    with _warns(r"max_value is deprecated.*use max") as rec:
        old = f.max_value
    _from_here(rec)
    assert old == f.max == f.decode(np.array([f.nar - 1]))[0]


@pytest.mark.parametrize("f", FORMATS, ids=str)
def test_min_value(f):
    with _warns(r"min_value is deprecated.*use min") as rec:
        old = f.min_value
    _from_here(rec)
    assert old == f.min == -f.max


@pytest.mark.parametrize("f", FORMATS, ids=str)
def test_min_positive(f):
    with _warns(r"min_positive is deprecated.*use smallest_subnormal") as rec:
        old = f.min_positive
    _from_here(rec)
    assert old == f.smallest_subnormal == f.smallest_normal == f.decode(np.array([1]))[0]


def test_max_exponent():
    f = PositFormat(16, 1)
    with _warns(r"PositFormat.max_exponent is deprecated.*use emax") as rec:
        old = f.max_exponent
    _from_here(rec)
    assert old == f.emax == 28 == -f.emin
    assert f.max == 2.0 ** f.emax and f.smallest_normal == 2.0 ** f.emin


# ----------------------------------------------------------------------------------------
# n (width) -> bits: constructor keyword and attribute


@pytest.mark.parametrize("cls,args", [(PositFormat, {"es": 1}), (TentFormat, {"rs": 4})])
def test_constructor_n(cls, args):
    with _warns(rf"{cls.__name__}\(n=\.\.\.\).*use bits=") as rec:
        old = cls(n=12, **args)
    _from_here(rec)
    assert old == cls(bits=12, **args) == cls(12, *args.values())
    assert old.bits == 12


@pytest.mark.parametrize("cls", [PositFormat, TentFormat])
def test_constructor_n_and_bits_together_is_an_error(cls):
    with pytest.raises(TypeError, match=r"both n= \(deprecated\) and bits="):
        cls(n=8, bits=8)


@pytest.mark.parametrize("f", FORMATS, ids=str)
def test_attribute_n(f):
    with _warns(rf"{type(f).__name__}\.n is deprecated.*use bits") as rec:
        old = f.n
    _from_here(rec)
    assert old == f.bits


def test_tent_fit_n():
    w = np.random.default_rng(1).standard_normal(1000) * 0.1
    with _warns(r"fit\(n=\.\.\.\).*use bits=") as rec:
        old = TentFormat.fit(w, n=10)
    _from_here(rec)
    assert old == TentFormat.fit(w, bits=10) == TentFormat.fit(w, 10)
    assert old.bits == 10


def test_tent_max_for_n():
    with _warns(r"max_for\(n=\.\.\.\).*use bits=") as rec:
        old = TentFormat.max_for(n=8, rs=3)
    _from_here(rec)
    assert old == TentFormat.max_for(bits=8, rs=3) == TentFormat(8, 3).max == 7.75
