"""Integer-only arithmetic: fixed-point requantization, exact integer GEMM and
convolution. The documented path of ``refquant.integer``'s arithmetic (the same
functions); each function's docstring states its exact semantics."""
from .integer import (conv2d, dyadic_requantize, dyadic_scale, gemm, im2col, matmul_integer,
                      multiply_by_quantized_multiplier, qlinear_matmul, quantize_multiplier,
                      rounding_divide_by_pot, saturating_rounding_doubling_high_mul)
from ._validate import MAX_BYTES  # noqa: F401 - the default max_bytes of im2col and conv2d (4 GiB); kept by name

__all__ = [
    "quantize_multiplier",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "multiply_by_quantized_multiplier",
    "dyadic_scale",
    "dyadic_requantize",
    "gemm",
    "matmul_integer",
    "qlinear_matmul",
    "im2col",
    "conv2d",
]
