"""Conversions as peers perform them: the NaN payload rules of IEEE-like formats
(``FloatFormat.encode(..., nan=...)``) and ``cast``, which reproduces a peer library's
float -> format conversion code for code as a named profile."""
from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validate import as_real_array
from ..modes import Overflow, Rounding
from ..registry import format as _format

__all__ = ["NAN_MODES", "PEER_CASTS", "cast", "nan_codes", "check_nan_mode"]

#: The NaN rules of ``FloatFormat.encode(..., nan=...)`` for "ieee" formats:
#:   "canonical"  one quiet NaN per sign: sign | e all ones | top mantissa bit
#:                (the default; ml_dtypes, OCP reference code);
#:   "preserve"   the input's payload: the top M bits of its significand, kept as they are
#:                (a signalling NaN stays signalling); when those bits are all zero the
#:                lowest mantissa bit is set so the code stays a NaN (IEEE 754-2019 6.2.3
#:                recommends preserving the payload; NumPy's float32/float64 -> float16);
#:   "quiet"      the input's payload, top M bits, with the quiet bit (the top mantissa
#:                bit) set (x86 F16C ``vcvtps2ph``, PyTorch's float -> float16).
NAN_MODES = ("canonical", "preserve", "quiet")


def check_nan_mode(nan: Any, fmt: Any) -> str:
    """``nan`` if it is one of NAN_MODES and applies to ``fmt`` (payload modes need an
    "ieee" format with at least one mantissa bit), else ValueError naming what applies."""
    if not isinstance(nan, str) or nan not in NAN_MODES:
        raise ValueError(f"nan={nan!r}; allowed: {', '.join(NAN_MODES)}")
    if nan != "canonical" and not (fmt.specials == "ieee" and fmt.man_bits >= 1):
        raise ValueError(f"nan={nan!r} applies to IEEE-like formats (specials='ieee', "
                         f"man_bits >= 1), whose NaNs carry a payload; {fmt.name} has "
                         f"specials={fmt.specials!r}: allowed nan='canonical'")
    return nan


def nan_codes(x: np.ndarray, fmt: Any, nan: str) -> np.ndarray:
    """Codes of the NaN values ``x`` (float16, float32 or float64; every element a NaN)
    in the "ieee" format ``fmt`` under the NaN rule ``nan`` (see NAN_MODES): the sign bit
    of the input, the all-ones exponent field, and a mantissa field derived from the
    input's significand bits (its top ``fmt.man_bits`` bits; shifted up when the format
    has more mantissa bits than the input)."""
    M, bits = fmt.man_bits, fmt.bits
    if x.dtype == np.float64:
        raw, in_m = x.view(np.uint64).astype(np.uint64), 52
    else:
        raw, in_m = x.astype(np.float32).view(np.uint32).astype(np.uint64), 23
    sig = raw & np.uint64((1 << in_m) - 1)
    payload = (sig >> np.uint64(in_m - M)) if M <= in_m else (sig << np.uint64(M - in_m))
    payload = payload.astype(np.int64)
    if nan == "canonical":
        payload[:] = 1 << (M - 1)
    elif nan == "quiet":
        payload |= 1 << (M - 1)
    else:
        payload[payload == 0] = 1
    code = (((1 << fmt.exp_bits) - 1) << M) | payload
    if fmt.signed:
        sign = (raw >> np.uint64(in_m + (11 if in_m == 52 else 8))).astype(np.int64)
        code |= sign << (bits - 1)
    return code.astype(fmt.code_dtype)


# ----------------------------------------------------------------------------------------
# Peer profiles
# ----------------------------------------------------------------------------------------

def _torch_e8m0(x32: np.ndarray) -> np.ndarray:
    """PyTorch 2.13's float32 -> float8_e8m0fnu: the code is the input's exponent field,
    sign ignored; NaN and ±inf give 0xFF; one is added when the top mantissa bit is set
    and either any lower mantissa bit is set or the input is normal (ties at 1.5 * 2^e
    round up; a subnormal just above 2^-127 rounds up to 2^-126; 0 gives 0x00, 2^-127)."""
    b = x32.view(np.uint32).astype(np.int64)
    e = (b >> 23) & 0xFF
    up = (((b >> 22) & 1) == 1) & (((b & 0x3FFFFF) != 0) | (e > 0))
    return np.where(e == 0xFF, 0xFF, e + up).astype(np.uint8)


# A rule: what ``cast`` does for one (peer, format name). Keys:
#   f32_first  the input is first rounded to float32 (RNE), as the peer converts double
#              through float;
#   overflow   the encode overflow policy (None: the format's default);
#   rounding   the encode rounding (default nearest even);
#   nan        the NaN rule of encode (NAN_MODES);
#   nan_code   every NaN becomes this code, whatever its sign (int), or "signed_max": the
#              sign bit of the input with every other bit set;
#   nan_zero   NaN becomes a zero of the sign opposite to the input's (formats without
#              NaN: ml_dtypes 0.7 gives -0 for +NaN and +0 for -NaN);
#   custom     a function of the float32 input returning the codes (replaces encode).
_Rule = dict[str, Any]

