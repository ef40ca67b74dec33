"""refquant: the bit-exact reference for neural-network number formats, sparse formats
and the hardware that computes with them.

Nothing is compiled at import: kernels compile on first use and cache to disk.
"""
from .modes import Overflow, Rounding
from .formats import FixedFormat, Format, IntFormat, format, formats
from .quantize import QTensor, quantize
from . import calibrate
from . import intops
from . import posit
from .formats.posit import PositFormat
from .formats.tent import TentFormat
from .quire import quire_dot, quire_matmul
from . import pow2
from .formats.pow2 import APoTFormat, LogFormat, NHotFormat, PWLQFormat
from .pow2 import (apot_levels, log_quantize, pwlq_breakpoint, shift_dot, sparq, term_counts,
                   term_quantize)
from .formats.floats import FloatFormat, p3109
from .formats.block import BlockFormat, pack, unpack
from . import sparse
from . import data  # default tensors: refquant.data.load(name), refquant.data.names()

__version__ = "0.1.0"

__all__ = ["Rounding", "Overflow", "Format", "IntFormat", "FixedFormat", "format", "formats",
           "quantize", "QTensor", "calibrate", "intops",
           "pow2", "LogFormat", "APoTFormat", "NHotFormat", "PWLQFormat", "log_quantize",
           "apot_levels", "term_quantize", "term_counts", "sparq", "pwlq_breakpoint", "shift_dot",
           "posit", "PositFormat", "TentFormat", "quire_dot", "quire_matmul",
           "FloatFormat", "p3109", "BlockFormat", "pack", "unpack", "sparse"]
