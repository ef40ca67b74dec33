"""``refquant systolic``: run a GEMM or a layer file on the simulated systolic array."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._validate import format_bytes
from ..sim import MAX_BYTES, MAX_WORK, SystolicArray, load_layers, vcd_size_estimate, write_vcd
from ._common import EXIT_FAILED, EXIT_OK, UsageError, add_json_option, warn_deprecated, write_json

__all__ = ["add_parser", "run", "reference_gemm"]

PROG = "refquant systolic"
HELP = "run a GEMM or a layer file on the cycle-accurate systolic array"
DESCRIPTION = """refquant systolic: run a GEMM or a layer file on a simulated systolic array.

    refquant systolic --rows 8 --cols 8 --dataflow ws --gemm 64 32 48 [--seed 0]
    refquant systolic --rows 32 --cols 32 --layers net.csv [--simulate] [--json]
    refquant systolic --rows 4 --cols 4 --gemm 3 3 5 --vcd run.vcd
    refquant systolic --rows 4 --cols 4 --layers net.csv --vcd run.vcd

A GEMM runs cycle-accurately on seeded random operands (uniform over the operand
widths) and prints cycles, MACs, utilisation, mapping efficiency, SRAM traffic and
SCALE-Sim's figures for the same workload. Its output is checked against the
accumulator's rule (the exact integer product, wrapped or saturated after every addition
as --overflow says) and compared with the exact product ("equals exact integer GEMM" is
False when a narrow accumulator wrapped or saturated, as asked).

A layer file (SCALE-Sim topology CSV) prints one line per layer from the analytical
model (any layer size, constant time; MAC PEs only), or from cycle-accurate runs with
--simulate. The SCALE-Sim columns use SCALE-Sim's output size for strided convolutions,
ceil((H - R + S) / S), the other columns the frameworks' (H - R) // S + 1.

--vcd writes every register of the run: one file for a GEMM; for --layers one file per
layer (run.vcd -> run_<layer>.vcd; every layer then runs cycle-accurately). A GEMM on an
os or ws array of MAC PEs is laid out like the reference RTL's own dump (rtl/os_array.v,
rtl/ws_array.v: one scope per PE, declared widths, valid bits; see docs/hw.md).

Register-level runs (--gemm, --layers --simulate, --vcd) estimate their memory and work
first and stop with an error naming the estimate when it exceeds --max-bytes (default
4 GiB: operands, output, trace, VCD file) or --max-work (default 10^10 PE-cycle units
of about 5 ns each, SystolicArray.estimate); raise those to allow larger runs.

