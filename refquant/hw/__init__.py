"""Hardware verification with refquant as the golden model: the cycle schedule of the
reference systolic arrays (``array_schedule``), scoreboards that name the first
disagreeing cycle, the interface check of a module under test, ``$readmemh`` test
vectors (``write_vectors``) and cocotb benches (``run_bench``; cocotb is imported only
when a bench runs). The reference Verilog lives in ``rtl/``; docs/hw.md is the guide."""
from ._bits import pack_lanes, unpack_lanes
from ._interface import DESIGNS, check_interface, expected_ports
from ._runner import (FP8_LATENCY, REQUANT_LATENCY, BenchResult, rtl_dir, rtl_sources, run_bench,
                      simulator_available)
from ._schedule import ARRAY_PLANES, ArraySchedule, array_parameters, array_schedule, valid_planes
from ._scoreboard import ArrayScoreboard, Mismatch, StreamScoreboard
from ._vectors import VECTOR_OPS, write_vectors
from ._waves import write_gtkw, write_model_vcd
from ._units import FP8_DESIGNS, fp8_expected, fp8_inputs, requant_expected, requant_inputs

__all__ = [
    "array_schedule",
    "array_parameters",
    "ArraySchedule",
    "ARRAY_PLANES",
    "valid_planes",
    "ArrayScoreboard",
    "StreamScoreboard",
    "Mismatch",
    "DESIGNS",
    "expected_ports",
    "check_interface",
    "run_bench",
    "BenchResult",
    "rtl_dir",
    "rtl_sources",
    "simulator_available",
    "REQUANT_LATENCY",
    "FP8_LATENCY",
    "requant_inputs",
    "requant_expected",
    "fp8_inputs",
    "fp8_expected",
    "FP8_DESIGNS",
    "write_vectors",
    "VECTOR_OPS",
    "write_model_vcd",
    "write_gtkw",
    "pack_lanes",
    "unpack_lanes",
]
