"""``refquant tensorcore``: replay recorded tensor-core outputs, or compare an emulated
GEMM with float64; and the reader of the recordings' file layout."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import data as _data
from ..registry import format as _format
from ..sim import FP8_FORMATS, GPUS, INPUT_FORMATS, TensorCore, input_format_name
from ._common import EXIT_FAILED, EXIT_OK, UsageError, add_json_option, write_json

__all__ = ["add_parser", "run", "read_recorded", "default_instruction", "RECORDED_NAME"]

PROG = "refquant tensorcore"
HELP = "replay recorded tensor-core data or compare an emulated GEMM with float64"
DESCRIPTION = """refquant tensorcore: replay recorded tensor-core outputs, or compare an emulated
GEMM with float64.

    refquant tensorcore replay [DIR] --gpu H100 --format fp16 --out fp32
        Replays recorded GPU rows through the model and prints how many it reproduces
        bit for bit and the first mismatches. Without DIR: the sample bundled with the
        package (250 rows of every GPU, format and output recorded; refquant.data).
        DIR holds a_GPU_FMT.txt, b_GPU_FMT.txt (hex fp32 words, K per row),
        c_GPU_fp32.txt and d_GPU_OUT.txt (32-character binary fp32 strings), the layout
        of the MATLAB-tensor-core model_validation data, where FMT is the recordings'
        spelling (fp16, bf16, tf32, E4M3, E5M2) of --format.
    refquant tensorcore gemm --gpu H100 --format e4m3fn --out fp32 -m 64 -n 64 -k 4096
        Random operands of the format (seeded standard normal values rounded to it,
        nearest even); prints the emulated GEMM's error |D - AB| / (|A||B|) against
        float64 at growing K, showing where the hardware rounding bites.

--format takes refquant's format names: fp16, bf16, tf32, e4m3fn (NVIDIA's FP8 E4M3, the
OCP E4M3FN, max 448) and e5m2. "e4m3" is an error: refquant's e4m3 is the IEEE-like
E4M3 (max 240), which tensor cores do not take.

The fp8 instruction (--instruction, fp8 formats only) defaults to how the
model_validation recordings were made: on H100/H200, wgmma for fp32 output and mma.sync
for fp16 output; mma.sync on Ada/L40S/B200. Those wgmma recordings ran with C = 0 (their
c file holds the C of the other runs), so replay uses C = 0 for wgmma and the c file
otherwise; --zero-c / --no-zero-c override that for other recordings.

--json prints the same results as one JSON document (replay: the counts and every
mismatching row; gemm: the error at each K).

Exit status: 0 every row reproduced (replay) or the table printed (gemm); 1 rows differ;
2 a usage or input error (unknown or ambiguous names, a missing folder or file, a
malformed file, an option that does not apply), one line on stderr.
"""

# refquant format name -> the recordings' spelling in file and folder names
RECORDED_NAME = {"fp16": "fp16", "bf16": "bf16", "tf32": "tf32", "e4m3fn": "E4M3",
                 "e5m2": "E5M2"}
MAX_BYTES = 2 ** 32      # default --max-bytes of gemm
MAX_MACS = 10 ** 10      # default --max-macs of gemm


def _read_words(path: Path, base: int) -> np.ndarray:
    """uint32 words of a text file, one row per non-blank line (whitespace-separated);
    ValueError naming the file and line of a word that is not a base-``base`` uint32 or
    of a row whose length differs from the first."""
    rows: list[list[int]] = []
    what = "hex" if base == 16 else "binary"
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = []
            for w in line.split():
                try:
                    v = int(w, base)
                except ValueError:
                    v = -1
                if not 0 <= v < 2 ** 32:
                    raise ValueError(f"{Path(path).name} line {n}: {w[:40]!r} is not a "
                                     f"{what} 32-bit word")
                row.append(v)
            if rows and len(row) != len(rows[0]):
                raise ValueError(f"{Path(path).name} line {n}: {len(row)} words, the first "
                                 f"row has {len(rows[0])}")
            rows.append(row)
    if not rows:
        raise ValueError(f"{Path(path).name}: no rows")
    return np.array(rows, dtype=np.uint32)


def read_recorded(folder: str | Path, gpu: str, fmt: str, out: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One recording of the model_validation layout as uint32 fp32 bit patterns
    (a, b, c, d): a and b (rows, K) from a_GPU_FMT.txt and b_GPU_FMT.txt (hex words),
    c and d (rows,) from c_GPU_fp32.txt and d_GPU_OUT.txt (32-character binary strings).
    ``fmt`` as the file names spell it (fp16, bf16, tf32, E4M3, E5M2). Raises
    FileNotFoundError naming the first file that is missing, ValueError naming the file
    and line of a malformed word, or files whose row counts or widths disagree."""
    d = Path(folder)
    files = [d / f"a_{gpu}_{fmt}.txt", d / f"b_{gpu}_{fmt}.txt", d / f"c_{gpu}_fp32.txt",
             d / f"d_{gpu}_{out}.txt"]
    for p in files:
        if not p.is_file():
            raise FileNotFoundError(f"missing {p}")
    a, b = _read_words(files[0], 16), _read_words(files[1], 16)
    c, dd = _read_words(files[2], 2), _read_words(files[3], 2)
    if a.shape != b.shape:
        raise ValueError(f"{files[0].name} is {a.shape[0]} x {a.shape[1]} words but "
                         f"{files[1].name} is {b.shape[0]} x {b.shape[1]}")
    for p, x in ((files[2], c), (files[3], dd)):
        if x.shape[1:] not in ((1,), (0,)) or x.shape[0] != a.shape[0]:
            raise ValueError(f"{p.name} must hold one word per row for each of the "
                             f"{a.shape[0]} rows of {files[0].name}; it holds {x.shape[0]} "
                             f"rows of {x.shape[1] if x.ndim > 1 else 0} words")
    return a, b, c.reshape(-1), dd.reshape(-1)


