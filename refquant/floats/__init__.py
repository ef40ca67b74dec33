"""Floating-point formats: ``FloatFormat``, one parameter set for every binary float from
fp32 down to fp4 (IEEE-like, OCP FP8 "fn", FNUZ, the MX element formats, the exponent-only
E8M0 and the IEEE P3109 formats made by ``p3109``); the block-scaled formats built on them
(``BlockFormat``: OCP MX v1.0 and NVIDIA NVFP4); and ``pack`` / ``unpack``, the bit
packing of narrow codes; ``cast``, a peer library's conversion (PyTorch, NumPy,
ml_dtypes) reproduced code for code. Importing this package registers the names ``fp32``, ``bf16``,
``e4m3fn``, ``e{E}m{M}...``, ``p3109_k{K}p{P}...``, ``mxfp4``, ``nvfp4`` and the others
with ``refquant.format``."""
from ._block import MX_EMAX, BlockFormat, nvfp4_tensor_scale
from ._float import SPECIALS, FloatFormat, KernelParams, p3109
from ._pack import pack, unpack
from ._profiles import NAN_MODES, PEER_CASTS, cast

__all__ = [
    "FloatFormat",
    "KernelParams",
    "SPECIALS",
    "p3109",
    "BlockFormat",
    "MX_EMAX",
    "nvfp4_tensor_scale",
    "pack",
    "unpack",
    "NAN_MODES",
    "PEER_CASTS",
    "cast",
]
