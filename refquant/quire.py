"""Transitional: the quire moved to ``refquant.posit``."""
# moved: re-export until callers are updated
from .posit import quire_bits, quire_dot, quire_limbs, quire_lsb_exponent, quire_matmul

__all__ = ["quire_dot", "quire_matmul", "quire_bits", "quire_lsb_exponent", "quire_limbs"]
