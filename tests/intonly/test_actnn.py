"""ActNN-style activation compression: unbiased stochastic rounding (the mean of many
seeded decompressions converges to the input), packing round trips, memory ratio, bad
input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant.intops import compress_activation, decompress_activation
from refquant.integer._actnn import _pack, _unpack


@settings()
@given(st.integers(1, 8), st.lists(st.integers(0, 255), min_size=0, max_size=200))
def test_packing_round_trips(bits, vals):
    q = np.array(vals, np.int64) % (1 << bits)
    p = _pack(q, bits)
    assert p.size == -(-q.size * bits // 8)
    assert np.array_equal(_unpack(p, bits, q.size), q)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_mean_of_seeded_decompressions_converges(bits):
    """Each decompression is unbiased with per-element variance <= step^2 / 4; over 400
    seeds the mean's error is at most 5 standard errors: 5 step / (2 sqrt(400))."""
    x = np.random.default_rng(11).normal(0, 1, (8, 100))
    n = 400
    acc = np.zeros_like(x)
    for seed in range(n):
        c = compress_activation(x, bits, block_size=64, seed=seed)
        acc += decompress_activation(c)
    step = np.repeat(c.step.astype(float), 64)[:x.size].reshape(x.shape)
    assert np.all(np.abs(acc / n - x) <= 5 * step / (2 * np.sqrt(n)) + 1e-12)


def test_codes_decode_and_range():
    x = np.random.default_rng(1).uniform(-3, 5, 1000)
    c = compress_activation(x, 2, block_size=256, seed=3)
    q = c.codes()
    assert q.min() >= 0 and q.max() <= 3
    d = decompress_activation(c)
    g = np.arange(x.size) // 256
    assert np.array_equal(d, c.lo.astype(float)[g] + q * c.step.astype(float)[g])
    assert np.all(np.abs(d - x) <= c.step.astype(float)[g])      # within one step
    assert np.array_equal(c.codes(), compress_activation(x, 2, seed=3).codes())  # seeded
    # memory: 2 bits per element + 8 bytes per group of 256 against float32
    assert c.nbytes == 250 + 4 * 8
    assert c.memory_ratio == pytest.approx(4000 / 282)


def test_constant_groups_and_shapes():
    x = np.full((3, 5), 2.5)
    c = compress_activation(x, 3)
    assert np.array_equal(decompress_activation(c), x)
    e = compress_activation(np.zeros((0, 4)))
    assert decompress_activation(e).shape == (0, 4)


def test_bad_input():
    with pytest.raises(ValueError, match="bits"):
        compress_activation([1.0], 9)
    with pytest.raises(ValueError, match="block_size"):
        compress_activation([1.0], 2, block_size=0)
    with pytest.raises(ValueError, match="finite"):
        compress_activation([np.nan])
    with pytest.raises(TypeError, match="CompressedActivation"):
        decompress_activation(np.zeros(3))
