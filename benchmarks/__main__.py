"""python -m benchmarks [--quick] [area ...]: run every benchmarks/bench_*.py and print ratios."""
import argparse
import importlib
import pkgutil
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import Result  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("areas", nargs="*", help="bench module suffixes to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="smaller workloads")
    args = ap.parse_args(argv)
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if args.areas:
        names = [n for n in names if n[len("bench_"):] in args.areas]
    import numpy, numba
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"numpy {numpy.__version__}, numba {numba.__version__}")
    header = ["benchmark", "refquant ms", "vs baseline", "vs peer", "x limit", "note"]
    rows = []
    for n in names:
        mod = importlib.import_module(f"benchmarks.{n}")
        for r in mod.run(quick=args.quick):
            assert isinstance(r, Result)
            rows.append(r.cells())
            print(" | ".join(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
