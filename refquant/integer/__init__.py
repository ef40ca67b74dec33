"""Integer and fixed-point formats, and integer arithmetic as deployed integer-only inference computes it: gemmlowp / TFLite
and HAWQ-V3 requantization, exact integer GEMM with a stated accumulator width and
overflow policy (ONNX MatMulInteger / QLinearMatMul, onnxruntime's pair-saturating
uint8 x int8 path), im2col convolution, I-BERT's integer-only nonlinear operations
(i-poly, i-erf, i-GELU, i-exp, i-softmax, i-sqrt, i-LayerNorm) and ActNN-style compressed
activations. Each function's docstring states its exact semantics."""
from ._conv import conv2d, im2col
from ._formats import FixedFormat, IntFormat
from ._gemm import gemm, matmul_integer, qlinear_matmul
from ._ibert import i_erf, i_exp, i_gelu, i_layernorm, i_poly, i_softmax, i_sqrt
from ._actnn import CompressedActivation, compress_activation, decompress_activation
from ._requant import (dyadic_requantize, dyadic_scale, multiply_by_quantized_multiplier,
                       quantize_multiplier, rounding_divide_by_pot,
                       saturating_rounding_doubling_high_mul)

__all__ = [
    # formats: integers and fixed point
    "IntFormat",
    "FixedFormat",
    # requantization (gemmlowp / TFLite, HAWQ-V3)
    "quantize_multiplier",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "multiply_by_quantized_multiplier",
    "dyadic_scale",
    "dyadic_requantize",
    # exact integer matrix products
    "gemm",
    "matmul_integer",
    "qlinear_matmul",
    # convolution
    "im2col",
    "conv2d",
    # I-BERT integer-only nonlinear operations
    "i_poly",
    "i_erf",
    "i_gelu",
    "i_exp",
    "i_softmax",
    "i_sqrt",
    "i_layernorm",
    # ActNN activation compression
    "CompressedActivation",
    "compress_activation",
    "decompress_activation",
]
