"""Uniform integer quantization and exact integer GEMM.

- Per-channel int8 quantization of a 4096 x 4096 float32 array with given scales
  (exact real quotient x / s, half to even): baseline the NumPy expression
  ``np.clip(np.rint(x / s) + z, lo, hi).astype(np.int8)``; peer onnxruntime
  QuantizeLinear (per axis, one thread; target: refquant >= 1.2x faster); limit
  ``x.copy()`` (memory bandwidth). refquant, the peer and the limit are timed
  interleaved.
- The same with min-max calibration included (``quantize`` choosing the scales).
- Exact int8 x int8 -> int32 GEMM at 1024^3: baseline NumPy's integer matmul (int32);
  peer onnxruntime MatMulInteger; limit float32 BLAS on the same shape.
- ``import refquant`` in a fresh interpreter (target < 0.5 s).
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from benchmarks.common import Result, best_time

import refquant as rq
from refquant import intops


def _ort_session(node, inputs, outputs, inits=(), opset=21):
    try:
        import onnxruntime as ort
        from onnx import helper
    except ImportError:  # pragma: no cover - optional peer
        return None
    graph = helper.make_graph([node], "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def interleaved_best(fns, repeat):
    """Best wall time of each callable over ``repeat`` rounds that call them in turn
    (after one warm-up call each), so that load on the machine hits them alike."""
    for f in fns.values():
        f()
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def _import_time():
    code = "import time; t = time.perf_counter(); import refquant; print(time.perf_counter() - t)"
    best = float("inf")
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        best = min(best, float(out.stdout.strip()))
    return best


def run(quick: bool = False) -> list[Result]:
    from onnx import TensorProto, helper
    rng = np.random.default_rng(0)
    repeat = 3 if quick else 5
    n = 1024 if quick else 4096
    x = rng.standard_normal((n, n)).astype(np.float32)
    s = (np.abs(x).max(axis=1) / 127).astype(np.float32)
    s_col = s[:, None]
    results = []

    sess = _ort_session(
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=0),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("q", TensorProto.INT8, x.shape)],
        [helper.make_tensor("s", TensorProto.FLOAT, s.shape, s.tolist()),
         helper.make_tensor("z", TensorProto.INT8, s.shape, [0] * n)])
    # refquant, the peer and the limit interleaved (a loaded machine slows them alike)
    fns = {"rq": lambda: rq.quantize(x, "int8", granularity="axis", axis=0, scale=s),
           "copy": lambda: x.copy()}
    if sess:
        fns["ort"] = lambda: sess.run(None, {"x": x})
    best = interleaved_best(fns, 8 * repeat)
    ref_s, copy_s, ort_s = best["rq"], best["copy"], best.get("ort")
    numpy_s = best_time(lambda: np.clip(np.rint(x / s_col) + 0, -128, 127).astype(np.int8), repeat)
    results.append(Result(f"quantize int8 per-channel {n}x{n} f32", ref_s, "numpy clip(rint(x/s))",
                          numpy_s, "onnxruntime QuantizeLinear (1 thread)", ort_s, "x.copy()",
                          copy_s, "exact x/s, half-even, scales given; target >= 1.2x "
                          "onnxruntime"))

    cal_s = best_time(lambda: rq.quantize(x, "int8", granularity="axis", axis=0), repeat)
    numpy_cal = best_time(lambda: np.clip(np.rint(x / (np.abs(x).max(axis=1, keepdims=True) / 127)),
                                          -128, 127).astype(np.int8), repeat)
    results.append(Result(f"quantize int8 per-channel {n}x{n} + minmax", cal_s,
                          "numpy max|x| + clip(rint)", numpy_cal, None, None, "x.copy()", copy_s,
                          "calibration included"))

    m = 512 if quick else 1024
    a = rng.integers(-128, 128, (m, m)).astype(np.int8)
    b = rng.integers(-128, 128, (m, m)).astype(np.int8)
    gemm_s = best_time(lambda: intops.gemm(a, b), repeat)
    a32, b32 = a.astype(np.int32), b.astype(np.int32)
    t = time.perf_counter()
    c_np = a32 @ b32
    numpy_g = time.perf_counter() - t
    assert (intops.gemm(a, b) == c_np).all()
    af, bf = a.astype(np.float32), b.astype(np.float32)
    sgemm_s = best_time(lambda: af @ bf, repeat)
    sess = _ort_session(
        helper.make_node("MatMulInteger", ["a", "b"], ["y"]),
        [helper.make_tensor_value_info("a", TensorProto.INT8, a.shape),
         helper.make_tensor_value_info("b", TensorProto.INT8, b.shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT32, None)])
    ort_g = best_time(lambda: sess.run(None, {"a": a, "b": b}), repeat) if sess else None
    results.append(Result(f"exact int8 gemm {m}^3 -> int32", gemm_s, "numpy int32 matmul", numpy_g,
                          "onnxruntime MatMulInteger (1 thread)", ort_g, "float32 BLAS", sgemm_s,
                          "sgemm, exact: K*128*128 <= 2^24"))

    a16 = rng.integers(-32768, 32768, (m, m)).astype(np.int16)
    b16 = rng.integers(-32768, 32768, (m, m)).astype(np.int16)
    g16 = best_time(lambda: intops.gemm(a16, b16, overflow="exact"), repeat)
    df16, db16 = a16.astype(np.float64), b16.astype(np.float64)
    dgemm_s = best_time(lambda: df16 @ db16, repeat)
    results.append(Result(f"exact int16 gemm {m}^3 -> int64", g16, None, None, None, None,
                          "float64 BLAS", dgemm_s, "dgemm, exact: K*2^30 <= 2^53"))

    imp = _import_time()
    results.append(Result("import refquant (fresh interpreter)", imp, note="target < 500 ms"))
    return results
