"""The house plan of refquant (issue 14), held in place.

- every documented module path imports;
- ``import refquant`` (and ``refquant.sim`` / ``.sparse`` / ``.cli``) loads no Numba, and
  ``refquant.sim`` is reached lazily as an attribute;
- no public attribute of a package has the name of one of its submodules unless it is that
  submodule; every public module has an ``__all__`` whose names exist;
- the import graph: no cycles among module-level imports, layers point only down
  (``LAYERS`` below), families do not import each other (``ALLOWED_CROSS_FAMILY``), and
  kernels are reached only through ``refquant._lazy`` with names written out;
- every registered format (plus a few parameterised names) obeys the protocol's laws.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from refquant import registry

ROOT = Path(__file__).resolve().parents[2]


def _source_dirs() -> tuple[Path, Path]:
    """The folders holding refquant's sources and its kernels (found without importing
    either: the kernels are the installed package ``refquant.kernels``)."""
    pkg = importlib.util.find_spec("refquant")
    kern = importlib.util.find_spec("refquant.kernels")
    assert pkg is not None and pkg.submodule_search_locations
    assert kern is not None and kern.submodule_search_locations
    return Path(list(pkg.submodule_search_locations)[0]), Path(list(kern.submodule_search_locations)[0])


PKG_DIR, KERNELS_DIR = _source_dirs()


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of refquant: dotted name -> (source file, is a package)."""
    out: dict[str, tuple[Path, bool]] = {}
    for base, prefix in ((PKG_DIR, "refquant"), (KERNELS_DIR, "refquant.kernels")):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            if base == PKG_DIR and rel.parts[0] == "kernels":
                continue
            parts = list(rel.with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            name = ".".join([prefix] + parts)
            if name in out and out[name][1] != is_pkg:
                # a package and a module of one name: the package wins at import, the
                # module is dead; keep both visible to the test below
                out[name + " (shadowed file)"] = (path, is_pkg)
                continue
            out[name] = (path, is_pkg)
    return out


MODULES = _modules()


def _public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split(".")[1:])


# ----------------------------------------------------------------------------------------
# Every documented module path imports
# ----------------------------------------------------------------------------------------

PACKAGES = ["refquant", "refquant.integer", "refquant.floats", "refquant.posit",
            "refquant.pow2", "refquant.sparse", "refquant.sim", "refquant.cli",
            "refquant.data", "refquant.kernels"]
DOCUMENTED = (PACKAGES[:1]
              + ["refquant.modes", "refquant.protocol", "refquant.registry"]
              + PACKAGES[1:2] + ["refquant.intops"] + PACKAGES[2:8]
              + ["refquant.calibrate", "refquant.qtensor"] + PACKAGES[8:]
              + sorted(f"refquant.kernels.{p.stem}" for p in KERNELS_DIR.glob("*.py")
                       if p.stem != "__init__"))


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_module_imports(name):
    mod = importlib.import_module(name)
    assert isinstance(mod, types.ModuleType) and mod.__name__ == name
    if name in PACKAGES:
        assert hasattr(mod, "__path__"), f"{name} must be a package (a folder with a face)"


def test_no_module_is_shadowed_by_a_package():
    shadowed = sorted(n for n in MODULES if n.endswith("(shadowed file)"))
    assert not shadowed, f"a package and a module of one name (the module is dead): {shadowed}"


# ----------------------------------------------------------------------------------------
# No Numba at import; refquant.sim is a lazy attribute
# ----------------------------------------------------------------------------------------

def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("name", ["refquant", "refquant.sim", "refquant.sparse",
                                  "refquant.cli"])
def test_import_loads_no_numba(name):
    r = _python(f"import sys, {name}\n"
                "loaded = sorted(m for m in sys.modules if m == 'numba' or m.startswith("
                "('numba.', 'llvmlite', 'refquant.kernels')))\n"
                "print(loaded)\n"
                "assert not loaded, loaded\n")
    assert r.returncode == 0, f"import {name} loads Numba or kernels:\n{r.stdout}{r.stderr}"


def test_sim_is_a_lazy_attribute():
    r = _python("import sys, refquant\n"
                "assert 'refquant.sim' not in sys.modules, 'import refquant imports refquant.sim'\n"
                "assert refquant.sim.SystolicArray is sys.modules['refquant.sim'].SystolicArray\n"
                "assert 'numba' not in sys.modules\n")
    assert r.returncode == 0, r.stderr


