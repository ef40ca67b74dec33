"""Transitional: posits moved to ``refquant.posit``."""
# moved: re-export until callers are updated
from ..posit import PositFormat

__all__ = ["PositFormat"]
