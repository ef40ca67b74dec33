"""Run refquant's cocotb benches on a simulator through ``cocotb_tools.runner``
(Icarus Verilog by default): build once per design, parameters and sources, then check
every case in one simulation. cocotb is imported only here, when a bench runs."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validate import check_bool
from ..sim import SystolicArray
from ._interface import DESIGNS
from ._schedule import ArraySchedule, array_parameters, array_schedule
from ._units import FP8_DESIGNS, fp8_expected, fp8_inputs, requant_expected, requant_inputs

__all__ = ["BenchResult", "run_bench", "rtl_dir", "rtl_sources", "simulator_available",
           "REQUANT_LATENCY", "FP8_LATENCY"]

REQUANT_LATENCY = 4   # rtl/requant.v
FP8_LATENCY = 1       # rtl/fp8_encode.v

_SOURCES = {"os_array": ["os_array.v", "os_pe.v", "mac.v", "skew_line.v"],
            "ws_array": ["ws_array.v", "ws_pe.v", "mac.v", "skew_line.v"],
            "requant": ["requant.v"], "fp8_encode": ["fp8_encode.v"]}


def rtl_dir() -> Path:
    """The folder of the reference Verilog: $REFQUANT_RTL if set, else ``refquant/rtl``
    of an installed wheel, else ``rtl/`` beside the refquant package (a source checkout
    or editable install). FileNotFoundError when none holds it."""
    env = os.environ.get("REFQUANT_RTL")
    pkg = Path(__file__).resolve().parents[1]
    candidates = [Path(env)] if env else [pkg / "rtl", pkg.parent / "rtl"]
    for p in candidates:
        if (p / "mac.v").is_file():
            return p
    raise FileNotFoundError(f"no reference RTL in {' or '.join(map(str, candidates))}; set "
                            "REFQUANT_RTL to the rtl/ folder of a refquant checkout")


def rtl_sources(design: str, folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The Verilog files of a reference design (``DESIGNS``), from ``folder`` or
    ``rtl_dir()``."""
    if design not in _SOURCES:
        raise ValueError(f"design={design!r} unknown; allowed: {', '.join(_SOURCES)}")
    base = Path(folder) if folder is not None else rtl_dir()
    return [base / f for f in _SOURCES[design]]


def _vcd_icarus() -> Any:
    """cocotb's Icarus runner with vvp's VCD dumper (the runner itself picks FST when
    waves are asked for and turns dumping off otherwise)."""
    from cocotb_tools.runner import Icarus

    class VcdIcarus(Icarus):
        def _test_command(self) -> Any:
            cmds = super()._test_command()
            return [[("-vcd" if a == "-none" else a) for a in cmd] for cmd in cmds]

    return VcdIcarus()


def simulator_available(simulator: str = "icarus") -> str | None:
    """None when ``simulator`` (Icarus Verilog: "icarus") and cocotb can run here, else
    the reason they cannot."""
    exe = {"icarus": "iverilog"}.get(simulator)
    if exe is None:
        return f"simulator={simulator!r} unknown; allowed: 'icarus'"
    if shutil.which(exe) is None:
        return f"{exe} is not installed (apt-get install -y {exe})"
    try:
        import cocotb  # noqa: F401
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        return "cocotb is not installed (pip install 'refquant[hw]')"
    return None


@dataclass
class BenchResult:
    """What ``run_bench`` found. passed; message (the first mismatch or the interface
    problems, "" when passed); cycle (the first bad cycle, None when passed or when the
    interface did not match); cases: per case "cycles", "wall_s" (simulation time of the
    case), "refquant_s" (time of it spent in refquant: the schedule's values and the
    scoreboard), for arrays "cocotb_io_s" (reading and writing the module's ports through
    cocotb) and "t0_ns" (the time of the edge that ends cycle 0);
    model_s: time refquant took to prepare the cases (golden model and schedules);
    build_s: the simulator build; run_s: the whole simulation run; log: the simulator's
    log; waves: the VCD written with waves=True, else None."""

    passed: bool
    message: str
    cycle: int | None
    cases: list[dict[str, Any]] = field(default_factory=list)
    model_s: float = 0.0
    build_s: float = 0.0
    run_s: float = 0.0
    log: str = ""
    waves: str | None = None

    @property
    def cycles(self) -> int:
        return sum(int(c["cycles"]) for c in self.cases)


