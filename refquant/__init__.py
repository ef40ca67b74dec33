"""refquant: the bit-exact reference for neural-network number formats, sparse formats
and the hardware that computes with them.

Nothing is compiled at import: kernels compile on first use and cache to disk.
"""
from .modes import Overflow, Rounding
from .formats import FixedFormat, Format, IntFormat, format, formats
from .quantize import QTensor, quantize
from . import calibrate

__version__ = "0.1.0"

__all__ = ["Rounding", "Overflow", "Format", "IntFormat", "FixedFormat", "format", "formats",
           "quantize", "QTensor", "calibrate"]
