"""Transitional: the power-of-two formats moved to ``refquant.pow2``."""
# moved: re-export until callers are updated
from ..pow2 import (APoTFormat, LogFormat, NHotFormat, PWLQFormat, apot_level_terms,
                    build_power_value_terms, naf_digits)

__all__ = ["LogFormat", "APoTFormat", "NHotFormat", "PWLQFormat", "apot_level_terms",
           "naf_digits", "build_power_value_terms"]