def _stream_case(design: str, parameters: Mapping[str, int], inputs: Any,
                 fmt: str | None, saturate: bool) -> dict[str, Any]:
    if design == "requant":
        d = inputs if inputs is not None else requant_inputs()
        acc, q, sh, zp = (np.asarray(d[k], np.int64) for k in ("acc", "q", "shift", "zero_point"))
        exp = requant_expected(acc, q, sh, zp, parameters["QMIN"], parameters["QMAX"])
        w = parameters["OUT_W"]
        return {"fields": [("acc", [int(v) & 0xFFFFFFFF for v in acc]),
                           ("q", [int(v) & 0xFFFFFFFF for v in q]),
                           ("shift", [int(v) & 0x3F for v in sh]),
                           ("zero_point", [int(v) & 0xFFFFFFFF for v in zp])],
                "expected": [int(v) & ((1 << w) - 1) for v in exp],
                "describe": [f"acc={a}, q={b}, shift={c}, zero_point={z}"
                             for a, b, c, z in zip(acc, q, sh, zp)],
                "out_width": w, "latency": REQUANT_LATENCY}
    assert fmt is not None
    if isinstance(inputs, tuple):            # (bits, saturate) overrides saturate
        inputs, saturate = inputs
    bits = np.asarray(inputs if inputs is not None else fp8_inputs(fmt), np.int64)
    exp = fp8_expected(bits, fmt, saturate)
    x = bits.astype(np.uint32).view(np.float32)
    return {"fields": [("x", [int(v) for v in bits]), ("sat", [int(saturate)] * len(bits))],
            "expected": [int(v) for v in exp],
            "describe": [f"x=0x{int(b):08x} ({float(v)!r}, {'saturating' if saturate else 'non-saturating'})"
                         for b, v in zip(bits, x)],
            "out_width": 8, "latency": FP8_LATENCY}


