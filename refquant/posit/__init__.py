"""Posits and their relatives, bit-exact: ``PositFormat`` (posit<bits, es>, Posit Standard
2022 rounding; names ``posit8``, ``posit16``, ``posit32``, ``posit{bits}_{es}``),
``TentFormat`` (tapered fixed point, names ``tent*``), both built on ``TaperedFormat``;
correctly rounded arithmetic on codes (``add``, ``sub``, ``mul``, ``div``, ``sqrt``,
``fma``, ``convert``, ``to_int``, ``from_int``, the exact ``neg``, ``abs`` and the total
order ``compare``, ``eq``, ``lt``, ``le``, ``to_signed``), where operands are codes of one
format that broadcast like NumPy, the exact result is rounded once (ties to the even
pattern, saturation at ±maxpos, never to zero; other ``rounding`` modes stay in
[minpos, maxpos]) and NaR propagates; and the quire, which accumulates products exactly
and rounds once (``quire_dot``, ``quire_matmul``)."""
from ._arith import (abs, add, compare, convert, div, eq, fma, from_int, le, lt, mul, neg,
                     sqrt, sub, to_int, to_signed)
from ._posit import PositFormat
from ._quire import quire_bits, quire_dot, quire_limbs, quire_lsb_exponent, quire_matmul
from ._tapered import TaperedFormat
from ._tent import TentFormat

__all__ = [
    # formats
    "TaperedFormat",
    "PositFormat",
    "TentFormat",
    # arithmetic on codes
    "add",
    "sub",
    "mul",
    "div",
    "sqrt",
    "fma",
    "neg",
    "abs",
    "compare",
    "eq",
    "lt",
    "le",
    "to_signed",
    "convert",
    "to_int",
    "from_int",
    # the quire
    "quire_dot",
    "quire_matmul",
    "quire_bits",
    "quire_lsb_exponent",
    "quire_limbs",
]
