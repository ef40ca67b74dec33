"""The integer-only encoder layer: its output equals the composition of the refquant.intops
kernels; its SQNR against the float layer is pinned from below; every intermediate stays
within its declared width; the systolic-array run gives the same codes and cycles."""

import numpy as np
import pytest

from refquant import intops as I
from refquant.sim import SystolicArray
from refquant.transformer import (IntegerEncoder, float_encoder, random_encoder_weights,
                                  sqnr_db)


@pytest.fixture(scope="module")
def small():
    w = random_encoder_weights(64, 4, seed=1)
    rng = np.random.default_rng(2)
    enc = IntegerEncoder(w, rng.normal(0, 1, (32, 64)))
    x = enc.quantize_input(rng.normal(0, 1, (16, 64)))
    return w, enc, x


def _req(enc, name, acc, bits):
    m, e = enc.dyadic[name]
    return I.dyadic_requantize(acc, m, e, bits=bits)


def test_output_is_the_composition_of_the_kernels(small):
    w, enc, x = small
    res = enc.forward(x)
    g = lambda a, b, bias=None: I.gemm(a, b, acc_bits=32, overflow="raise", bias=bias)
    q = {n: _req(enc, n, g(x, enc.w[n], np.broadcast_to(enc.bias[n], (16, 64))), 8)
         for n in ("q", "k", "v")}
    dh = enc.dh
    ctx = np.zeros((16, 64), np.int64)
    for h in range(enc.heads):
        sl = slice(h * dh, (h + 1) * dh)
        p, _ = I.i_softmax(g(q["q"][:, sl], q["k"][:, sl].T), enc.s_scores, out_bits=8)
        ctx[:, sl] = _req(enc, "context", g(p, q["v"][:, sl]), 8)
    b = lambda n: np.broadcast_to(enc.bias[n], (16, enc.w[n].shape[1]))
    r1 = _req(enc, "attn", g(ctx, enc.w["out_proj"], b("out_proj")), 16) + _req(enc, "x_res", x, 16)
    gm, gs, bt = enc.ln["ln1"]
    ln1, _ = I.i_layernorm(r1, 1.0, gm, bt, gamma_scale=gs, frac_bits=14, bits=17)
    hh = _req(enc, "h", ln1, 8)
    f1 = _req(enc, "ffn1", g(hh, enc.w["ffn1"], b("ffn1")), 8)
    gi, _ = I.i_gelu(f1, enc.scales["ffn1"])
    g8 = _req(enc, "gelu", gi, 8)
    r2 = _req(enc, "ffn2", g(g8, enc.w["ffn2"], b("ffn2")), 16) + _req(enc, "h_res", hh, 16)
    gm, gs, bt = enc.ln["ln2"]
    ln2, _ = I.i_layernorm(r2, 1.0, gm, bt, gamma_scale=gs, frac_bits=14, bits=17)
    assert np.array_equal(res.codes, _req(enc, "out", ln2, 8))


def test_sqnr_against_float_and_declared_widths(small):
    w, enc, x = small
    res = enc.forward(x)
    ref = float_encoder(x * enc.s_x, w)
    assert sqnr_db(ref["out"], res.dequantize()) > 30.0          # measured 32.5 dB
    for name, (codes, scale, bits) in res.intermediates.items():
        lo = 0 if name == "probs" else -(1 << (bits - 1))
        hi = (1 << bits) - 1 if name == "probs" else (1 << (bits - 1)) - 1
        assert lo <= codes.min() and codes.max() <= hi, name
    assert res.codes.dtype == np.int64 and res.codes.min() >= -128


def test_bert_base_shape_sqnr():
    w = random_encoder_weights(768, 12, seed=1)
    rng = np.random.default_rng(2)
    enc = IntegerEncoder(w, rng.normal(0, 1, (128, 768)))
    x = enc.quantize_input(rng.normal(0, 1, (128, 768)))
    res = enc.forward(x)
    ref = float_encoder(x * enc.s_x, w)
    assert sqnr_db(ref["out"], res.dequantize()) > 27.0          # measured 29.4 dB


def test_systolic_run_equals_and_reports_cycles(small):
    w, enc, x = small
    base = enc.forward(x)
    arr = SystolicArray(8, 8, "ws")
    sim = enc.forward(x, array=arr, simulate=True)
    model = enc.forward(x, array=arr)
    assert np.array_equal(sim.codes, base.codes)
    assert sim.cycles == model.cycles
    assert set(sim.cycles) == {"q", "k", "v", "scores", "context", "out_proj", "ffn1", "ffn2"}
    # q: M=16, K=64, N=64 on 8x8 WS: 8 column folds x 8 row folds of R + M + R + 8 - 2
    assert sim.cycles["q"] == 64 * (8 + 16 + 8 + 8 - 2)


def test_accumulator_overflow_raises(small):
    w, enc, x = small
    enc2 = IntegerEncoder(w, np.random.default_rng(2).normal(0, 1, (32, 64)))
    enc2.bias["q"] = np.full(64, (1 << 31) - 1, np.int64)
    with pytest.raises(OverflowError):
        enc2.forward(x)


def test_bad_input(small):
    w, enc, x = small
    with pytest.raises(ValueError, match="x_codes"):
        enc.forward(x + 200)
    with pytest.raises(ValueError, match="shape"):
        enc.forward(x[:, :10])
    with pytest.raises(ValueError, match="simulate"):
        enc.forward(x, simulate=True)
    with pytest.raises(ValueError, match="heads"):
        random_encoder_weights(10, 3)
