"""``refquant warmup``: compile the kernels the ``refquant`` commands run, ahead of time,
into the kernel cache, and report what was compiled and where the cache is."""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from typing import IO, Any

from .._lazy import kernel_cache_dir
from ._common import EXIT_FAILED, EXIT_OK, UsageError, add_json_option, write_json
from ._formats import registered

__all__ = ["WORKLOADS", "workload_commands", "add_parser", "run"]

HELP = "compile the kernels ahead of time (for CI and container images)"

# Each workload is a list of refquant command lines, run as the command runs them (their
# output discarded): the kernels they call, with the argument types they call them with,
# are what gets compiled.
WORKLOADS = ("compare", "compare-formats", "compare-granularity", "systolic", "tensorcore")

_WORKLOAD_HELP = {
    "compare": "refquant compare (the default run)",
    "compare-formats": "refquant compare of every registered format",
    "compare-granularity": "refquant compare per axis and per block",
    "systolic": "refquant systolic --gemm with each processing element",
    "tensorcore": "refquant tensorcore gemm of each input format, and replay",
}


def workload_commands(name: str) -> list[list[str]]:
    """The refquant command lines (argument lists) of workload ``name`` (``WORKLOADS``)."""
    if name == "compare":
        return [["compare"]]
    if name == "compare-formats":
        widths = sorted({int(f.bits) for _, f, e in registered() if e is None})
        return [["compare", "--tensors", "gaussian", "--bits", ",".join(map(str, widths))]]
    if name == "compare-granularity":
        return [["compare", "--tensors", "gaussian", "--granularity", g] for g in ("axis", "block")]
    if name == "systolic":
        return [["systolic", "--rows", "4", "--cols", "4", "--dataflow", "ws", "--gemm", "8", "8",
                 "8", "--pe", pe]
                for pe in ("mac", "term_serial", "bit_serial")]
    if name == "tensorcore":
        return ([["tensorcore", "gemm", "--gpu", "H100", "--format", f, "-k", "32"]
                 for f in ("fp16", "bf16", "tf32", "e4m3fn", "e5m2")]
                + [["tensorcore", "replay", "--gpu", "H100", "--format", "fp16", "--out", "fp32"]])
    raise ValueError(f"unknown workload {name!r}; allowed: {', '.join(WORKLOADS)}")


def _dispatchers() -> dict[tuple[str, str], Any]:
    """{(kernel module, name): dispatcher} over the kernel modules imported so far."""
    found = {}
    for modname, module in list(sys.modules.items()):
        if modname.startswith("refquant.kernels.") and module is not None:
            for name, value in list(vars(module).items()):
                if hasattr(value, "py_func") and hasattr(value, "overloads"):
                    # a kernel imported into another module is counted where it is defined
                    home = getattr(value.py_func, "__module__", modname)
                    if home == modname:
                        found[(modname.rsplit(".", 1)[1], name)] = value
    return found


def _state() -> dict[tuple[str, str], tuple[set[Any], int]]:
    """{kernel: (signatures compiled or loaded in this process, cache hits so far)}."""
    out = {}
    for key, d in _dispatchers().items():
        hits = sum(getattr(getattr(d, "stats", None), "cache_hits", {}).values())
        out[key] = (set(d.overloads), hits)
    return out


def _run_workload(name: str) -> dict[str, Any]:
    from . import main  # the command itself (this module is one of its subcommands)

    start = time.perf_counter()
    error = None
    for argv in workload_commands(name):
        err = io.StringIO()
        with open(os.devnull, "w") as devnull:
            status = main(argv, stdout=devnull, stderr=err)
        if status not in (EXIT_OK, EXIT_FAILED):   # 1: rows that failed still compiled
            error = f"refquant {' '.join(argv)}: {err.getvalue().strip() or f'exit {status}'}"
            break
    return {"name": name, "seconds": time.perf_counter() - start, "error": error}


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``refquant warmup``: exit status 0 when every workload ran, 1 when one failed
    (its message is reported; the others still run)."""
    names = list(WORKLOADS)
    if args.only is not None:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in WORKLOADS]
        if not names or unknown:
            raise UsageError(f"--only={args.only!r}; allowed: a comma-separated list of "
                             f"{', '.join(WORKLOADS)}")
    cache_dir = kernel_cache_dir()   # decides the cache folder; loads Numba
    before = _state()
    start = time.perf_counter()
    done = []
    for name in names:
        done.append(_run_workload(name))
        if not args.json:
            w = done[-1]
            out.write(f"{w['name']:<20} {w['seconds']:7.1f} s"
                      + (f"  FAILED: {w['error']}" if w["error"] else "") + "\n")
            out.flush()
    seconds = time.perf_counter() - start

    rows: list[dict[str, Any]] = []
    for key, (sigs, hits) in sorted(_state().items()):
        old_sigs, old_hits = before.get(key, (set(), 0))
        new = [s for s in sigs if s not in old_sigs]
        if new:
            loaded = min(hits - old_hits, len(new))
            rows.append({"module": key[0], "kernel": key[1], "compiled": len(new) - loaded,
                         "loaded": loaded,
                         "signatures": ["(" + ", ".join(str(t) for t in s) + ")" for s in new]})
    compiled = sum(int(r["compiled"]) for r in rows)
    loaded = sum(int(r["loaded"]) for r in rows)
    failed = [w for w in done if w["error"]]
    if args.json:
        write_json(out, {"command": "warmup", "cache_dir": cache_dir,
                         "seconds": seconds, "compiled": compiled, "loaded": loaded,
                         "workloads": done, "kernels": rows})
    else:
        where = cache_dir or "none (the kernels are not cached: they compile in every run)"
        out.write(f"compiled {compiled} kernel specialisation(s) and loaded {loaded} from the "
                  f"cache in {seconds:.1f} s\n")
        per_module: dict[str, list[int]] = {}
        for r in rows:
            counts = per_module.setdefault(str(r["module"]), [0, 0])
            counts[0] += int(r["compiled"])
            counts[1] += int(r["loaded"])
        for module, (c, ld) in sorted(per_module.items()):
            out.write(f"  {module:<12} {c:4d} compiled {ld:4d} loaded\n")
        out.write(f"cache: {where}\n")
    return EXIT_FAILED if failed else EXIT_OK


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``warmup`` subcommand to the subparsers ``sub``."""
    lines = "\n".join(f"  {n:<20} {_WORKLOAD_HELP[n]}" for n in WORKLOADS)
    w = sub.add_parser(
        "warmup", help=HELP,
        description="Compile the kernels the refquant commands run and store them in the\n"
                    "kernel cache, so that later runs start at once. Run it once where the\n"
                    "cache will be used: in a container image after installing refquant, or\n"
                    "as a CI step before the tests (keep the cache folder between CI runs\n"
                    "to skip the compiling).\n\n"
                    "The cache folder is NUMBA_CACHE_DIR when set, else __pycache__ beside\n"
                    "the kernels, else $XDG_CACHE_HOME/refquant (~/.cache/refquant), else a\n"
                    "private folder of the temporary directory; the report names it.\n\n"
                    f"Workloads:\n{lines}\n\n"
                    "Exit status: 0 every workload ran, 1 one failed (reported), 2 usage\n"
                    "error.")
    w.add_argument("--only", default=None, metavar="LIST",
                   help="comma-separated workloads to run (default: all of them)")
    add_json_option(w)
    w.set_defaults(run=run)
    return w