# ----------------------------------------------------------------------------------------
# Faces: no attribute shadows a submodule; __all__ everywhere
# ----------------------------------------------------------------------------------------

_SHADOW_SCRIPT = """
import importlib, json, pkgutil, sys, types
problems = []
for name in json.loads(sys.argv[1]):
    pkg = importlib.import_module(name)
    subs = [m.name for m in pkgutil.iter_modules(pkg.__path__)]
    for sub in subs:
        if sub.startswith("_") or sub not in vars(pkg):
            continue
        value = vars(pkg)[sub]
        if not (isinstance(value, types.ModuleType) and value.__name__ == f"{name}.{sub}"):
            problems.append(f"{name}.{sub} is a {type(value).__name__} while the module "
                            f"{name}.{sub} exists")
print(json.dumps(problems))
"""


def test_no_public_attribute_shadows_a_submodule():
    """Run in a fresh interpreter: importing a submodule later would rebind the attribute
    and hide the clash. Packages are imported top first, as a user would."""
    packages = sorted(n for n, (_, is_pkg) in MODULES.items() if is_pkg and _public(n)
                      and "(" not in n)
    r = subprocess.run([sys.executable, "-c", _SHADOW_SCRIPT, json.dumps(packages)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    problems = json.loads(r.stdout.strip().splitlines()[-1])
    assert not problems, "\n".join(problems)


PUBLIC_MODULES = sorted(n for n in MODULES if _public(n) and "(" not in n)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_module_has_a_complete_all(name):
    mod = importlib.import_module(name)
    names = getattr(mod, "__all__", None)
    assert names is not None, f"{name} defines no __all__"
    assert all(isinstance(n, str) for n in names), names
    assert len(names) == len(set(names)), f"duplicates in {name}.__all__"
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"


# ----------------------------------------------------------------------------------------
# The import graph
# ----------------------------------------------------------------------------------------

# The layers, lowest first: a module may import modules of its own layer or lower ones.
# A module belongs to the longest prefix listed (a package covers its submodules).
LAYERS: list[tuple[str, list[str]]] = [
    ("kernels", ["refquant.kernels"]),
    ("ground", ["refquant.modes", "refquant._validate", "refquant._deprecate",
                "refquant._progress", "refquant._lazy", "refquant._groups",
                "refquant.protocol", "refquant.registry", "refquant.qtensor",
                "refquant._interop"]),
    # every package of registry.FAMILIES (a new family needs no edit here), and intops,
    # the face of integer arithmetic
    ("families", ["refquant.intops", *registry.FAMILIES]),
    ("above the families", ["refquant._quantize", "refquant.calibrate",
                            "refquant.sparse", "refquant.data", "refquant.onnx"]),
    ("simulators", ["refquant.sim"]),
    # what users build on the formats and simulators: the oracle toolkit, the hardware
    # bridge, integer-only models and mixed-precision selection
    ("tools", ["refquant.testing", "refquant.strategies", "refquant.hw",
               "refquant.transformer", "refquant.mixed"]),
    ("command line", ["refquant.cli", "refquant.__main__"]),
    ("top", ["refquant"]),
]

# Modules of the old layout that still exist while the move is under way; each sits in the
# layer of its new home. test_no_transitional_modules_left fails while any exists.
TRANSITIONAL: dict[str, str] = {
    "refquant.formats": "families",      # -> integer / floats / posit / pow2
    "refquant.affine": "families",       # -> integer/_affine.py
    "refquant.quire": "families",        # -> posit/_quire.py
    "refquant.quantize": "above the families",   # -> qtensor.py / _quantize.py
}

# The family a family-layer module belongs to (a module imports only its own family and the
# ground floor, apart from ALLOWED_CROSS_FAMILY).
FAMILY_OF: dict[str, str] = {
    "refquant.integer": "integer", "refquant.intops": "integer",
    "refquant.affine": "integer",
    "refquant.floats": "floats",
    "refquant.posit": "posit", "refquant.quire": "posit",
    "refquant.pow2": "pow2",
    "refquant.formats": "formats",
}

# (importing family, imported family) -> the reason it is allowed.
ALLOWED_CROSS_FAMILY: dict[tuple[str, str], str] = {
    ("floats", "integer"): "floats' block formats: the element of MXINT8 is integer's "
                           "FixedFormat (OCP MX v1.0 INT8 is a scaled 8-bit fixed point)",
}
# the transitional formats package holds every family until the move is done
for _fam in ("integer", "floats", "posit", "pow2"):
    ALLOWED_CROSS_FAMILY[("formats", _fam)] = "transitional: refquant.formats"
    ALLOWED_CROSS_FAMILY[(_fam, "formats")] = "transitional: refquant.formats"

_RANK = {layer: i for i, (layer, _) in enumerate(LAYERS)}


def _longest_prefix(name: str, prefixes) -> str | None:
    best = None
    for p in prefixes:
        if (name == p or name.startswith(p + ".")) and (best is None or len(p) > len(best)):
            best = p
    return best


def _layer(name: str) -> str | None:
    table = {p: layer for layer, ps in LAYERS for p in ps}
    table.update(TRANSITIONAL)
    p = _longest_prefix(name, table)
    return None if p is None else table[p]


def _family(name: str) -> str | None:
    p = _longest_prefix(name, FAMILY_OF)
    return None if p is None else FAMILY_OF[p]


class _Imports(ast.NodeVisitor):
    """Imports of one module: (target, line, at module level). Imports under
    ``if TYPE_CHECKING:`` count for the layers (import a type from its own module, not
    from a package above) but not for cycles."""

    def __init__(self, name: str, is_pkg: bool):
        self.name, self.is_pkg = name, is_pkg
        self.depth = 0        # function nesting
        self.typing_only = 0  # inside `if TYPE_CHECKING:`
        self.found: list[tuple[str, int, bool]] = []

    def _base(self, level: int, module: str | None) -> str:
        if level == 0:
            return module or ""
        parts = self.name.split(".")
        if not self.is_pkg:
            parts = parts[:-1]
        parts = parts[:len(parts) - (level - 1)]
        return ".".join(parts + ([module] if module else []))

    def _add(self, target: str, line: int):
        if target == "refquant" or target.startswith("refquant."):
            self.found.append((target, line, self.depth == 0 and not self.typing_only))

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node):
        base = self._base(node.level, node.module)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in MODULES else base, node.lineno)

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node):
        test = node.test
        typing = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        self.typing_only += typing
        for stmt in node.body:
            self.visit(stmt)
        self.typing_only -= typing
        for stmt in node.orelse:
            self.visit(stmt)


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8"), str(path))
            for name, (path, _) in MODULES.items() if "(" not in name}


