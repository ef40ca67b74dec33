"""``refquant vectors``: $readmemh test vectors (inputs and refquant's expected outputs)
for format encode / decode, requantization and GEMM on the reference arrays."""
from __future__ import annotations

import argparse
from typing import IO, Any

from ..hw._vectors import VECTOR_OPS, write_vectors
from ..sim import SystolicArray
from ._common import EXIT_OK, UsageError, add_json_option, write_json

__all__ = ["add_parser", "run", "bench_command"]

HELP = "write $readmemh test vectors with refquant's expected outputs"

EPILOG = """examples:
  refquant vectors --op encode --format e4m3fn --overflow saturate --out vec/e4m3fn
  refquant vectors --op decode --format posit8 --out vec/posit8
  refquant vectors --op requant --count 1000 --out vec/requant
  refquant vectors --op gemm --rows 4 --cols 4 --dataflow os --gemm 8 8 8 --out vec/gemm

Each folder gets one .hex file per input and expected.hex (gemm: A.hex, B.hex, C.hex and
the cycle schedule of the reference array, schedule_in.hex / schedule_out.hex), plus
manifest.json. rtl/tb_vectors.v reads them back and counts mismatches; the command prints
the iverilog line that builds it for the vectors written."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``vectors`` subcommand to the subparsers ``sub``."""
    p = sub.add_parser("vectors", help=HELP, epilog=EPILOG,
                       description="Write $readmemh hex files of inputs and refquant's "
                       "expected outputs (one value per line) and a manifest.json.")
    p.add_argument("--op", required=True, choices=VECTOR_OPS,
                   help="what the vectors exercise: encode or decode a format, the "
                   "int32 -> int8 requantization, or a GEMM on a reference array")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write into (created if missing)")
    p.add_argument("--format", metavar="NAME",
                   help="the element format of --op encode / decode (any name refquant.format "
                   "accepts: e4m3fn, e5m2, int8, posit8, ...) (default: none)")
    p.add_argument("--overflow", metavar="POLICY",
                   help="--op encode: the format's overflow policy (saturate, nan, inf, ...; "
                   "default: the format's own); --op gemm: the accumulator's (wrap or "
                   "saturate; default: wrap)")
    p.add_argument("--count", type=int, default=256,
                   help="random inputs added to the corner cases")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    g = p.add_argument_group("gemm")
    g.add_argument("--gemm", nargs=3, type=int, metavar=("M", "N", "K"),
                   help="sizes of A (M x K) and B (K x N) (default: 8 8 8)")
    g.add_argument("--rows", type=int, help="array rows (default: 4)")
    g.add_argument("--cols", type=int, help="array columns (default: 4)")
    g.add_argument("--dataflow", choices=("os", "ws"), help="os or ws (default: os)")
    g.add_argument("--a-bits", type=int, help="width of A's elements (default: 8)")
    g.add_argument("--b-bits", type=int, help="width of B's elements (default: 8)")
    g.add_argument("--acc-bits", type=int, help="accumulator width (default: 32)")
    g.add_argument("--unsigned", action="store_true", help="unsigned operands")
    add_json_option(p)
    p.set_defaults(run=run)
    return p


def bench_command(manifest: dict[str, Any], folder: str) -> str:
    """The iverilog / vvp lines that check the vectors of ``manifest`` with
    rtl/tb_vectors.v ("" when no reference design reads them)."""
    op = manifest["op"]
    head = "iverilog -g2005 -o tb_vectors.vvp"
    if op == "requant":
        line = f"{head} -DTB_REQUANT -Ptb_vectors.N={manifest['count']} rtl/tb_vectors.v rtl/requant.v"
    elif op == "encode" and manifest["format"] in ("e4m3fn", "e5m2") and manifest["overflow"] in (
            "saturate", "nan", "inf"):
        e, m, fn = (4, 3, 1) if manifest["format"] == "e4m3fn" else (5, 2, 0)
        sat = int(manifest["overflow"] == "saturate")
        line = (f"{head} -DTB_FP8 -Ptb_vectors.N={manifest['count']} -Ptb_vectors.E={e} "
                f"-Ptb_vectors.M={m} -Ptb_vectors.FN={fn} -Ptb_vectors.SAT={sat} "
                "rtl/tb_vectors.v rtl/fp8_encode.v")
    elif op == "gemm":
        df = manifest["dataflow"]
        ps = " ".join(f"-Ptb_vectors.{k}={v}" for k, v in manifest["parameters"].items())
        files = ("rtl/os_array.v rtl/os_pe.v" if df == "os" else "rtl/ws_array.v rtl/ws_pe.v")
        line = (f"{head} -DTB_{df.upper()}_ARRAY -Ptb_vectors.N={manifest['steps']} {ps} "
                f"rtl/tb_vectors.v {files} rtl/mac.v rtl/skew_line.v")
    else:
        return ""
    return f"{line}\nvvp -n tb_vectors.vvp +vectors={folder}"


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Write the vectors; print the files (or the manifest as JSON). Exit status 0."""
    gemm_opts = {"--gemm": args.gemm, "--rows": args.rows, "--cols": args.cols,
                 "--dataflow": args.dataflow, "--a-bits": args.a_bits, "--b-bits": args.b_bits,
                 "--acc-bits": args.acc_bits, "--unsigned": args.unsigned or None}
    if args.op != "gemm":
        bad = [k for k, v in gemm_opts.items() if v is not None]
        if bad:
            raise UsageError(f"{', '.join(bad)} appl{'ies' if len(bad) == 1 else 'y'} to "
                             f"--op gemm only, not --op {args.op}")
    if args.op in ("encode", "decode") and args.format is None:
        raise UsageError(f"--op {args.op} needs --format NAME")
    if args.op in ("requant", "gemm") and args.format is not None:
        raise UsageError(f"--format applies to --op encode / decode, not --op {args.op}")
    if args.op in ("decode", "requant") and args.overflow is not None:
        raise UsageError(f"--overflow applies to --op encode and gemm, not --op {args.op}")
    try:
        if args.op == "gemm":
            M, N, K = args.gemm or (8, 8, 8)
            sa = SystolicArray(args.rows or 4, args.cols or 4, args.dataflow or "os",
                               a_bits=args.a_bits or 8, b_bits=args.b_bits or 8,
                               signed=not args.unsigned, acc_bits=args.acc_bits or 32,
                               overflow=args.overflow or "wrap")
            if sa.overflow.name not in ("WRAP", "SATURATE"):
                raise ValueError(f"--overflow {args.overflow} not allowed for --op gemm; "
                                 "allowed: wrap, saturate")
            manifest = write_vectors(args.out, "gemm", count=args.count, seed=args.seed,
                                     array=sa, M=M, N=N, K=K)
        else:
            manifest = write_vectors(args.out, args.op, fmt=args.format, count=args.count,
                                     seed=args.seed, overflow=args.overflow)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None
    cmd = bench_command(manifest, args.out)
    if args.json:
        write_json(out, {"command": "vectors", "folder": args.out, "manifest": manifest,
                         "bench": cmd or None})
        return EXIT_OK
    for f in manifest["files"].values():
        out.write(f"wrote {args.out}/{f['file']}: {f['count']} values of {f['width']} bits\n")
    out.write(f"wrote {args.out}/manifest.json\n")
    if cmd:
        out.write("check with rtl/tb_vectors.v:\n" + cmd + "\n")
    return EXIT_OK
