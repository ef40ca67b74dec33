"""The cocotb test module of refquant's benches (run by ``run_bench`` through
``cocotb_tools.runner``; importing it needs cocotb). It reads the bench description
that ``run_bench`` pickled (path in REFQUANT_HW_BENCH), checks the module's interface,
drives every case and checks it with the scoreboards, and writes a JSON report (path in
REFQUANT_HW_REPORT)."""
from __future__ import annotations

import json
import os
import pickle
import time
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ReadOnly, RisingEdge

from ._interface import check_interface, expected_ports
from ._schedule import ARRAY_PLANES
from ._scoreboard import ArrayScoreboard, Mismatch, StreamScoreboard


def _width(h: Any) -> int:
    try:
        return len(h)
    except TypeError:
        return 1


def _read(h: Any) -> int | None:
    """The value of a port as an unsigned int, None when it holds X or Z bits. Goes
    through the binary string (one int() of it), not bit by bit: a 16 x 16 array's
    register buses are 8192 bits wide."""
    v = h.value
    if isinstance(v, int):
        return v
    try:
        return int(str(v), 2)
    except ValueError:
        return None


def _lookup(dut: Any, name: str) -> Any:
    try:
        return getattr(dut, name)
    except AttributeError:
        return None


def _interface(dut: Any, bench: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    design, params = bench["design"], bench["parameters"]
    pmap, qmap = bench.get("port_map") or {}, bench.get("parameter_map") or {}
    found_ports: dict[str, int] = {}
    handles: dict[str, Any] = {}
    for name in expected_ports(design, params):
        theirs = pmap.get(name, name)
        h = _lookup(dut, theirs)
        if h is not None:
            found_ports[theirs] = _width(h)
            handles[name] = h
    found_params: dict[str, int | None] = {}
    for name in params:
        theirs = qmap.get(name, name)
        h = _lookup(dut, theirs)
        if h is not None:
            try:
                v = h.value
                found_params[theirs] = v.to_signed() if hasattr(v, "to_signed") else int(v)
            except (TypeError, ValueError):
                found_params[theirs] = None
    return handles, check_interface(design, params, found_ports, found_params, pmap, qmap)


async def _reset(h: dict[str, Any], inputs: list[str]) -> None:
    for name in inputs:
        h[name].value = 0
    h["rst"].value = 1
    for _ in range(2):
        await RisingEdge(h["clk"])
    h["rst"].value = 0


async def _run_array(h: dict[str, Any], sched: Any, stats: dict[str, float]) -> int:
    sb = ArrayScoreboard(sched)
    inputs = list(sched.inputs)
    await _reset(h, inputs)
    regs = [port for port, _ in ARRAY_PLANES[sched.dataflow].values() if port in h]
    per_pe = len(regs) == 3
    clk, ov, od = h["clk"], h["out_valid"], h["out_data"]
    ports = [(h[p], sched.inputs[p]) for p in inputs]
    reg_handles = [(p, h[p]) for p in regs] if per_pe else []
    prev = [0] * len(ports)
    t_ref = t_io = 0.0
    clock = time.perf_counter
    n = sched.cycles
    for t in range(n + 1):
        c0 = clock()
        changed = []
        for k, (hd, vals) in enumerate(ports):       # refquant: the schedule's next values
            v = vals[t] if t < n else 0
            if v != prev[k]:
                changed.append((hd, v))
                prev[k] = v
        c1 = clock()
        for hd, v in changed:                        # cocotb: writes
            hd.value = v
        c2 = clock()
        t_ref += c1 - c0
        t_io += c2 - c1
        await ReadOnly()
        c0 = clock()
        obs = {p: _read(hd) for p, hd in reg_handles}   # cocotb: reads
        valid, data = _read(ov), _read(od)
        c1 = clock()
        if t >= 1 and per_pe:                           # refquant: the scoreboard
            sb.check_registers(t - 1, obs)
        sb.check_outputs(t, valid, data)
        c2 = clock()
        t_io += c1 - c0
        t_ref += c2 - c1
        await RisingEdge(clk)
        if t == 0:
            stats["t0_ns"] = get_sim_time("ns")   # the edge that ends cycle 0
    stats["refquant_s"] += t_ref
    stats["cocotb_io_s"] = stats.get("cocotb_io_s", 0.0) + t_io
    stats["per_pe"] = float(per_pe)
    return n


async def _run_stream(h: dict[str, Any], case: dict[str, Any], stats: dict[str, float]) -> int:
    fields: list[tuple[str, list[int]]] = case["fields"]
    sb = StreamScoreboard(case["expected"], case["describe"], case["out_width"])
    await _reset(h, [name for name, _ in fields] + ["in_valid"])
    clk, ov, out, iv = h["clk"], h["out_valid"], h["out"], h["in_valid"]
    ports = [(h[name], vals) for name, vals in fields]
    count = len(case["expected"])
    limit = count + case["latency"] + 4
    t_ref = 0.0
    t = 0
    while sb.seen < count:
        if t > limit:
            raise Mismatch(f"cycle {t}: {count - sb.seen} outputs never came (out_valid "
                           f"stayed low; latency {case['latency']} expected)", t)
        c0 = time.perf_counter()
        if t < count:
            iv.value = 1
            for hd, vals in ports:
                hd.value = vals[t]
        elif t == count:
            iv.value = 0
        t_ref += time.perf_counter() - c0
        await ReadOnly()
        c0 = time.perf_counter()
        if t >= 1 and _read(ov) == 1:      # registered at the edge that ended cycle t - 1
            sb.check(t - 1, _read(out))
        t_ref += time.perf_counter() - c0
        await RisingEdge(clk)
        t += 1
    stats["refquant_s"] += t_ref
    return t


@cocotb.test()
async def refquant_bench(dut: Any) -> None:
    """Check the module against refquant: interface first, then every case."""
    with open(os.environ["REFQUANT_HW_BENCH"], "rb") as fh:
        bench = pickle.load(fh)
    report: dict[str, Any] = {"passed": False, "message": "", "cycle": None, "cases": []}
    out_path = os.environ["REFQUANT_HW_REPORT"]
    try:
        h, problems = _interface(dut, bench)
        if problems:
            report["message"] = (f"module {bench['toplevel']} does not match the {bench['design']} "
                                 "interface:\n  " + "\n  ".join(problems))
            raise AssertionError(report["message"])
        Clock(h["clk"], 10, unit="ns").start()
        for idx, case in enumerate(bench["cases"]):
            stats = {"refquant_s": 0.0}
            c0 = time.perf_counter()
            if bench["design"] in ("os_array", "ws_array"):
                cycles = await _run_array(h, case, stats)
            else:
                cycles = await _run_stream(h, case, stats)
            wall = time.perf_counter() - c0
            report["cases"].append({"case": idx, "cycles": cycles, "wall_s": wall, **stats})
        report["passed"] = True
    except Mismatch as e:
        report["message"] = f"case {len(report['cases'])}: {e}"
        report["cycle"] = e.cycle
        raise
    except Exception as e:
        if not report["message"]:
            report["message"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        with open(out_path, "w") as fh:
            json.dump(report, fh)