def default_instruction(gpu: str, fmt: str, out: str) -> str | None:
    """The instruction the model_validation recordings used for an fp8 format (None for
    other formats): on H100/H200 "wgmma" for fp32 output and "mma.sync" for fp16
    output; elsewhere the GPU's fp8 instruction."""
    if fmt not in FP8_FORMATS:
        return None
    if gpu in ("H100", "H200"):
        return "wgmma" if out == "fp32" else "mma.sync"
    instrs = GPUS[gpu][7]
    return instrs[0] if instrs else None


def _format_arg(name: str) -> str:
    """A --format value as a tensor-core input format name (ValueError as the model's)."""
    return input_format_name(name, "--format", INPUT_FORMATS)


def _replay(args: argparse.Namespace, out: IO[str]) -> int:
    gpu = args.gpu
    fmt = _format_arg(args.format)
    tc = TensorCore(gpu)
    if args.instruction is not None and fmt not in FP8_FORMATS:
        raise UsageError(f"--instruction applies to fp8 formats only ({', '.join(FP8_FORMATS)}); "
                     f"--format {fmt}")
    instruction = args.instruction or default_instruction(gpu, fmt, args.out)
    tc.model(fmt, args.out, instruction)   # unsupported combinations fail here
    zero_c = (instruction == "wgmma") if args.zero_c is None else args.zero_c
    if args.show < 0:
        raise UsageError(f"--show={args.show} out of range; allowed >= 0")
    token = RECORDED_NAME[fmt]
    if args.dir is None:
        a, b, c, want = _data.tensorcore_recorded(gpu, token, args.out)
        source = "bundled sample"
    else:
        folder = Path(args.dir)
        if not folder.is_dir():
            raise UsageError(f"{args.dir}: no such folder")
        a, b, c, want = read_recorded(folder, gpu, token, args.out)
        source = str(folder)
    c = c.view(np.float32).astype(np.float64)
    if args.out == "fp16":   # the GPU rounded C to fp16 (nearest even)
        c = c.astype(np.float16).astype(np.float64)
    if zero_c:
        c = np.zeros_like(c)
    got = tc.mma_rows(a.view(np.float32), b.view(np.float32), c, fmt, args.out,
                      instruction).astype(np.float32).view(np.uint32)
    bad = np.nonzero(got != want)[0]
    n = want.size
    how = (f"instruction {instruction}, " if instruction else "") + \
        ("C = 0" if zero_c else "C from the recording")
    pct = 100.0 * (n - bad.size) / n if n else 100.0
    if args.json:
        write_json(out, {
            "command": "tensorcore replay", "gpu": gpu, "format": fmt, "out": args.out,
            "instruction": instruction, "zero_c": bool(zero_c), "source": source,
            "rows": int(n), "bit_exact": int(n - bad.size), "bit_exact_pct": pct,
            "mismatches": [{"row": int(i), "model": f"{int(got[i]):08x}",
                            "gpu": f"{int(want[i]):08x}"} for i in bad]})
        return EXIT_OK if bad.size == 0 else EXIT_FAILED
    print(f"{gpu} {fmt} -> {args.out} ({source}; {how}): {n - bad.size} of {n} rows "
          f"bit-exact ({pct:.2f}%)", file=out)
    for i in bad[:args.show]:
        print(f"  row {i}: model {got[i]:08x}  GPU {want[i]:08x}", file=out)
    return EXIT_OK if bad.size == 0 else EXIT_FAILED


