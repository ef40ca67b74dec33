"""The power-of-two family: logarithmic (LogQuant), additive powers-of-two (APoT),
n-hot and piecewise linear (PWLQ) formats, each a sign-symmetric table of magnitudes
with exact rounding; signed-digit terms (binary, HESE, NAF) and term quantization;
SPARQ activation trimming; and the exact integer dot products of each format's hardware
(shift-add, term pairs, SPARQ MACs, PWLQ region accumulators). Each function's docstring
states its exact semantics; docs/sources.md lists the papers and reference code."""
from ._apot import APoTFormat, apot_level_terms, apot_levels, apot_terms, build_power_value_terms
from ._dot import DotResult, shift_dot
from ._log import LogFormat, log_quantize
from ._nhot import NHotFormat, naf_digits, nhot_truncate
from ._pwlq import (PWLQDot, PWLQFormat, pwlq_breakpoint, pwlq_compare, pwlq_dot,
                    pwlq_error_model)
from ._sparq import SPARQ_WINDOWS, sparq, sparq_dot
from ._terms import ENCODINGS, TermQuantized, term_counts, term_encode, term_pair_dot, term_quantize

__all__ = [
    # formats
    "LogFormat",
    "APoTFormat",
    "NHotFormat",
    "PWLQFormat",
    # logarithmic and APoT level sets
    "log_quantize",
    "apot_levels",
    "apot_terms",
    "apot_level_terms",
    "build_power_value_terms",
    # signed-digit terms, n-hot and term quantization
    "ENCODINGS",
    "naf_digits",
    "nhot_truncate",
    "term_encode",
    "term_counts",
    "term_quantize",
    "TermQuantized",
    "term_pair_dot",
    # SPARQ
    "SPARQ_WINDOWS",
    "sparq",
    "sparq_dot",
    # PWLQ
    "pwlq_breakpoint",
    "pwlq_error_model",
    "pwlq_compare",
    "pwlq_dot",
    "PWLQDot",
    # shift-add dot products
    "shift_dot",
    "DotResult",
]
