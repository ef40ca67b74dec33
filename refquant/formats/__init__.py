"""Number formats. Each family module registers its names with ``base.register``."""
from .base import Format, as_format, format, formats, register, register_pattern
from .integer import FixedFormat, IntFormat
from .floats import FloatFormat
from .block import BlockFormat
from .posit import PositFormat
from .tent import TentFormat
from .pow2 import APoTFormat, LogFormat, NHotFormat, PWLQFormat

__all__ = ["Format", "IntFormat", "FixedFormat", "format", "formats", "as_format",
           "register", "register_pattern"]
