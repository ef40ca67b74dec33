"""``refquant tensorcore``: replay recorded tensor-core outputs, or compare an emulated
GEMM with float64.

    refquant tensorcore replay DIR --gpu H100 --format fp16 --out fp32
        DIR holds a_GPU_FORMAT.txt, b_GPU_FORMAT.txt (hex fp32 words, K per row),
        c_GPU_fp32.txt and d_GPU_OUT.txt (32-character binary fp32 strings), the layout
        of the MATLAB-tensor-core model_validation data. Prints how many rows the model
        reproduces bit for bit and the first mismatches; exit status 1 if any differ.
    refquant tensorcore gemm --gpu H100 --format e4m3 --out fp32 -m 64 -n 64 -k 4096
        Random operands of the format (seeded); prints the emulated GEMM's error
        |D - AB| / (|A||B|) against float64 at growing K, showing where the hardware rounding bites.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .tensorcore import GPUS, TensorCore


def _read_words(path, base):
    """uint32 words of a text file, one row per non-blank line (whitespace-separated)."""
    with open(path) as fh:
        return np.array([[int(w, base) for w in line.split()] for line in fh if line.strip()],
                        dtype=np.uint32)


def read_recorded(folder, gpu, fmt, out):
    """One recording of the model_validation layout as uint32 fp32 bit patterns
    (a, b, c, d): a and b (rows, K) from a_GPU_FMT.txt and b_GPU_FMT.txt (hex words),
    c and d (rows,) from c_GPU_fp32.txt and d_GPU_OUT.txt (32-character binary strings).
    Raises FileNotFoundError naming the first file that is missing."""
    d = Path(folder)
    files = [d / f"a_{gpu}_{fmt}.txt", d / f"b_{gpu}_{fmt}.txt", d / f"c_{gpu}_fp32.txt",
             d / f"d_{gpu}_{out}.txt"]
    for p in files:
        if not p.is_file():
            raise FileNotFoundError(f"missing {p}")
    return (_read_words(files[0], 16), _read_words(files[1], 16),
            _read_words(files[2], 2).reshape(-1), _read_words(files[3], 2).reshape(-1))


def _replay(args):
    g, f, o = args.gpu, args.format, args.out
    try:
        a, b, c, want = read_recorded(args.dir, g, f, o)
    except FileNotFoundError as exc:
        raise SystemExit(f"refquant tensorcore: {exc}") from None
    c = c.view(np.float32).astype(np.float64)
    if o == "fp16":
        c = c.astype(np.float16).astype(np.float64)
    if args.zero_c:
        c = np.zeros_like(c)
    got = TensorCore(g).mma_rows(a.view(np.float32), b.view(np.float32), c, f.lower(), o,
                                 args.instruction).astype(np.float32).view(np.uint32)
    bad = np.nonzero(got != want)[0]
    n = want.size
    print(f"{g} {f} -> {o}: {n - bad.size} of {n} rows bit-exact "
          f"({100.0 * (n - bad.size) / n:.2f}%)")
    for i in bad[:args.show]:
        print(f"  row {i}: model {got[i]:08x}  GPU {want[i]:08x}")
    return 0 if bad.size == 0 else 1


def _random(fmt, shape, rng):
    x = rng.standard_normal(shape)
    if fmt == "fp16":
        return x.astype(np.float16).astype(np.float64)
    if fmt in ("bf16", "tf32"):
        keep = 16 if fmt == "bf16" else 13
        u = x.astype(np.float32).view(np.uint32)
        u = (u + (np.uint32(1) << np.uint32(keep - 1))) & ~np.uint32((1 << keep) - 1)
        return u.view(np.float32).astype(np.float64)
    import ml_dtypes
    dt = ml_dtypes.float8_e4m3fn if fmt == "e4m3" else ml_dtypes.float8_e5m2
    return x.astype(dt).astype(np.float64)


def _gemm(args):
    rng = np.random.default_rng(args.seed)
    tc = TensorCore(args.gpu)
    A = _random(args.format, (args.m, args.k), rng)
    B = _random(args.format, (args.k, args.n), rng)
    print(f"{args.gpu} {args.format} -> {args.out}, M={args.m} N={args.n}, "
          f"instruction={args.instruction or 'default'}")
    print("error |D - AB| / (|A||B|) against float64")
    print(f"{'K':>8} {'max err':>14} {'mean err':>14}")
    k = 32
    while True:
        kk = min(k, args.k)
        D = tc.gemm(A[:, :kk], B[:kk], None, args.format, args.out, args.instruction)
        exact = A[:, :kk] @ B[:kk]
        scale = np.abs(A[:, :kk]) @ np.abs(B[:kk])
        err = np.abs(D.astype(np.float64) - exact) / np.maximum(scale, 1e-300)
        print(f"{kk:>8} {err.max():>14.3e} {err.mean():>14.3e}")
        if kk == args.k:
            break
        k *= 4
    return 0


def tensorcore_main(argv=None) -> int:
    """Entry point of ``refquant tensorcore``; returns the exit status."""
    ap = argparse.ArgumentParser(prog="refquant tensorcore", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--gpu", required=True, choices=list(GPUS))
    common.add_argument("--out", default="fp32", choices=["fp32", "fp16"])
    common.add_argument("--instruction", default=None, choices=["wgmma", "mma.sync"],
                        help="fp8 path (default: wgmma on H100/H200, mma.sync elsewhere)")
    r = sub.add_parser("replay", parents=[common], help="replay a recorded data folder")
    r.add_argument("dir")
    r.add_argument("--format", required=True,
                   help="input format as in the file names (fp16, bf16, tf32, E4M3, E5M2)")
    r.add_argument("--zero-c", action="store_true", help="C = 0 (WGMMA recordings)")
    r.add_argument("--show", type=int, default=5, help="mismatching rows to print")
    g = sub.add_parser("gemm", parents=[common], help="emulated GEMM vs float64")
    g.add_argument("--format", default="fp16", choices=["fp16", "bf16", "tf32", "e4m3", "e5m2"])
    g.add_argument("-m", type=int, default=16)
    g.add_argument("-n", type=int, default=16)
    g.add_argument("-k", type=int, default=4096)
    g.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        return _replay(args) if args.cmd == "replay" else _gemm(args)
    except ValueError as exc:
        ap.error(str(exc))


if __name__ == "__main__":
    raise SystemExit(tensorcore_main())