TREES = _trees()


def _graph() -> dict[str, list[tuple[str, int, bool]]]:
    graph = {}
    for name, tree in TREES.items():
        v = _Imports(name, MODULES[name][1])
        v.visit(tree)
        graph[name] = list(dict.fromkeys((t, line, top) for t, line, top in v.found
                                         if t != name))
    return graph


GRAPH = _graph()


def test_every_module_has_a_layer():
    unplaced = sorted(n for n in GRAPH if _layer(n) is None)
    assert not unplaced, f"modules in no layer of LAYERS (place them in the plan): {unplaced}"


def test_no_transitional_modules_left():
    left = sorted(n for n in GRAPH if _longest_prefix(n, TRANSITIONAL))
    assert not left, f"old-layout modules still present (shims to remove): {left}"


def test_no_import_cycles():
    """Strongly connected components of the module-level import graph (Tarjan)."""
    edges = {n: sorted({t for t, _, top in GRAPH[n] if top and t in GRAPH}) for n in GRAPH}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    detail = []
    for comp in cycles:
        inner = [f"{a} -> {b}" for a in comp for b in edges[a] if b in comp]
        detail.append(f"{comp}: {inner}")
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_layers_point_down():
    """Every import (function-level ones included: a deferred import still leaks a layer)
    goes to the importer's layer or a lower one; family modules import only their own
    family and the ground floor, apart from ALLOWED_CROSS_FAMILY."""
    bad: list[str] = []
    for name, imports in sorted(GRAPH.items()):
        src = _layer(name)
        if src is None:
            continue
        for target, line, _ in imports:
            dst = _layer(target)
            where = f"{MODULES[name][0].relative_to(ROOT)}:{line}: {name} -> {target}"
            if dst is None:
                if target in GRAPH or target == "refquant.kernels" or target.startswith("refquant.kernels."):
                    bad.append(f"{where} (target in no layer)")
                continue
            if _RANK[dst] > _RANK[src]:
                bad.append(f"{where} ({src} imports {dst})")
            elif src == dst == "families":
                a, b = _family(name), _family(target)
                if a != b and (a, b) not in ALLOWED_CROSS_FAMILY:
                    bad.append(f"{where} (family {a} imports family {b})")
    bad = list(dict.fromkeys(bad))
    assert not bad, "imports that point up or across:\n" + "\n".join(bad)