Exit status: 0 done; 1 an accumulator overflow under --overflow raise, or a result that
differs from the accumulator rule; 2 a usage or input error. Options that do not apply
to the chosen mode (--simulate or --max-* with the analytical model, --encoding without
--pe term_serial, --seed without random operands) are usage errors.
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``systolic`` subcommand to the subparsers ``sub``."""
    ap = sub.add_parser("systolic", help=HELP, description=DESCRIPTION,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=8, help="PE rows of the array")
    ap.add_argument("--cols", type=int, default=8, help="PE columns of the array")
    ap.add_argument("--dataflow", default="os", choices=["os", "ws", "is"],
                    help="output, weight or input stationary")
    ap.add_argument("--a-bits", type=int, default=8, help="width of the A operands")
    ap.add_argument("--b-bits", type=int, default=8, help="width of the B operands")
    ap.add_argument("--unsigned", action="store_true",
                    help="unsigned operands (default: signed, two's complement)")
    ap.add_argument("--acc-bits", type=int, default=32, help="accumulator width")
    ap.add_argument("--overflow", default="wrap", choices=["wrap", "saturate", "raise"],
                    help="accumulator overflow: wrap, saturate after every addition, or "
                         "raise (exit status 1)")
    ap.add_argument("--pe", default="mac", choices=["mac", "term_serial", "bit_serial"],
                    help="processing element: one multiply-add per cycle, or serial over "
                         "the terms or bits of the operands")
    ap.add_argument("--encoding", default=None, choices=["naf", "binary", "hese", "csd"],
                    help="term encoding of --pe term_serial (default naf; csd is a "
                         "deprecated name of naf)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gemm", nargs=3, type=int, metavar=("M", "N", "K"),
                     help="one GEMM of M x K by K x N seeded random operands")
    src.add_argument("--layers", metavar="CSV", help="SCALE-Sim topology file")
    ap.add_argument("--simulate", action="store_true",
                    help="--layers: cycle-accurate runs on random operands")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of the random operands (default 0)")
    ap.add_argument("--vcd", metavar="PATH",
                    help="write every register: PATH for --gemm, PATH_<layer> per layer")
    ap.add_argument("--max-bytes", type=int, default=None,
                    help=f"memory limit of register-level runs (default {MAX_BYTES})")
    ap.add_argument("--max-work", type=int, default=None,
                    help=f"work limit of register-level runs in PE-cycle units (default "
                         f"{MAX_WORK:.0e}, under a minute)")
    add_json_option(ap)
    ap.add_argument("--no-progress", action="store_true",
                    help="--layers: no progress bar (a GEMM never draws one)")
    ap.set_defaults(run=run)
    return ap


def _signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _exact_product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The exact integer product of int64 matrices whose entries fit 32 bits, as int64
    when every sum fits, else as a Python-int object array (M x N): each operand is
    split into 16-bit halves so every partial sum of products stays below 2^63."""
    K = A.shape[1]
    amax = int(np.abs(A).max()) if A.size else 0
    bmax = int(np.abs(B).max()) if B.size else 0
    if K * amax * bmax < (1 << 63):
        return A @ B
    ah, al = A >> 16, A & 0xFFFF
    bh, bl = B >> 16, B & 0xFFFF
    parts = [p.astype(object) for p in (ah @ bh, ah @ bl + al @ bh, al @ bl)]
    return (parts[0] * (1 << 32)) + (parts[1] * (1 << 16)) + parts[2]


