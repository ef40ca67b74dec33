"""Simulators of the hardware that computes with refquant's formats: a register-level,
cycle-accurate systolic array (``SystolicArray``) with its analytical timing model,
SCALE-Sim's figures, layer files and VCD traces, and bit-accurate NVIDIA tensor cores
(``TensorCore``) built on one block-FMA model (``BlockFMAModel``). Kernels compile on
first use; importing this package loads no Numba."""
from ._blockfma import FP8_FORMATS, INPUT_FORMATS, BlockFMAModel, input_format_name
from ._layers import im2col, load_layers
from ._systolic import SystolicArray, SystolicResult
from ._tensorcore import GPUS, PTX_SHAPES, TensorCore, decompress_sparse
from ._timing import (DATAFLOWS, ENCODINGS, MAX_BYTES, MAX_WORK, PE_KINDS, FoldCycles,
                      conv_output_size, cycle_model, scalesim_report, term_counts)
from ._vcd import vcd_identifier, vcd_size_estimate, write_array_vcd, write_vcd

__all__ = [
    # systolic array
    "SystolicArray",
    "SystolicResult",
    "cycle_model",
    "scalesim_report",
    "FoldCycles",
    "conv_output_size",
    "im2col",
    "term_counts",
    "load_layers",
    "DATAFLOWS",
    "ENCODINGS",
    "PE_KINDS",
    "MAX_BYTES",
    "MAX_WORK",
    # VCD
    "write_vcd",
    "write_array_vcd",
    "vcd_identifier",
    "vcd_size_estimate",
    # tensor cores
    "TensorCore",
    "BlockFMAModel",
    "GPUS",
    "INPUT_FORMATS",
    "FP8_FORMATS",
    "PTX_SHAPES",
    "decompress_sparse",
    "input_format_name",
]
