"""Cold start: the first ``refquant compare`` after install, when Numba compiles the kernels.

A fresh process (``python -m refquant compare``, the default run: bundled tensors, default
formats) with ``NUMBA_CACHE_DIR`` pointing at an empty temporary folder, so that every
kernel it calls compiles; then the same command again with that folder filled (the warm
run, every kernel loaded from the cache). Each line gives the wall time of the whole
process; its note gives the process's CPU time (user + system, less sensitive to other
load on the machine), the number of kernel specialisations compiled and whether the
"compiling kernels (first run only)" notice appeared on stderr.

Target (issue: cold start): under 5 s cold, with the notice; the warm run unchanged.
Limit column: the warm run (x limit = cold / warm).
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "refquant", "compare"]
NOTICE = "compiling kernels (first run only)"


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(cache_dir: str, command: list[str] | None = None) -> dict:
    """Run ``command`` (default: ``refquant compare``) in a fresh interpreter with
    NUMBA_CACHE_DIR=cache_dir; returns wall and CPU seconds, the exit status, whether the
    compile notice was printed and the number of index files (compiled kernels) the cache
    folder holds afterwards."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["NUMBA_CACHE_DIR"] = cache_dir
    cpu0 = _child_cpu()
    t = time.perf_counter()
    done = subprocess.run(command or COMMAND, env=env, cwd=str(ROOT), capture_output=True,
                          text=True)
    wall = time.perf_counter() - t
    cpu = _child_cpu() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "status": done.returncode,
            "notice": NOTICE in done.stderr,
            "kernels": sum(1 for _ in Path(cache_dir).rglob("*.nbi")),
            "specialisations": sum(1 for _ in Path(cache_dir).rglob("*.nbc"))}


def run(quick: bool = False) -> list[Result]:
    folder = tempfile.mkdtemp(prefix="refquant-coldstart-")
    try:
        cold = run_once(folder)
        warm = min((run_once(folder) for _ in range(1 if quick else 3)),
                   key=lambda r: r["wall_s"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        Result("cold start: refquant compare, empty cache", cold["wall_s"],
               limit="warm run", limit_s=warm["wall_s"],
               note=(f"target < 5 s; cpu {cold['cpu_s']:.1f} s; {cold['specialisations']} "
                     f"specialisations of {cold['kernels']} kernels compiled; notice "
                     f"{'shown' if cold['notice'] else 'MISSING'}; exit {cold['status']}"),
               extra=cold),
        Result("warm start: refquant compare, cache filled", warm["wall_s"],
               note=(f"cpu {warm['cpu_s']:.1f} s; notice "
                     f"{'SHOWN' if warm['notice'] else 'not shown'}; exit {warm['status']}"),
               extra=warm),
    ]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(" | ".join(r.cells()))