def reference_gemm(A: np.ndarray, B: np.ndarray, acc_bits: int, overflow: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(output under the accumulator rule, exact product) of integer matrices A (M x K)
    and B (K x N) with entries of at most 32 bits. The rule: acc = policy(acc + A[i, k]
    B[k, j]) for k ascending, a two's-complement accumulator of acc_bits (<= 62) bits;
    "wrap" keeps the low bits (equal to wrapping the exact sum once), "saturate" clamps
    after every addition, "raise" leaves the sum exact (a run that overflowed has
    raised). Memory O(M N), time O(M N K) in NumPy int64 (exact: |acc| < 2^61 and every
    product < 2^62)."""
    exact = _exact_product(A, B)
    lo, hi = _signed_range(acc_bits)
    K = A.shape[1]
    bound = K * int(np.abs(A).max()) * int(np.abs(B).max())
    if overflow == "wrap":
        mask = (1 << acc_bits) - 1
        ex = exact if exact.dtype == object or bound < (1 << 62) else exact.astype(object)
        return np.asarray(((ex - lo) & mask) + lo, dtype=np.int64), exact
    if overflow == "raise":
        return exact, exact
    if bound <= hi:   # no partial sum can leave the range
        return np.asarray(exact, dtype=np.int64), exact
    acc = np.zeros((A.shape[0], B.shape[1]), np.int64)
    for k in range(K):
        np.clip(acc + np.outer(A[:, k], B[k, :]), lo, hi, out=acc)
    return acc, exact


def _check_options(args: argparse.Namespace) -> None:
    """Usage errors for options that do not apply to the chosen mode."""
    layers = args.layers is not None
    register = (not layers) or args.simulate or args.vcd is not None
    if args.simulate and not layers:
        raise UsageError("--simulate applies to --layers only (a --gemm always runs "
                         "cycle-accurately)")
    if args.encoding is not None and args.pe != "term_serial":
        raise UsageError(f"--encoding applies to --pe term_serial only (--pe {args.pe})")
    if args.seed is not None and not register:
        raise UsageError("--seed applies to --gemm or --layers --simulate (the analytical "
                         "model uses no operands)")
    if args.max_bytes is not None and not register:
        raise UsageError("--max-bytes applies to register-level runs (--gemm, --layers "
                         "--simulate, --vcd)")
    if args.max_work is not None and not register:
        raise UsageError("--max-work applies to register-level runs (--gemm, --layers "
                         "--simulate, --vcd)")
    if layers and not register and args.pe != "mac":
        raise UsageError(f"--pe {args.pe} on --layers needs --simulate (its cycles depend "
                         "on the operand values)")
    if not layers and min(args.gemm) < 1:
        raise UsageError(f"--gemm M N K must be >= 1, got {' '.join(map(str, args.gemm))}")
    for opt in ("max_bytes", "max_work"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise UsageError(f"--{opt.replace('_', '-')}={v} out of range; allowed >= 1")
    if args.vcd is not None:
        if os.path.isdir(args.vcd):
            raise UsageError(f"--vcd {args.vcd!r} is a folder; give a file name such as run.vcd")
        folder = os.path.dirname(args.vcd) or "."
        if not os.path.isdir(folder):
            raise UsageError(f"--vcd {args.vcd!r}: no such folder {folder!r}")


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``refquant systolic``; exit status 0 done, 1 an accumulator overflow under
    --overflow raise or a result that differs from the accumulator rule."""
    _check_options(args)
    encoding = args.encoding
    if encoding == "csd":
        warn_deprecated(err, PROG, "--encoding csd", "--encoding naf")
        encoding = "naf"
    try:
        sa = SystolicArray(args.rows, args.cols, args.dataflow, a_bits=args.a_bits,
                           b_bits=args.b_bits, signed=not args.unsigned,
                           acc_bits=args.acc_bits, overflow=args.overflow, pe=args.pe,
                           encoding=encoding)
        if args.layers is not None:
            return _layers(args, sa, out, err)
        return _gemm(args, sa, out, err)
    except OverflowError as exc:
        err.write(f"{PROG}: {exc}\n")
        return EXIT_FAILED


def _layers(args: argparse.Namespace, sa: SystolicArray, out: IO[str], err: IO[str]) -> int:
    if not os.path.isfile(args.layers):
        raise UsageError(f"--layers {args.layers!r}: no such file")
    path = Path(args.layers)
    try:
        load_layers(path)   # parse errors name the file
    except ValueError as exc:
        raise UsageError(f"--layers {args.layers!r}: {exc}") from None
    simulate = args.simulate or args.vcd is not None
    rows = sa.run_layers(path, simulate=simulate,
                         seed=0 if args.seed is None else args.seed,
                         progress=not args.no_progress, stream=err, vcd=args.vcd,
                         max_bytes=args.max_bytes, max_work=args.max_work)
    for r in rows:
        if "vcd" in r:
            err.write(f"{PROG}: wrote {r['vcd']}\n")
    if args.json:
        write_json(out, rows)
        return EXIT_OK
    print(f"# {sa!r}", file=out)
    print("layer, M, N, K, cycles, macs, utilization, mapping_efficiency, "
          "scalesim_M, scalesim_compute_cycles, scalesim_overall_util", file=out)
    for r in rows:
        print(f"{r['name']}, {r['M']}, {r['N']}, {r['K']}, {r['cycles']}, {r['macs']}, "
              f"{r['utilization']:.6f}, {r['mapping_efficiency']:.6f}, {r['scalesim_M']}, "
              f"{r['scalesim']['compute_cycles']}, {r['scalesim']['overall_util']:.4f}", file=out)
    return EXIT_OK


def _write_gemm_vcd(path: str, sa: SystolicArray, A: Any, B: Any, res: Any, comment: str) -> None:
    """The --vcd of a GEMM: laid out like the reference RTL (rtl/os_array.v, ws_array.v:
    one scope per PE, declared widths, valid bits, control signals) for the dataflows
    and PEs it has; the flat layout of ``write_vcd`` for the others."""
    from ..hw import array_schedule, write_model_vcd
    from ..sim._vcd import write_array_vcd
    if sa.dataflow in ("os", "ws") and sa.pe == "mac":
        if sa.overflow.name in ("WRAP", "SATURATE"):
            write_model_vcd(path, array_schedule(sa, A, B), comment=comment)
        else:
            write_array_vcd(path, res, sa, comment=comment)
    else:
        write_vcd(path, res.trace, width=sa.vcd_width(), comment=comment)


def _gemm(args: argparse.Namespace, sa: SystolicArray, out: IO[str], err: IO[str]) -> int:
    M, N, K = args.gemm
    trace = args.vcd is not None
    what = f"--gemm {M} {N} {K}"
    try:
        # random operands (int64) and the reference products come on top of the run's needs
        est = sa.check_run(M, N, K, trace, args.max_bytes, args.max_work, what=what,
                           extra_bytes=8 * (M * K + K * N) + 24 * M * N)
        if trace:
            limit = MAX_BYTES if args.max_bytes is None else args.max_bytes
            vbytes = vcd_size_estimate(est["cycles"], 3 * sa.rows * sa.cols, sa.vcd_width())
            if vbytes > limit:
                raise ValueError(f"--vcd of {what} would be up to {format_bytes(vbytes)}, above "
                                 f"--max-bytes={limit}; pass a larger --max-bytes to allow it")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rng = np.random.default_rng(0 if args.seed is None else args.seed)
    alo, ahi = sa.a_range
    blo, bhi = sa.b_range
    A = rng.integers(alo, ahi, (M, K), endpoint=True)
    B = rng.integers(blo, bhi, (K, N), endpoint=True)
    res = sa.run(A, B, trace=trace, max_bytes=args.max_bytes, max_work=args.max_work)
    ref, exact = reference_gemm(A, B, sa.acc_bits, args.overflow)
    ok_rule = bool(np.array_equal(res.output, ref))
    ok_exact = bool(np.array_equal(res.output.astype(object) if exact.dtype == object
                                   else res.output, exact))
    if trace and res.trace is not None:
        _write_gemm_vcd(args.vcd, sa, A, B, res, comment=f"GEMM M={M} N={N} K={K} {sa!r}")
        err.write(f"{PROG}: wrote {args.vcd}\n")
    st = {k: v for k, v in res.stats.items() if k != "per_fold"}
    report = {"array": repr(sa), "M": M, "N": N, "K": K, "stats": st,
              "equals_exact_gemm": ok_exact, "equals_accumulator_rule": ok_rule,
              "scalesim": sa.scalesim_report(M, N, K)}
    if args.json:
        write_json(out, report)
    else:
        print(f"# {sa!r}  GEMM M={M} N={N} K={K}", file=out)
        for k in ("cycles", "macs", "folds", "utilization", "mapping_efficiency", "busy_pe_cycles"):
            print(f"{k}: {st[k]}", file=out)
        print(f"sram_reads: {st['sram_reads']}  sram_writes: {st['sram_writes']}", file=out)
        print(f"equals exact integer GEMM: {ok_exact}", file=out)
        print(f"equals the accumulator rule ({args.overflow}, {sa.acc_bits} bits): {ok_rule}",
              file=out)
        ss = report["scalesim"]
        print(f"SCALE-Sim: compute_cycles {ss['compute_cycles']}, overall_util "
              f"{ss['overall_util']:.4f} %, mapping_efficiency {ss['mapping_efficiency']:.4f} %",
              file=out)
    if not ok_rule:
        err.write(f"{PROG}: the simulated output differs from the accumulator rule\n")
        return EXIT_FAILED
    return EXIT_OK
