"""``refquant systolic``: run a GEMM or a layer file on a simulated systolic array.

    refquant systolic --rows 8 --cols 8 --dataflow ws --gemm 64 32 48 [--seed 0]
    refquant systolic --rows 32 --cols 32 --layers net.csv [--simulate] [--json]
    refquant systolic --rows 4 --cols 4 --gemm 3 3 5 --vcd run.vcd

A GEMM runs cycle-accurately on seeded random operands (uniform over the operand
widths), checks the result against the exact integer product (or the accumulator's
WRAP/SATURATE rule) and prints cycles, MACs, utilisation, mapping efficiency, SRAM
traffic and SCALE-Sim's figures for the same workload. A layer file (SCALE-Sim topology
CSV) prints one line per layer from the analytical model, or from the cycle-accurate
kernels with --simulate. --vcd writes every register of a traced GEMM run.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .systolic import SystolicArray
from .vcd import write_vcd

__all__ = ["systolic_main"]


def _parser():
    ap = argparse.ArgumentParser(prog="refquant systolic", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--dataflow", default="os", choices=["os", "ws", "is"])
    ap.add_argument("--a-bits", type=int, default=8)
    ap.add_argument("--b-bits", type=int, default=8)
    ap.add_argument("--unsigned", action="store_true")
    ap.add_argument("--acc-bits", type=int, default=32)
    ap.add_argument("--overflow", default="wrap", choices=["wrap", "saturate", "raise"])
    ap.add_argument("--pe", default="mac", choices=["mac", "term_serial", "bit_serial"])
    ap.add_argument("--encoding", default="csd", choices=["csd", "binary"])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gemm", nargs=3, type=int, metavar=("M", "N", "K"))
    src.add_argument("--layers", metavar="CSV")
    ap.add_argument("--simulate", action="store_true", help="layers: cycle-accurate runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vcd", metavar="PATH", help="GEMM: write a VCD of every register")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def systolic_main(argv=None, stdout=None) -> int:
    """Entry point of ``refquant systolic``; returns the exit status (0 ok, 1 mismatch,
    2 bad arguments)."""
    out = sys.stdout if stdout is None else stdout
    args = _parser().parse_args(argv)
    try:
        sa = SystolicArray(args.rows, args.cols, args.dataflow, a_bits=args.a_bits,
                           b_bits=args.b_bits, signed=not args.unsigned, acc_bits=args.acc_bits,
                           overflow=args.overflow, pe=args.pe, encoding=args.encoding)
    except (ValueError, TypeError) as exc:
        print(f"refquant systolic: {exc}", file=sys.stderr)
        return 2
    if args.layers:
        rows = sa.run_layers(args.layers, simulate=args.simulate, seed=args.seed,
                             progress=not args.no_progress)
        if args.json:
            json.dump(rows, out, indent=1)
            out.write("\n")
            return 0
        print(f"# {sa!r}", file=out)
        print("layer, M, N, K, cycles, macs, utilization, mapping_efficiency, "
              "scalesim_compute_cycles, scalesim_overall_util", file=out)
        for r in rows:
            print(f"{r['name']}, {r['M']}, {r['N']}, {r['K']}, {r['cycles']}, {r['macs']}, "
                  f"{r['utilization']:.6f}, {r['mapping_efficiency']:.6f}, "
                  f"{r['scalesim']['compute_cycles']}, {r['scalesim']['overall_util']:.4f}", file=out)
        return 0
    M, N, K = args.gemm
    if min(M, N, K) < 1:
        print("refquant systolic: --gemm M N K must be >= 1", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    alo, ahi = sa._range(sa.a_bits)
    blo, bhi = sa._range(sa.b_bits)
    A = rng.integers(alo, ahi, (M, K), endpoint=True)
    B = rng.integers(blo, bhi, (K, N), endpoint=True)
    try:
        res = sa.run(A, B, trace=bool(args.vcd))
    except OverflowError as exc:
        print(f"refquant systolic: {exc}", file=sys.stderr)
        return 1
    lo, hi = -(1 << (sa.acc_bits - 1)), (1 << (sa.acc_bits - 1)) - 1
    exact = A.astype(object) @ B.astype(object)
    ok = bool(np.all((exact >= lo) & (exact <= hi))) and bool(np.array_equal(res.output, exact.astype(np.int64)))
    if args.vcd:
        write_vcd(args.vcd, res.trace, width=min(64, max(sa.acc_bits, sa.a_bits, sa.b_bits) + 1))
    st = {k: v for k, v in res.stats.items() if k != "per_fold"}
    report = {"array": repr(sa), "M": M, "N": N, "K": K, "stats": st,
              "equals_exact_gemm": ok, "scalesim": sa.scalesim_report(M, N, K)}
    if args.json:
        json.dump(report, out, indent=1)
        out.write("\n")
        return 0
    print(f"# {sa!r}  GEMM M={M} N={N} K={K}", file=out)
    for k in ("cycles", "macs", "folds", "utilization", "mapping_efficiency", "busy_pe_cycles"):
        print(f"{k}: {st[k]}", file=out)
    print(f"sram_reads: {st['sram_reads']}  sram_writes: {st['sram_writes']}", file=out)
    print(f"equals exact integer GEMM: {ok}", file=out)
    ss = report["scalesim"]
    print(f"SCALE-Sim: compute_cycles {ss['compute_cycles']}, overall_util {ss['overall_util']:.4f} %, "
          f"mapping_efficiency {ss['mapping_efficiency']:.4f} %", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(systolic_main())