def _random(fmt: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Seeded standard normal values rounded to the format (nearest even)."""
    return np.asarray(_format(fmt).quantize(rng.standard_normal(shape)), dtype=np.float64)


def _gemm(args: argparse.Namespace, out: IO[str]) -> int:
    fmt = _format_arg(args.format)
    tc = TensorCore(args.gpu)
    if args.instruction is not None and fmt not in FP8_FORMATS:
        raise UsageError(f"--instruction applies to fp8 formats only ({', '.join(FP8_FORMATS)}); "
                     f"--format {fmt}")
    tc.model(fmt, args.out, args.instruction)
    for opt in ("m", "n", "k", "max_bytes", "max_macs"):
        v = getattr(args, opt)
        if v < 1:
            name = f"-{opt}" if len(opt) == 1 else "--" + opt.replace("_", "-")
            raise UsageError(f"{name}={v} out of range; allowed >= 1")
    if args.seed < 0:
        raise UsageError(f"--seed={args.seed} out of range; allowed >= 0")
    m, n, k = args.m, args.n, args.k
    # A, B and their copies as float64 and decomposed int64 significands / exponents
    need = 48 * (m * k + k * n) + 48 * m * n
    if need > args.max_bytes:
        raise UsageError(f"-m {m} -n {n} -k {k} needs about {need} bytes, above "
                     f"--max-bytes={args.max_bytes}; pass a larger --max-bytes to allow it")
    ks = []
    kk = 32
    while True:
        ks.append(min(kk, k))
        if ks[-1] == k:
            break
        kk *= 4
    macs = m * n * sum(ks)
    if macs > args.max_macs:
        raise UsageError(f"-m {m} -n {n} -k {k} emulates {macs:.3g} multiply-adds, above "
                     f"--max-macs={args.max_macs:.3g}; pass a larger --max-macs to allow it")
    rng = np.random.default_rng(args.seed)
    A = _random(fmt, (m, k), rng)
    B = _random(fmt, (k, n), rng)
    rows = []
    for kk in ks:
        D = tc.gemm(A[:, :kk], B[:kk], None, fmt, args.out, args.instruction)
        exact = A[:, :kk] @ B[:kk]
        scale = np.abs(A[:, :kk]) @ np.abs(B[:kk])
        err = np.abs(D.astype(np.float64) - exact) / np.maximum(scale, 1e-300)
        rows.append({"K": kk, "max_err": float(err.max()), "mean_err": float(err.mean())})
    if args.json:
        write_json(out, {"command": "tensorcore gemm", "gpu": args.gpu, "format": fmt,
                         "out": args.out, "instruction": args.instruction, "M": m, "N": n,
                         "seed": args.seed, "errors": rows})
        return EXIT_OK
    print(f"{args.gpu} {fmt} -> {args.out}, M={m} N={n}, "
          f"instruction={args.instruction or 'default'}", file=out)
    print("error |D - AB| / (|A||B|) against float64", file=out)
    print(f"{'K':>8} {'max err':>14} {'mean err':>14}", file=out)
    for r in rows:
        print(f"{r['K']:>8} {r['max_err']:>14.3e} {r['mean_err']:>14.3e}", file=out)
    return EXIT_OK


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``tensorcore`` subcommand (with its own ``replay`` and ``gemm``) to the
    subparsers ``sub``."""
    ap = sub.add_parser("tensorcore", help=HELP, description=DESCRIPTION,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    tsub = ap.add_subparsers(dest="cmd", required=True, metavar="{replay,gemm}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--gpu", required=True, choices=list(GPUS),
                        help="the GPU whose tensor cores are modelled")
    common.add_argument("--out", default="fp32", choices=["fp32", "fp16"],
                        help="accumulator and output format")
    common.add_argument("--instruction", default=None, choices=["wgmma", "mma.sync"],
                        help="fp8 formats only (default: the recordings' instruction, see "
                             "refquant tensorcore --help)")
    add_json_option(common)
    r = tsub.add_parser("replay", parents=[common], help="replay recorded GPU rows",
                        description="Replay recorded tensor-core rows (DIR, or the bundled "
                        "sample) through the model; exit 1 if any row differs.")
    r.add_argument("dir", nargs="?", default=None,
                   help="recording folder (default: the bundled sample)")
    r.add_argument("--format", required=True,
                   help="input format: fp16, bf16, tf32, e4m3fn, e5m2")
    r.add_argument("--zero-c", action=argparse.BooleanOptionalAction, default=None,
                   help="C = 0 instead of the c file (default: exactly for wgmma)")
    r.add_argument("--show", type=int, default=5,
                   help="mismatching rows to print (text output; --json lists them all)")
    g = tsub.add_parser("gemm", parents=[common], help="emulated GEMM vs float64")
    g.add_argument("--format", default="fp16",
                   help="input format: fp16 (default), bf16, tf32, e4m3fn, e5m2")
    g.add_argument("-m", type=int, default=16, help="rows of A and D")
    g.add_argument("-n", type=int, default=16, help="columns of B and D")
    g.add_argument("-k", type=int, default=4096,
                   help="largest inner dimension (the table grows K from 32 by 4x up to it)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    g.add_argument("--max-bytes", type=int, default=MAX_BYTES,
                   help=f"memory limit (default {MAX_BYTES}, 4 GiB)")
    g.add_argument("--max-macs", type=int, default=MAX_MACS,
                   help=f"work limit in emulated multiply-adds (default {MAX_MACS:.0e})")
    ap.set_defaults(run=run)
    return ap


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``refquant tensorcore replay`` or ``gemm``: exit status 0 every row reproduced
    (replay) or the table printed (gemm), 1 rows that differ from the recording."""
    return _replay(args, out) if args.cmd == "replay" else _gemm(args, out)
