"""The interfaces of the reference designs (ports with their widths, parameters), and the
check a bench runs at start on the module it is pointed at."""
from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DESIGNS", "expected_ports", "check_interface"]

#: design -> (parameter names, the optional per-PE register ports)
DESIGNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "os_array": (("R", "C", "A_W", "B_W", "ACC_W", "SIGNED", "SATURATE"), ("tr_a", "tr_b", "tr_acc")),
    "ws_array": (("R", "C", "A_W", "B_W", "ACC_W", "SIGNED", "SATURATE"), ("tr_w", "tr_a", "tr_psum")),
    "requant": (("OUT_W", "QMIN", "QMAX"), ()),
    "fp8_encode": (("E", "M", "FN"), ()),
}


def expected_ports(design: str, p: Mapping[str, int]) -> dict[str, int]:
    """Port name -> width in bits of ``design`` (one of ``DESIGNS``) with parameters
    ``p``; the per-PE register ports (tr_*) included."""
    if design == "os_array":
        R, C = p["R"], p["C"]
        return {"clk": 1, "rst": 1, "start": 1, "drain": 1, "a_in": R * p["A_W"], "a_valid": R,
                "b_in": C * p["B_W"], "b_valid": C, "out_data": C * p["ACC_W"], "out_valid": C,
                "tr_a": R * C * p["A_W"], "tr_b": R * C * p["B_W"], "tr_acc": R * C * p["ACC_W"]}
    if design == "ws_array":
        R, C = p["R"], p["C"]
        return {"clk": 1, "rst": 1, "load": 1, "w_in": C * p["B_W"], "a_in": R * p["A_W"],
                "a_valid": R, "psum_in": C * p["ACC_W"], "psum_valid": C,
                "out_data": C * p["ACC_W"], "out_valid": C, "tr_w": R * C * p["B_W"],
                "tr_a": R * C * p["A_W"], "tr_psum": R * C * p["ACC_W"]}
    if design == "requant":
        return {"clk": 1, "rst": 1, "in_valid": 1, "acc": 32, "q": 32, "shift": 6,
                "zero_point": 32, "out_valid": 1, "out": p["OUT_W"]}
    if design == "fp8_encode":
        return {"clk": 1, "rst": 1, "in_valid": 1, "sat": 1, "x": 32, "out_valid": 1, "out": 8}
    raise ValueError(f"design={design!r} unknown; allowed: {', '.join(DESIGNS)}")


def check_interface(design: str, parameters: Mapping[str, int], found_ports: Mapping[str, int],
                    found_parameters: Mapping[str, int | None],
                    port_map: Mapping[str, str] | None = None,
                    parameter_map: Mapping[str, str] | None = None) -> list[str]:
    """Problems of a module that should have ``design``'s interface with ``parameters``:
    one line per missing or mismatched port or parameter (an empty list: it matches).

    found_ports: the module's port (signal) name -> width; found_parameters: its
    parameter name -> value (None: present but unreadable). port_map / parameter_map
    rename the reference names to the module's own (e.g. {"a_in": "act_in"}). The
    per-PE register ports (tr_*) may be absent: the bench then checks the outputs only,
    but a present one must have the right width."""
    port_map = dict(port_map or {})
    parameter_map = dict(parameter_map or {})
    names, optional = DESIGNS[design] if design in DESIGNS else ((), ())
    want = expected_ports(design, parameters)
    problems = []
    for name in names:
        theirs = parameter_map.get(name, name)
        if theirs not in found_parameters:
            problems.append(f"parameter {theirs} missing (expected {parameters[name]})")
        elif found_parameters[theirs] is not None and found_parameters[theirs] != parameters[name]:
            problems.append(f"parameter {theirs} = {found_parameters[theirs]}, expected "
                            f"{parameters[name]}")
    for name, width in want.items():
        theirs = port_map.get(name, name)
        if theirs not in found_ports:
            if name not in optional:
                problems.append(f"port {theirs} missing (expected {width} bit{'s' * (width != 1)})")
        elif found_ports[theirs] != width:
            problems.append(f"port {theirs} is {found_ports[theirs]} bits wide, expected {width}")
    return problems
