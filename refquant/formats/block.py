"""Transitional: the block formats and bit packing moved to ``refquant.floats``."""
# moved: re-export until callers are updated
from ..floats._block import MAX_BLOCK_SIZE, MX_EMAX, BlockFormat, nvfp4_tensor_scale
from ..floats._pack import pack, unpack

__all__ = ["BlockFormat", "pack", "unpack", "MX_EMAX", "MAX_BLOCK_SIZE", "nvfp4_tensor_scale"]