def run_bench(design: str, cases: Sequence[Any], *, array: SystolicArray | None = None,
              parameters: Mapping[str, int] | None = None,
              sources: Sequence[str | os.PathLike[str]] | None = None,
              toplevel: str | None = None, port_map: Mapping[str, str] | None = None,
              parameter_map: Mapping[str, str] | None = None,
              build_dir: str | os.PathLike[str] = "sim_build", simulator: str = "icarus",
              waves: bool = False, fmt: str | None = None, saturate: bool = True,
              user_parameters: Mapping[str, object] | None = None) -> BenchResult:
    """Build ``sources`` with ``toplevel`` on ``simulator`` and check it against refquant.

    design: "os_array" or "ws_array" (``array``: the ``SystolicArray`` whose convention
    and parameters the module follows; cases: (A, B) operand pairs; every PE register is
    compared with the simulator's trace every cycle when the module has the tr_* ports,
    and every output lane every cycle), "requant" (``parameters`` OUT_W, QMIN, QMAX; cases:
    dicts of acc, q, shift, zero_point arrays, or None for ``requant_inputs()``) or
    "fp8_encode" (``fmt`` "e4m3fn" or "e5m2", ``saturate``; cases: arrays of float32 bit
    patterns, None for ``fp8_inputs(fmt)``, or (either, saturate) to set the mode per
    case). sources / toplevel: the module under
    test (default: the reference design in ``rtl_dir()``); port_map / parameter_map
    rename reference port / parameter names to the module's; user_parameters: extra
    Verilog parameters of the module, passed to the build as they are. The module's
    interface is checked first: a missing or mismatched port or parameter fails at start
    with the list of problems. The build is reused while sources and parameters are
    unchanged (one folder per combination under ``build_dir``). waves (Icarus): dump every
    signal of the module to ``<build folder>/<toplevel>.vcd`` (``BenchResult.waves``); each
    case's cases[i]["t0_ns"] is the time of the edge that ends its cycle 0, the offset
    that lines ``write_model_vcd`` up with it.
    Returns a ``BenchResult``; raises RuntimeError when the simulator cannot run."""
    from cocotb_tools.runner import get_runner

    waves = check_bool(waves, "waves")
    if design not in DESIGNS:
        raise ValueError(f"design={design!r} unknown; allowed: {', '.join(DESIGNS)}")
    if simulator != "icarus":
        raise ValueError(f"simulator={simulator!r} unknown; allowed: 'icarus'")
    why = simulator_available(simulator)
    if why:
        raise RuntimeError(why)
    t0 = time.perf_counter()
    prepared: list[Any] = []
    if design in ("os_array", "ws_array"):
        if array is None:
            raise ValueError(f"design={design!r} needs array= (the SystolicArray it follows)")
        if array.dataflow != design[:2]:
            raise ValueError(f"design={design!r} needs a SystolicArray with dataflow="
                             f"{design[:2]!r}, got {array.dataflow!r}")
        params = array_parameters(array)
        for A, B in cases:
            prepared.append(array_schedule(array, A, B))
    else:
        if design == "fp8_encode":
            if fmt not in FP8_DESIGNS:
                raise ValueError(f"fmt={fmt!r} unknown; allowed: {', '.join(FP8_DESIGNS)}")
            params = dict(FP8_DESIGNS[fmt])
        else:
            params = dict(parameters or {"OUT_W": 8, "QMIN": -128, "QMAX": 127})
        for c in cases:
            prepared.append(_stream_case(design, params, c, fmt, saturate))
    model_s = time.perf_counter() - t0
    srcs = [Path(s).resolve() for s in (sources if sources is not None else rtl_sources(design))]
    top = toplevel or design
    build_params: dict[str, object] = {}
    if sources is None:
        build_params.update(params)
    elif user_parameters:
        build_params.update(user_parameters)
    key = hashlib.sha256(json.dumps([str(s) for s in srcs] + [top, sorted(build_params.items()),
                                     simulator, waves], default=str).encode()).hexdigest()[:16]
    bdir = Path(build_dir).resolve() / f"{top}_{key}"
    bdir.mkdir(parents=True, exist_ok=True)
    bench = {"design": design, "parameters": params, "toplevel": top, "cases": prepared,
             "port_map": dict(port_map or {}), "parameter_map": dict(parameter_map or {})}
    bench_path = bdir / "bench.pkl"
    report_path = bdir / "report.json"
    with open(bench_path, "wb") as fh:
        pickle.dump(bench, fh)
    if report_path.exists():
        report_path.unlink()
    runner = _vcd_icarus() if waves else get_runner(simulator)
    build_args: list[str] = []
    all_srcs = list(srcs)
    wave_path = bdir / f"{top}.vcd"
    if waves:
        dump = bdir / "refquant_vcd_dump.v"
        dump.write_text("`timescale 1ns/1ps\nmodule refquant_vcd_dump;\n    initial begin\n"
                        f'        $dumpfile("{wave_path}");\n'
                        f"        $dumpvars(0, {top});\n    end\nendmodule\n")
        all_srcs.append(dump)
        build_args = ["-s", "refquant_vcd_dump"]
    t1 = time.perf_counter()
    runner.build(sources=all_srcs, hdl_toplevel=top, parameters=build_params, build_dir=bdir,
                 build_args=build_args, timescale=("1ns", "1ps"), log_file=bdir / "build.log")
    t2 = time.perf_counter()
    env = {"REFQUANT_HW_BENCH": str(bench_path), "REFQUANT_HW_REPORT": str(report_path)}
    try:
            runner.test(test_module="refquant.hw._cocotb_bench", hdl_toplevel=top,
                    build_dir=bdir, test_dir=bdir, extra_env=env,
                    log_file=bdir / "test.log")
    except SystemExit:
        pass
    t3 = time.perf_counter()
    log = (bdir / "test.log").read_text(errors="replace") if (bdir / "test.log").exists() else ""
    if not report_path.exists():
        tail = "\n".join(log.splitlines()[-30:])
        return BenchResult(False, f"the simulation ended without a report; log tail:\n{tail}",
                           None, [], model_s, t2 - t1, t3 - t2, log)
    rep = json.loads(report_path.read_text())
    return BenchResult(bool(rep["passed"]), rep["message"], rep["cycle"], rep["cases"],
                       model_s, t2 - t1, t3 - t2, log,
                       str(wave_path) if waves and wave_path.exists() else None)