def _kernel_handles(tree: ast.Module) -> set[str]:
    """Module-level names bound to a lazy kernel handle (``_k = kernels("x")``)."""
    names = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            f = stmt.value.func
            fname = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            if fname.endswith("kernels") or fname == "LazyKernels":
                names |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    return names


def test_kernels_reached_one_way():
    """Outside the kernels themselves only ``refquant._lazy`` reaches a kernel module (by
    its name string); nobody imports ``refquant.kernels`` and no kernel is looked up under
    a name built at run time (``getattr(_k, f"{kind}_x")``)."""
    bad = []
    for name, imports in sorted(GRAPH.items()):
        if name == "refquant.kernels" or name.startswith("refquant.kernels."):
            continue
        for target, line, _ in imports:
            if target == "refquant.kernels" or target.startswith("refquant.kernels."):
                bad.append(f"{MODULES[name][0].relative_to(ROOT)}:{line}: imports {target}")
    for name, tree in sorted(TREES.items()):
        handles = _kernel_handles(tree)
        if not handles:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "getattr" and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Name) and node.args[0].id in handles
                    and not isinstance(node.args[1], ast.Constant)):
                bad.append(f"{MODULES[name][0].relative_to(ROOT)}:{node.lineno}: "
                           f"getattr({node.args[0].id}, <built name>)")
    bad = list(dict.fromkeys(bad))
    assert not bad, "kernels reached another way:\n" + "\n".join(bad)


# ----------------------------------------------------------------------------------------
# Every registered format through the protocol's laws
# ----------------------------------------------------------------------------------------

EXTRA_NAMES = ["int3", "uint5", "q3.4", "e3m3", "posit12_1", "tent10_3", "log5", "apot4",
               "nhot2_8", "pwlq4"]


def _format_names() -> list[str]:
    from refquant import registry
    try:
        names = registry.format_names()
    except Exception:   # reported by test_format_names_are_public
        names = []
    return list(dict.fromkeys(names + EXTRA_NAMES))


FORMAT_NAMES = _format_names()
EXHAUSTIVE_BITS = 16

# Exceptions to ``encode(decode(c)) == c`` for every code c (class name -> rule, reason).
# Every family not listed has canonical codes: each code round-trips, apart from NaN codes
# (many NaN payloads, one NaN that encode returns).
NONCANONICAL: dict[str, tuple[set[str], str]] = {
    "LogFormat": ({"neg_zero"}, "zero always encodes with a clear sign bit"),
    "APoTFormat": ({"neg_zero"}, "zero always encodes with a clear sign bit"),
    "NHotFormat": (set(), "only canonical NAF slot codes exist (codes() must list only those)"),
    "PWLQFormat": ({"neg_zero", "duplicates"},
                   "zero encodes with a clear sign bit; a magnitude on a breakpoint is coded "
                   "in the lower region (the smaller code)"),
}

# Code orders in which decode is monotone (class name -> order); formats not listed (n-hot
# slots, PWLQ regions) have no documented monotone code order.
CODE_ORDER: dict[str, str] = {
    "IntFormat": "integer", "FixedFormat": "integer",
    "PositFormat": "twos_complement", "TentFormat": "twos_complement",
    "FloatFormat": "sign_magnitude", "LogFormat": "sign_magnitude",
    "APoTFormat": "sign_magnitude",
}


def _fmt(name):
    from refquant import registry
    return registry.format(name)


def _codes_values(fmt):
    codes = fmt.codes()
    try:
        return codes, fmt.decode(codes)
    except ValueError as exc:
        pytest.fail(f"decode rejects codes that {fmt.name}.codes() lists: {exc}")