#: peer -> format name -> rule. The conventions, measured over every float32 bit pattern
#: (see docs/sources.md): PyTorch 2.13 ``Tensor.to(dtype)``; NumPy's ``astype(float16)``;
#: ml_dtypes 0.7 ``astype``.
PEER_CASTS: dict[str, dict[str, _Rule]] = {
    "torch": {
        "e4m3fn": {"f32_first": True, "overflow": Overflow.SATURATE},
        "e5m2": {"f32_first": True, "nan_code": "signed_max"},
        "e4m3fnuz": {"f32_first": True},
        "e5m2fnuz": {"f32_first": True},
        "bf16": {"f32_first": True, "nan_code": 0xFFFF},
        "fp16": {"f32_first": True, "nan": "quiet"},
        "e8m0": {"f32_first": True, "custom": _torch_e8m0},
    },
    "numpy": {
        "fp16": {"nan": "preserve"},
    },
    "ml_dtypes": {
        "bf16": {}, "e4m3fn": {}, "e5m2": {}, "e4m3fnuz": {}, "e5m2fnuz": {},
        "e4m3": {}, "e3m4": {}, "e4m3b11fnuz": {},
        "e3m2": {"nan_zero": True}, "e2m3": {"nan_zero": True}, "e2m1": {"nan_zero": True},
        # exact ties 1.5 * 2^e round up (away from zero; E8M0 has no negative values)
        "e8m0": {"rounding": Rounding.NEAREST_AWAY},
    },
}


def cast(x: npt.ArrayLike, fmt: Any, peer: str) -> np.ndarray:
    """Codes of x in the format ``fmt`` (a FloatFormat or its registered name) as the peer
    library ``peer`` converts float arrays to that format, bit for bit:

    ``"torch"`` (PyTorch 2.13, ``Tensor.to(dtype)`` of a float32 tensor): the input is
    rounded to float32 first (as torch rounds a float64 tensor; but from float64 torch's
    bf16 NaN code depends on the element's position: 0x7FC0 in the scalar tail of its
    vector loop, so only float32 tensors are reproduced there); e4m3fn saturates overflow and ±inf to ±448; e5m2 turns every NaN into
    its sign with all other bits set (0x7F / 0xFF); bf16 turns every NaN into 0xFFFF;
    fp16 keeps NaN payloads and sets the quiet bit (``nan="quiet"``); e8m0 follows
    PyTorch's own rule (sign dropped, 0 -> 0x00, NaN and inf -> 0xFF, ties and
    subnormals just above 2^-127 round up); e4m3fnuz and e5m2fnuz equal refquant's
    defaults.
    ``"numpy"``: fp16 keeps NaN payloads as they are (``nan="preserve"``), else equal to
    ``encode``.
    ``"ml_dtypes"`` (0.7): equal to ``encode`` with the format's defaults, except that the
    formats without NaN (e3m2, e2m3, e2m1) turn +NaN into -0 and -NaN into +0, and e8m0
    rounds exact ties up.

    ``PEER_CASTS`` lists every (peer, format) pair; others raise ValueError naming the
    available ones."""
    if not isinstance(peer, str) or peer not in PEER_CASTS:
        raise ValueError(f"peer={peer!r}; allowed: {', '.join(PEER_CASTS)}")
    f = _format(fmt) if isinstance(fmt, str) else fmt
    rule = PEER_CASTS[peer].get(getattr(f, "name", None) or "")
    if rule is None:
        names = ", ".join(PEER_CASTS[peer])
        close = difflib.get_close_matches(str(getattr(f, "name", fmt)), list(PEER_CASTS[peer]), 3)
        hint = f" (closest: {', '.join(close)})" if close else ""
        raise ValueError(f"cast(peer={peer!r}) has no profile for {getattr(f, 'name', fmt)!r}"
                         f"{hint}; formats of this peer: {names}")
    xa = as_real_array(x)
    if rule.get("f32_first") and xa.dtype != np.float32:
        with np.errstate(over="ignore", invalid="ignore"):
            xa = xa.astype(np.float32)
    if "custom" in rule:
        return rule["custom"](np.ascontiguousarray(xa, dtype=np.float32))
    nanmask = np.isnan(xa) if (rule.get("nan_code") is not None or rule.get("nan_zero")) else None
    xe = np.where(nanmask, 0, xa).astype(xa.dtype) if nanmask is not None else xa
    codes = f.encode(xe, rounding=rule.get("rounding", Rounding.NEAREST_EVEN),
                     overflow=rule.get("overflow"), nan=rule.get("nan", "canonical"))
    if nanmask is not None and nanmask.any():
        sign = np.signbit(xa[nanmask]).astype(np.int64) << (f.bits - 1)
        nc = rule.get("nan_code")
        if rule.get("nan_zero"):
            fill = sign ^ (1 << (f.bits - 1))
        elif nc == "signed_max":
            fill = sign | ((1 << (f.bits - 1)) - 1)
        else:
            fill = np.full(sign.shape, nc, dtype=np.int64)
        codes[nanmask] = fill.astype(codes.dtype)
    return codes
