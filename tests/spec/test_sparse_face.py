"""The public face of refquant.sparse: an explicit __all__, no public name that shadows a
submodule, type hints, and the one overflow vocabulary of the products."""
import importlib
import inspect
import pkgutil
import types

import numpy as np
import pytest

import refquant.sparse as S
from refquant import Overflow, intops


def test_all_is_explicit_and_complete():
    assert len(S.__all__) == len(set(S.__all__))
    for name in S.__all__:
        assert hasattr(S, name), name
    public = {n for n in vars(S) if not n.startswith("_")
              and not isinstance(getattr(S, n), types.ModuleType)}
    assert public == set(S.__all__)


def test_no_public_name_shadows_a_submodule():
    subs = [m.name for m in pkgutil.iter_modules(S.__path__)]
    assert subs and all(s.startswith("_") for s in subs), subs
    for name in subs:
        importlib.import_module(f"refquant.sparse.{name}")
    for name in S.__all__:
        assert not isinstance(getattr(S, name), types.ModuleType), name


def _functions():
    for name in S.__all__:
        obj = getattr(S, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr not in ("__init__", "__matmul__"):
                    continue
                f = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                f = f.fget if isinstance(f, property) else f
                if inspect.isfunction(f):
                    yield f"{name}.{attr}", f
    for attr in ("matmul", "dequantize", "to_dense"):   # inherited by every container
        yield f"CSR.{attr}", getattr(S.CSR, attr)


@pytest.mark.parametrize("name, func", list(_functions()), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_public_callables_are_annotated(name, func):
    sig = inspect.signature(func)
    assert sig.return_annotation is not inspect.Signature.empty, name
    for p in sig.parameters.values():
        if p.name not in ("self", "cls"):
            assert p.annotation is not inspect.Parameter.empty, (name, p.name)


# ----------------------------------------------------------------------------------------
# overflow=Overflow.X, or its name


X = np.array([[100, 100, -100]], dtype=np.int16)
V = np.ones(3, dtype=np.int16)


@pytest.mark.parametrize("member, name", [(Overflow.WRAP, "wrap"), (Overflow.SATURATE, "saturate"),
                                          (Overflow.EXACT, "exact"), (Overflow.RAISE, "raise")])
def test_overflow_members_and_names_agree(member, name):
    for a in (S.CSR.from_dense(X), S.COO.from_dense(X), S.BSR.from_dense(X, (1, 1))):
        got = a.matmul(V, acc_bits=8, overflow=member)
        assert np.array_equal(got, a.matmul(V, acc_bits=8, overflow=name))
        assert np.array_equal(got, a.matmul(V, acc_bits=8, overflow=name.upper()))
        assert np.array_equal(got, intops.gemm(X, V.reshape(-1, 1), 0, 0, acc_bits=8,
                                               overflow=name)[:, 0])


def test_overflow_saturate_is_not_the_old_code_two():
    a = S.CSR.from_dense(X)
    assert a.matmul(V, acc_bits=8, overflow=Overflow.SATURATE).tolist() == [27]
    assert a.matmul(V, acc_bits=8, overflow=Overflow.WRAP).tolist() == [100]


@pytest.mark.parametrize("bad", [Overflow.INF, Overflow.NAN, "inf", "clip"])
def test_overflow_policies_without_meaning_for_integers(bad):
    a = S.CSR.from_dense(X)
    with pytest.raises(ValueError, match="overflow"):
        a.matmul(V, overflow=bad)
    cc = S.column_combine(X, 2, 1.0)
    with pytest.raises(ValueError, match="overflow"):
        cc.matmul(V, overflow=bad)