def _sample(fmt) -> np.ndarray:
    """Inputs inside [min, max]: every value and every midpoint (formats up to 16 bits,
    thinned to about 4000 points) or 1001 evenly spaced points."""
    if fmt.bits <= EXHAUSTIVE_BITS:
        v = fmt.values()
        x = np.sort(np.concatenate([v, (v[:-1] + v[1:]) / 2]))
        step = max(1, len(x) // 4000)
        return np.unique(np.concatenate([x[::step], [v[0], v[-1]]]))
    lo, hi = float(fmt.min), float(fmt.max)
    x = np.linspace(lo, hi, 1001)
    return np.unique(np.concatenate([x, [0.0] if lo <= 0 <= hi else []]))


def _same(a, b) -> bool:
    """Bitwise-equal float arrays (NaN equal to NaN, -0 distinct from +0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all(
        (np.isnan(a) & np.isnan(b)) | ((a == b) & (np.signbit(a) == np.signbit(b)))))


def test_format_names_are_public():
    import refquant
    from refquant import registry
    assert refquant.format is registry.format
    assert refquant.format_names is registry.format_names
    names = registry.format_names()
    assert names == sorted(names) and len(names) == len(set(names))


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_name_and_bits(name):
    from refquant import registry
    fmt = _fmt(name)
    assert registry.format(fmt.name) == fmt
    assert registry.format(fmt.name.upper()) == fmt
    assert isinstance(fmt.bits, int) and 1 <= fmt.bits <= 64
    dt = np.dtype(fmt.code_dtype)
    assert dt.kind in "iu" and dt.itemsize * 8 >= fmt.bits


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_encode_decode_types_and_shapes(name):
    fmt = _fmt(name)
    x = _sample(fmt)
    x2 = np.resize(x, (3, 5))
    for xin in (x, x2, np.asarray(x[len(x) // 2]), float(x[len(x) // 2])):
        c = fmt.encode(xin)
        assert isinstance(c, (np.ndarray, np.generic)), type(c)
        assert c.dtype == fmt.code_dtype and c.shape == np.shape(xin), (c.dtype, c.shape)
        d = fmt.decode(c)
        assert isinstance(d, (np.ndarray, np.generic)), type(d)
        assert d.dtype == np.float64 and d.shape == np.shape(xin), (d.dtype, d.shape)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_quantize_is_decode_of_encode(name):
    fmt = _fmt(name)
    if fmt.is_block:
        pytest.skip("block formats quantize by blocks: test_block_format_path")
    x = _sample(fmt)
    assert _same(fmt.quantize(x), fmt.decode(fmt.encode(x)))
    # on a sample, encode is idempotent and every input in [min, max] stays finite
    c = fmt.encode(x)
    assert np.array_equal(fmt.encode(fmt.decode(c)), c)
    assert np.all(np.isfinite(fmt.decode(c)))


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_values_sorted_unique_finite_and_extremes(name):
    fmt = _fmt(name)
    if fmt.bits > EXHAUSTIVE_BITS:
        pytest.skip(f"{fmt.bits} bits: values() enumerates formats up to 16 bits")
    v = fmt.values()
    assert v.dtype == np.float64 and v.ndim == 1 and v.size >= 2
    assert np.all(np.isfinite(v))
    assert np.all(np.diff(v) > 0), "values() not strictly ascending"
    assert fmt.max == v.max() and fmt.min == v.min()
    # every value is reached: decode(encode(v)) == v
    assert np.array_equal(fmt.decode(fmt.encode(v)), v)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_every_code_round_trips(name):
    fmt = _fmt(name)
    if fmt.bits > EXHAUSTIVE_BITS:
        pytest.skip(f"{fmt.bits} bits: exhaustive only up to 16 bits")
    codes, vals = _codes_values(fmt)
    # codes() lists distinct codes: every bit pattern, or only the canonical ones where a
    # family has patterns that are not codes (n-hot), which decode must then refuse
    assert codes.dtype == fmt.code_dtype and len(np.unique(codes)) == len(codes)
    if len(codes) < 1 << fmt.bits and not fmt.is_integer:
        others = np.setdiff1d(np.arange(1 << fmt.bits), codes.astype(np.int64))
        for c in others[:64]:
            with pytest.raises(ValueError):
                fmt.decode(np.array([c], dtype=fmt.code_dtype))
    rules, _ = NONCANONICAL.get(type(fmt).__name__, (set(), ""))
    finite_or_inf = ~np.isnan(vals)
    back = fmt.encode(vals[finite_or_inf])
    c = codes[finite_or_inf]
    v = vals[finite_or_inf]
    # the value always survives (zero's sign may be dropped where the rule says so)
    again = fmt.decode(back)
    if "neg_zero" in rules:
        assert np.array_equal(again, v)
    else:
        assert _same(again, v)
    exempt = np.zeros(len(c), dtype=bool)
    if "neg_zero" in rules:
        exempt |= (v == 0) & np.signbit(v)
        assert np.all(back[exempt] == fmt.encode(0.0))
    if "duplicates" in rules:
        key = np.where(v == 0, 0.0, v)
        order = np.lexsort((c.astype(np.int64), key))
        first = np.ones(len(c), dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        dup = np.zeros(len(c), dtype=bool)
        dup[order[~first]] = True
        exempt |= dup
        smallest: dict[float, int] = {}
        for cc, kk in zip(c[order].astype(np.int64), key[order]):
            smallest.setdefault(kk, cc)
        want = np.array([smallest[kk] for kk in key], dtype=np.int64)
        assert np.array_equal(back.astype(np.int64)[dup], want[dup])
    mismatch = c[~exempt][back[~exempt] != c[~exempt]]
    assert mismatch.size == 0, (
        f"{mismatch.size} codes do not round-trip, e.g. {mismatch[:8].tolist()}")
    if np.isnan(vals).any():
        nan_code = fmt.encode(np.nan)
        assert np.isnan(fmt.decode(nan_code))


def _order_key(fmt, codes):
    order = CODE_ORDER.get(type(fmt).__name__)
    c = codes.astype(np.int64)
    b = fmt.bits
    if order == "integer":
        return c
    if order == "twos_complement":
        return np.where(c >= 1 << (b - 1), c - (1 << b), c)
    assert order == "sign_magnitude", order
    if not getattr(fmt, "signed", True):
        return c
    mag = c & ((1 << (b - 1)) - 1)
    return np.where(c >> (b - 1), -mag, mag)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_decode_is_monotone(name):
    """quantize is non-decreasing over sorted inputs; decode is non-decreasing in the code
    order the family documents (CODE_ORDER)."""
    fmt = _fmt(name)
    if fmt.is_block:
        pytest.skip("block formats: element codes tested through the element format")
    x = _sample(fmt)
    q = fmt.quantize(x)
    assert np.all(np.diff(q) >= 0), "quantize not monotone"
    if fmt.bits > EXHAUSTIVE_BITS or type(fmt).__name__ not in CODE_ORDER:
        return
    codes, vals = _codes_values(fmt)
    key = _order_key(fmt, codes)
    keep = ~np.isnan(vals)
    order = np.argsort(key[keep], kind="stable")
    assert np.all(np.diff(vals[keep][order]) >= 0), "decode not monotone in the code order"


BLOCK_NAMES = [n for n in FORMAT_NAMES if _fmt(n).is_block] if FORMAT_NAMES else []


@pytest.mark.parametrize("name", BLOCK_NAMES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_block_format_path(name, axis):
    fmt = _fmt(name)
    rng = np.random.default_rng(20261121)
    x = rng.standard_normal((4, 40)) * 3.0
    x[1, :7] = 0.0
    if axis == 0:
        x = np.ascontiguousarray(x.T)
    qt = fmt.quantize_tensor(x, axis=axis)
    assert qt.codes.dtype == fmt.code_dtype and qt.codes.shape == x.shape
    bs = fmt.block_size
    ax = axis % x.ndim
    nblocks = -(-x.shape[ax] // bs)
    want = tuple(nblocks if i == ax else d for i, d in enumerate(x.shape))
    scale = np.asarray(qt.scale)
    assert scale.shape == want
    per_elem = np.take(np.repeat(scale, bs, axis=ax), np.arange(x.shape[ax]), axis=ax)
    deq = qt.dequantize()
    assert deq.dtype == np.float64 and deq.shape == x.shape
    assert _same(deq, fmt.decode(qt.codes) * per_elem)
    q = fmt.quantize(x, axis=axis)
    assert _same(q, deq)
    if name.startswith("nvfp4"):
        st = qt.extra["tensor_scale"]
        again = fmt.quantize_tensor(q, axis=axis, tensor_scale=st).dequantize()
    else:
        again = fmt.quantize(q, axis=axis)
    assert _same(again, q), "block quantization not idempotent"
