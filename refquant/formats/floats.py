"""Transitional: the float formats moved to ``refquant.floats``."""
# moved: re-export until callers are updated
from ..floats._float import PAR_MIN_SIZE, SPECIALS, FloatFormat, p3109

__all__ = ["FloatFormat", "SPECIALS", "p3109", "PAR_MIN_SIZE"]
