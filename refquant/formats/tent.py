"""Transitional: tapered fixed point moved to ``refquant.posit``."""
# moved: re-export until callers are updated
from ..posit import TentFormat

__all__ = ["TentFormat"]
