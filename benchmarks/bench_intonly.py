"""Integer-only inference (I-BERT kernels and the integer-only encoder layer).

- i-softmax over a 12 x 512 x 512 attention tensor of int32 codes (8-bit output):
  baseline the float32 NumPy softmax ``e = exp(x - max); e / sum(e)`` on the same shape
  (target: refquant at most 2x slower, i.e. "vs baseline" >= 0.5).
- i-LayerNorm over 512 x 768 16-bit codes: baseline the float32 NumPy LayerNorm
  ``(x - mean) / sqrt(var + eps)`` (same target).
- The integer-only encoder layer (seq 128, hidden 768, 12 heads, FFN 3072): baseline the
  float64 NumPy forward of the same layer (``refquant.transformer.float_encoder``).
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import Result, best_time

from refquant import intops
from refquant.transformer import IntegerEncoder, float_encoder, random_encoder_weights


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _layernorm(x):
    mu = x.mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-12)


def run(quick: bool = False) -> list[Result]:
    rng = np.random.default_rng(0)
    repeat = 3 if quick else 5
    results = []
    seq = 128 if quick else 512
    S = 2.0 ** -10
    xs = rng.normal(0, 2, (12, seq, seq)).astype(np.float32)
    qs = np.round(xs / S).astype(np.int32)
    ref_s = best_time(lambda: intops.i_softmax(qs, S, out_bits=8), repeat)
    np_s = best_time(lambda: _softmax(xs), repeat)
    results.append(Result(f"i_softmax 12x{seq}x{seq} int32 -> uint8", ref_s,
                          "numpy float32 softmax", np_s, note="target >= 0.5x"))

    xl = rng.normal(0, 1, (512, 768)).astype(np.float32)
    ql = np.clip(np.round(xl * 4096), -32768, 32767).astype(np.int16)
    ref_l = best_time(lambda: intops.i_layernorm(ql, 1 / 4096, frac_bits=14, bits=16), repeat)
    np_l = best_time(lambda: _layernorm(xl), repeat)
    results.append(Result("i_layernorm 512x768 int16", ref_l, "numpy float32 LayerNorm", np_l,
                          note="target >= 0.5x"))

    d, H, L = (256, 4, 64) if quick else (768, 12, 128)
    w = random_encoder_weights(d, H, seed=1)
    x = rng.normal(0, 1, (L, d))
    enc = IntegerEncoder(w, x)
    xc = enc.quantize_input(x)
    ref_e = best_time(lambda: enc.forward(xc), 3)
    np_e = best_time(lambda: float_encoder(x, w), 3)
    results.append(Result(f"integer-only encoder seq {L} hidden {d} heads {H}", ref_e,
                          "numpy float64 forward", np_e))
    return results
