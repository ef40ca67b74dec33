"""Sweep presets: the proofs refquant ships (its codecs against ml_dtypes and NumPy over
every float32 bit pattern; posit32 over every code; every code of the formats up to 16
bits against the Fraction references of a source checkout)."""
from __future__ import annotations

import functools
import importlib.util
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

from ..registry import format as _format
from ..registry import format_names

__all__ = ["Preset", "PRESETS", "preset_names", "run_preset", "posit32_recode",
           "posit32_monotone", "nar_pairs", "fraction_decode", "reference_dir"]


@dataclass(frozen=True)
class Preset:
    """A named sweep: the arguments of ``sweep`` (``reference``: None for refquant's own
    ``encode`` / ``decode``, or a function such as ``refquant.floats.cast`` with a peer's
    profile, which must then match the peer bit for bit) and, in ``convention``, the documented
    convention that explains each class of difference the sweep finds (empty when it
    should find none). ``needs``: "ml_dtypes" (the peer must be installed) or "tests"
    (a source checkout with tests/reference)."""

    name: str
    fmt: str
    domain: str
    candidate: Any
    op: str | None = None
    reference_options: dict[str, Any] = field(default_factory=dict)
    exclude: Callable[[np.ndarray], Any] | None = None
    reference: Callable[[np.ndarray], Any] | None = None
    convention: str = ""
    needs: str | None = None

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``sweep`` for this preset."""
        return {"candidate": self.candidate, "fmt": self.fmt, "domain": self.domain,
                "op": self.op, "reference_options": dict(self.reference_options),
                "exclude": self.exclude, "reference": self.reference}


# ----------------------------------------------------------------------------------------
# candidates of the presets (module-level: worker processes import them by name)
# ----------------------------------------------------------------------------------------

def posit32_recode(codes: np.ndarray) -> np.ndarray:
    """refquant's posit32 ``encode(decode(codes))``: every code must come back (NaR
    included: decode gives NaN, encode maps NaN to NaR)."""
    f = _format("posit32")
    return np.asarray(f.encode(f.decode(codes)))


def posit32_monotone(codes: np.ndarray) -> np.ndarray:
    """1 where refquant's posit32 ``decode(c) > decode(c - 1)``, c - 1 taken modulo 2^32
    (the previous code in two's-complement order), else 0: decode is strictly increasing
    along the signed order of the codes."""
    f = _format("posit32")
    c = np.asarray(codes, dtype=np.uint32)
    prev = c - np.uint32(1)
    with np.errstate(invalid="ignore"):
        return (f.decode(c) > f.decode(prev)).astype(np.uint8)


def nar_pairs(codes: np.ndarray) -> np.ndarray:
    """Codes whose pair with the previous code involves NaR (0x80000000 and 0x80000001)."""
    c = np.asarray(codes, dtype=np.uint32)
    return (c == np.uint32(0x80000000)) | (c == np.uint32(0x80000001))


def reference_dir() -> Path | None:
    """tests/reference of the source checkout refquant runs from, or None (an install)."""
    root = Path(__file__).resolve().parents[2] / "tests" / "reference"
    return root if (root / "floats.py").is_file() else None


@functools.lru_cache(maxsize=None)
def _reference_module(name: str) -> ModuleType:
    root = reference_dir()
    if root is None:
        raise FileNotFoundError("the Fraction references live in tests/reference of a source "
                                "checkout of refquant; this installation has none")
    spec = importlib.util.spec_from_file_location(f"_refquant_reference_{name}",
                                                  root / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _special(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    return float(v)


def fraction_decode(codes: np.ndarray, name: str) -> np.ndarray:
    """The value of each code of the format ``name`` by the slow Fraction reference of
    tests/reference (floats: ``floats.decode``; posits: ``posit.decode_posit``; TENT:
    ``posit.decode_tapered``; integers: the integer), as float64 (exact: the values
    have at most 53 significant bits). The sign of a zero follows the code (a float
    code with the sign bit set and zero magnitude is -0.0)."""
    from ..floats import FloatFormat
    from ..posit import PositFormat, TentFormat
    f = _format(name)
    out = np.empty(np.asarray(codes).shape, dtype=np.float64)
    flat = out.reshape(-1)
    cs = np.asarray(codes).reshape(-1).tolist()
    if isinstance(f, FloatFormat):
        ref = _reference_module("floats")
        sign = 1 << (f.bits - 1)
        for i, c in enumerate(cs):
            v = _special(ref.decode(f, int(c)))
            flat[i] = -0.0 if v == 0 and f.signed and int(c) & sign else v
    elif isinstance(f, PositFormat):
        ref = _reference_module("posit")
        for i, c in enumerate(cs):
            flat[i] = _special(ref.decode_posit(int(c), f.bits, f.es))
    elif isinstance(f, TentFormat):
        ref = _reference_module("posit")
        for i, c in enumerate(cs):
            flat[i] = _special(ref.decode_tapered(int(c), f.bits, 0, f.rs, f.scale_exp))
    elif f.is_integer:
        flat[:] = np.asarray(cs, dtype=np.float64)
    else:
        raise ValueError(f"no Fraction reference decodes {name}")
    return out


def fraction_formats() -> list[str]:
    """Registered formats up to 16 bits that a Fraction reference decodes: the float,
    posit, TENT and integer formats (the logarithmic, APoT, PWLQ and n-hot formats are
    checked against their level tables in tests/spec; block formats are their element
    formats with a scale)."""
    from ..floats import FloatFormat
    from ..posit import PositFormat, TentFormat
    out = []
    for n in format_names():
        f = _format(n)
        if f.bits <= 16 and not f.is_block and (
                isinstance(f, (FloatFormat, PositFormat, TentFormat)) or f.is_integer):
            out.append(n)
    return out


# ----------------------------------------------------------------------------------------
# the presets
# ----------------------------------------------------------------------------------------

_ML_DTYPES_CONVENTIONS = {
    "e8m0": ("ties: the 128 float32 inputs 1.5 * 2^k with k odd, -127 <= k <= 127, exact "
             "midpoints between two powers of two: refquant rounds ties to the even code "
             "(its rule in every format; OCP MX v1.0 leaves E8M0 conversion to the "
             "implementation), ml_dtypes rounds them up (away from zero), so they differ "
             "where the lower power has the even code (k odd). For k = 127 the upper "
             "neighbour 2^128 lies beyond E8M0: refquant gives 2^127 (0xfe), ml_dtypes NaN "
             "(0xff), so that one is classed nan. refquant.floats.cast(x, 'e8m0', "
             "'ml_dtypes') reproduces ml_dtypes (preset e8m0-ml_dtypes-cast)."),
}
for _name in ("e3m2", "e2m3", "e2m1"):
    _ML_DTYPES_CONVENTIONS[_name] = (
        f"excluded: the 2^24 - 2 NaN inputs; {_name} has no NaN and refquant raises "
        "ValueError for a NaN input rather than choose a value, while ml_dtypes 0.7 turns "
        "+NaN into -0 and -NaN into +0 (refquant.floats.cast(x, "
        f"'{_name}', 'ml_dtypes') does the same: preset {_name}-ml_dtypes-cast).")


def _build() -> dict[str, Preset]:
    out: dict[str, Preset] = {}
    for name in ("bf16", "e4m3fn", "e5m2", "e4m3fnuz", "e5m2fnuz", "e4m3", "e3m4", "e3m2",
                 "e2m3", "e2m1", "e8m0"):
        pname = f"{name}-ml_dtypes"
        out[pname] = Preset(pname, name, "float32", "ml_dtypes",
                            convention=_ML_DTYPES_CONVENTIONS.get(name, ""),
                            needs="ml_dtypes")
    out["fp16-numpy"] = Preset(
        "fp16-numpy", "fp16", "float32", "numpy",
        convention=("nan: refquant's default NaN is canonical, one quiet NaN per sign "
                    "(0x7e00 / 0xfe00); NumPy keeps the top 10 bits of the float32 payload "
                    "as they are, so payloads differ and a signalling NaN stays signalling "
                    "(refquant's encode(..., nan='preserve'), the preset "
                    "fp16-numpy-nan-preserve). ml_dtypes has no float16 type of its own."))
    out["fp16-numpy-nan-preserve"] = Preset(
        "fp16-numpy-nan-preserve", "fp16", "float32", "numpy",
        reference_options={"nan": "preserve"})
    from ..floats import PEER_CASTS, cast
    for peer in ("ml_dtypes", "numpy"):
        for name in PEER_CASTS.get(peer, {}):
            pname = f"{name}-{peer}-cast"
            out[pname] = Preset(pname, name, "float32", peer,
                                reference=functools.partial(cast, fmt=name, peer=peer),
                                needs="ml_dtypes" if peer == "ml_dtypes" else None)
    out["posit32-recode"] = Preset("posit32-recode", "posit32", "codes:posit32",
                                   posit32_recode, op="recode")
    out["posit32-monotone"] = Preset("posit32-monotone", "posit32", "codes:posit32",
                                     posit32_monotone, op="check", exclude=nar_pairs)
    for name in fraction_formats():
        pname = f"{name}-fraction"
        out[pname] = Preset(pname, name, f"codes:{name}",
                            functools.partial(fraction_decode, name=name), op="decode",
                            needs="tests")
    return out


PRESETS: dict[str, Preset] = _build()


def preset_names() -> list[str]:
    """Every preset name."""
    return list(PRESETS)


def run_preset(name: str, **options: Any) -> dict[str, Any]:
    """Run the preset ``name`` (``PRESETS``) with ``sweep``; ``options`` are sweep's
    engine options (workers, scheduler, chunk_size, checkpoint, resume, progress,
    examples). The report carries the preset's name and ``convention``. Unknown names
    raise ValueError listing the presets."""
    from ._sweep import sweep
    p = PRESETS.get(name)
    if p is None:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    if p.needs == "tests" and reference_dir() is None:
        raise FileNotFoundError(f"preset {name} needs tests/reference of a source checkout")
    args = p.arguments()
    clash = sorted(set(args) & set(options))
    if clash:
        raise TypeError(f"preset {name} sets {', '.join(clash)}; pass engine options only")
    rep = sweep(**args, **options)
    rep["preset"] = name
    rep["convention"] = p.convention or None
    return rep
