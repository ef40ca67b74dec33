"""Integer-only arithmetic: fixed-point requantization, exact integer GEMM and
convolution, I-BERT's integer-only nonlinear operations (i-GELU, i-exp, i-softmax, i-sqrt,
i-LayerNorm) and ActNN-style compressed activations. The documented path of ``refquant.integer``'s arithmetic (the same
functions); each function's docstring states its exact semantics."""
from .integer import (CompressedActivation, compress_activation, conv2d, decompress_activation,
                      dyadic_requantize, dyadic_scale, gemm, i_erf, i_exp, i_gelu, i_layernorm,
                      i_poly, i_softmax, i_sqrt, im2col, matmul_integer,
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
    "i_poly",
    "i_erf",
    "i_gelu",
    "i_exp",
    "i_softmax",
    "i_sqrt",
    "i_layernorm",
    "CompressedActivation",
    "compress_activation",
    "decompress_activation",
]
