"""Accuracy of the I-BERT kernels against float, with the errors stated and pinned.

GELU (the paper's comparison of GELU approximations over [-4, 4]): on a uniform grid of
100001 points, "L2" is the root mean square difference from the exact GELU and "L-inf"
the largest absolute difference. Measured (float formulas, and the integer i-GELU at the
scale 2^-12): h-GELU (x ReLU6(1.702 x + 3) / 6) L2 0.0306, L-inf 0.0687; i-GELU L2 0.0082,
L-inf 0.0182 (integer: the same to 4 digits).
i-exp at S = 2^-12 over x in [-16, 0]: max |i-exp - exp| = 0.0019 (the polynomial's error
on (-ln 2, 0], scaled down by 2^-z), max relative error 0.37 % for x > -8.
i-softmax (S = 2^-10, 8 output bits, seeded N(0, 2^2) rows of 128): max abs error 0.0040
per probability; the floors make each row sum short of 1 by up to 0.20 (128 floors of
at most 2^-8 each).
i-LayerNorm (16-bit codes, n = 768, frac_bits 14): max abs error 0.0018 of the
unit-variance output, one step of its scale sqrt(768) 2^-14 = 0.0017.
"""
import numpy as np
import pytest
from scipy.special import erf

from refquant import intops as I

GRID = np.linspace(-4, 4, 100001)


def gelu(x):
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def h_gelu(x):
    return x * np.clip(1.702 * x + 3, 0, 6) / 6


def _errors(approx):
    d = approx - gelu(GRID)
    return float(np.sqrt(np.mean(d * d))), float(np.abs(d).max())


def _i_gelu_formula(x):
    a, b = -0.2888, -1.769
    u = x / np.sqrt(2)
    L = np.sign(u) * (a * (np.minimum(np.abs(u), -b) + b) ** 2 + 1)
    return 0.5 * x * (1 + L)


def test_gelu_table():
    l2_h, linf_h = _errors(h_gelu(GRID))
    l2_i, linf_i = _errors(_i_gelu_formula(GRID))
    assert (round(l2_h, 4), round(linf_h, 4)) == (0.0306, 0.0687)
    assert (round(l2_i, 4), round(linf_i, 4)) == (0.0082, 0.0182)
    # the integer kernel reproduces the i-GELU row
    S = 2.0 ** -12
    q = np.round(GRID / S).astype(np.int64)
    codes, s = I.i_gelu(q, S, bits=16, out_bits=64)
    d = codes * s - gelu(q * S)
    assert float(np.sqrt(np.mean(d * d))) == pytest.approx(l2_i, abs=2e-4)
    assert float(np.abs(d).max()) == pytest.approx(linf_i, abs=2e-4)
    assert l2_i < l2_h / 3 and linf_i < linf_h / 3


def test_i_exp_error():
    S = 2.0 ** -12
    q = -np.arange(0, 16 * 4096 + 1)
    codes, s = I.i_exp(q, S)
    x = q * S
    err = np.abs(codes * s - np.exp(x))
    assert err.max() < 2.5e-3
    rel = err / np.exp(x)
    assert rel[x > -8].max() < 0.005


def test_i_softmax_error():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 2, (64, 128))
    S = 2.0 ** -10
    q = np.round(x / S).astype(np.int64)
    codes, s = I.i_softmax(q, S, out_bits=8)
    xs = q * S
    e = np.exp(xs - xs.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    err = np.abs(codes * s - p)
    assert err.max() < 4.5e-3
    assert np.abs(codes.sum(axis=1) * s - 1).max() < 0.25


def test_i_layernorm_error():
    rng = np.random.default_rng(8)
    x = rng.normal(0.3, 1.7, (32, 768))
    S = 8.0 / (1 << 15)
    q = np.clip(np.round(x / S), -(1 << 15), (1 << 15) - 1).astype(np.int64)
    codes, s = I.i_layernorm(q, S, frac_bits=14, bits=16)
    xs = q * S
    want = (xs - xs.mean(axis=1, keepdims=True)) / xs.std(axis=1, keepdims=True)
    err = np.abs(codes * s - want)
    assert err.max() < 2e-3
