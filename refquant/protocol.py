"""The format protocol: a scale-free map between codes (bit patterns) and real values
that every number format of refquant implements."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _deprecate
from ._groups import group_broadcast
from ._interop import codes_of, is_ml_dtype, ml_dtype_of, to_numpy
from .modes import Rounding

__all__ = ["Format"]


class Format:
    """Base of every number format. Subclasses are frozen dataclasses of their stored
    parameters and implement ``encode``, ``decode``, ``bits``, ``name``, ``max`` and
    ``min`` (numpy finfo names: the largest and the most negative finite value).

    ``is_integer`` formats have codes equal to their values (the affine quantizer may
    give them a zero point); other formats are used with zero point 0.
    ``code_dtype`` is the NumPy dtype of the codes ``encode`` returns.

    ``encode`` and ``decode`` take their arrays by the input rule of
    ``refquant._interop`` (ml_dtypes arrays by value, PyTorch CPU tensors and DLPack /
    ``__array__`` objects as NumPy, a tensor on a GPU a ValueError asking for ``.cpu()``;
    the converters of ``refquant._validate`` apply it) and return NumPy arrays;
    ``view_codes`` takes an ml_dtypes array or tensor by its bit patterns instead.
    """

    is_integer: bool = False
    is_block: bool = False  # block formats quantize whole tensors (see refquant.quantize)

    @property
    def bits(self) -> int:  # pragma: no cover - abstract
        """Width of a code in bits (the storage of one element, scales excluded)."""
        raise NotImplementedError

    @property
    def name(self) -> str:  # pragma: no cover - abstract
        """The registered name; ``refquant.format(fmt.name) == fmt``."""
        raise NotImplementedError

    @property
    def max(self) -> float:  # pragma: no cover - abstract
        """The largest finite value."""
        raise NotImplementedError

    @property
    def min(self) -> float:  # pragma: no cover - abstract
        """The most negative finite value (0 for unsigned formats)."""
        raise NotImplementedError

    @property
    def max_value(self) -> float:
        """Deprecated name of ``max``."""
        _deprecate.warn(f"{type(self).__name__}.max_value", "max")
        return self.max

    @property
    def min_value(self) -> float:
        """Deprecated name of ``min``."""
        _deprecate.warn(f"{type(self).__name__}.min_value", "min")
        return self.min

    @property
    def code_dtype(self) -> np.dtype:
        """NumPy dtype of the codes: the narrowest unsigned integer holding ``bits``
        (integer formats override it with their signed or unsigned integer type)."""
        b = self.bits
        for cand in (8, 16, 32, 64):
            if b <= cand:
                return np.dtype(f"uint{cand}")
        raise ValueError(f"no code dtype for {b} bits")

    @property
    def calibration_max(self) -> float:
        """The magnitude a symmetric scale maps the calibrated amax to
        (s = amax / calibration_max). Default: the largest finite value. Formats whose
        extreme values are sparse (posits, logarithmic) may choose a smaller target."""
        return float(self.max)

    def encode(self, x: npt.ArrayLike, rounding: Rounding = Rounding.NEAREST_EVEN, **options) -> np.ndarray:  # pragma: no cover
        """Codes of the representable values x rounds to under ``rounding``; each family
        documents its overflow, NaN and infinity rules and its extra ``options``."""
        raise NotImplementedError

    def decode(self, codes: npt.ArrayLike) -> np.ndarray:  # pragma: no cover - abstract
        """Exact float64 values of ``codes`` (NaN codes -> NaN, infinity codes -> ±inf);
        codes outside the format raise ValueError."""
        raise NotImplementedError

    def quantize(self, x: npt.ArrayLike, rounding: Rounding = Rounding.NEAREST_EVEN, **options) -> np.ndarray:
        """decode(encode(x, rounding, **options)): the nearest representable value(s)
        under ``rounding``, as float64."""
        return self.decode(self.encode(x, rounding, **options))

    def dequantize_groups(self, codes: np.ndarray, scale3: np.ndarray, zero3: np.ndarray,
                          block: int, *, view: tuple[int, int, int],
                          dtype: np.dtype) -> np.ndarray:
        """decode(codes) * scale over the grouped (P, D, Q) ``view`` (``scale3`` and
        ``zero3`` are per-group (Ps, nb, Qs) arrays, blocks of ``block`` along D), formed
        in float64 and rounded once to ``dtype``; the result has the codes' shape. Formats
        without a zero point ignore ``zero3``; integer formats override this with the
        affine rule (codes - zero_point) * scale. ``QTensor.dequantize`` calls it."""
        vals = np.asarray(self.decode(codes), dtype=np.float64).reshape(view)
        out = vals * group_broadcast(scale3, view, block)
        return out.reshape(codes.shape).astype(dtype, copy=False)

    def codes(self) -> np.ndarray:
        """Every code of the format (formats up to 16 bits), ascending as unsigned ints."""
        if self.bits > 16:
            raise ValueError(f"codes() enumerates formats up to 16 bits; {self.name} has {self.bits}")
        return np.arange(1 << self.bits, dtype=np.int64).astype(self.code_dtype)

    def values(self) -> np.ndarray:
        """Every representable finite value, sorted ascending, without duplicates
        (-0 and +0 count once). Formats up to 16 bits."""
        v = self.decode(self.codes())
        v = v[np.isfinite(v)]
        return np.unique(v + 0.0)

    def as_ml_dtypes(self) -> np.dtype:
        """The NumPy dtype (an ml_dtypes dtype where NumPy has none) whose elements have
        this format's codes and values: ``codes.view(fmt.as_ml_dtypes())`` holds the
        values ``decode(codes)`` (e4m3fn -> ml_dtypes.float8_e4m3fn, bf16 ->
        ml_dtypes.bfloat16, fp16 -> float16, int4 -> ml_dtypes.int4, int8 -> int8, ...).
        ValueError for a format with no such dtype; ImportError when the dtype is
        ml_dtypes' and ml_dtypes is not installed."""
        dt = ml_dtype_of(self.name) if self == _named(self.name) else None
        if dt is None:
            from ._interop import DTYPE_FORMATS
            have = sorted({f for d, f in DTYPE_FORMATS.items() if not d.startswith("q")})
            raise ValueError(f"{self.name} has no ml_dtypes or NumPy dtype; formats that have "
                             f"one: {', '.join(have)}")
        return dt

    def view_codes(self, a: Any) -> np.ndarray:
        """The codes held by ``a``, an array of this format's own dtype
        (``as_ml_dtypes()``: an ml_dtypes or NumPy array, or a PyTorch CPU tensor): its
        bit patterns as ``code_dtype`` (integer formats: its integers, whose values are
        their codes). An integer array is taken as codes already (``decode`` checks
        them). TypeError for a floating array of another dtype, naming both."""
        if self.is_integer:
            return np.asarray(to_numpy(a, "a"))
        raw = a if isinstance(a, np.ndarray) else None
        if raw is not None and (is_ml_dtype(raw.dtype) or raw.dtype.kind == "f") \
                or _is_float_tensor(a):
            given = raw.dtype.name if raw is not None else str(a.dtype).rpartition(".")[2]
            want = self.as_ml_dtypes().name
            if given != want:
                raise TypeError(f"a has dtype {given}; view_codes of {self.name} takes "
                                f"{want} arrays")
            c = codes_of(a, "a")
            if self.bits < 8 * c.dtype.itemsize:
                c = c & np.asarray((1 << self.bits) - 1, dtype=c.dtype)
            return c.astype(self.code_dtype, copy=False)
        return np.asarray(to_numpy(a, "a"))

    def __str__(self) -> str:
        return self.name


def _named(name: str) -> Format | None:
    """The registered format of ``name`` (None if the name does not resolve)."""
    from .registry import format as _format
    try:
        return _format(name)
    except (ValueError, TypeError):
        return None


def _is_float_tensor(a: Any) -> bool:
    """True for a PyTorch tensor of a floating dtype (recognised without importing torch)."""
    mod = type(a).__module__ or ""
    dt = getattr(a, "dtype", None)
    return mod.startswith("torch") and bool(getattr(dt, "is_floating_point", False))
