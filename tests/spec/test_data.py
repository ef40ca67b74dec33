"""Default data: the embedded real weights are the source bytes; synthetic tensors are seeded."""
import hashlib
from importlib import resources

import numpy as np
import pytest

from refquant import data

# sha256 of the float32 little-endian bytes, as recorded in refquant/data/README.md and
# computed from silero_vad/data/silero_vad_16k.safetensors of the silero-vad 6.2.3 wheel
SHA256 = {
    "silero_vad_lstm_ih": "a26beff59f75349224ef0a6bbc091091f684bff01b5db8a43eb12e5e2884d5bd",
    "silero_vad_conv2": "7494a64d74a6f57b6adef8db36871f112b52104875b21543f852e38a50659a06",
}


def test_names():
    assert data.names() == ["silero_vad_lstm_ih", "silero_vad_conv2", "gaussian", "laplace",
                            "student_t3"]


@pytest.mark.parametrize("name, shape", [("silero_vad_lstm_ih", (512, 128)),
                                         ("silero_vad_conv2", (64, 128, 3)),
                                         ("gaussian", (512, 128)), ("laplace", (512, 128)),
                                         ("student_t3", (512, 128))])
def test_shape_dtype_finite(name, shape):
    x = data.load(name)
    assert x.shape == shape and x.dtype == np.float32
    assert np.all(np.isfinite(x))
    assert data.describe(name)


@pytest.mark.parametrize("name", sorted(SHA256))
def test_real_weights_checksum(name):
    x = data.load(name)
    assert x.dtype.byteorder in "=<" and x.flags.c_contiguous
    assert hashlib.sha256(x.astype("<f4").tobytes()).hexdigest() == SHA256[name]


def test_real_weights_known_values():
    w = data.load("silero_vad_lstm_ih")
    # summary figures of the trained matrix (float64 sums of the float32 values)
    assert abs(float(np.abs(w).max()) - 2.620351) < 1e-6
    assert abs(float(w.astype(np.float64).std()) - 0.26802778) < 1e-6


def test_licence_and_provenance_shipped():
    root = resources.files("refquant.data")
    lic = root.joinpath("LICENSE-silero-vad.txt").read_text()
    assert lic.startswith("MIT License") and "Silero Team" in lic
    readme = root.joinpath("README.md").read_text()
    assert "silero-vad 6.2.3" in readme
    for digest in SHA256.values():
        assert digest in readme
    assert len(root.joinpath("silero_vad_weights.npz").read_bytes()) < 1_000_000


def test_load_returns_independent_copies():
    a = data.load("gaussian")
    a[0, 0] = 1e9
    assert data.load("gaussian")[0, 0] != 1e9


@pytest.mark.parametrize("name", ["gaussian", "laplace", "student_t3"])
def test_synthetic_deterministic(name):
    a = data.load(name)
    data._cache.pop(name)  # regenerate from the seed
    b = data.load(name)
    assert a.tobytes() == b.tobytes()
    rng = np.random.default_rng(data.SEEDS[name])
    draw = {"gaussian": lambda: rng.standard_normal(data.SHAPE),
            "laplace": lambda: rng.laplace(0.0, 1.0 / np.sqrt(2.0), data.SHAPE),
            "student_t3": lambda: rng.standard_t(3, data.SHAPE)}[name]
    assert np.array_equal(a, draw().astype(np.float32))


@pytest.mark.parametrize("name, var, kurt_lo, kurt_hi", [
    ("gaussian", 1.0, 2.9, 3.1),      # normal: kurtosis 3
    ("laplace", 1.0, 5.5, 6.5),       # Laplace: kurtosis 6
    ("student_t3", 3.0, 10.0, 1e9),   # t(3): infinite kurtosis; sample value is large
])
def test_synthetic_moments(name, var, kurt_lo, kurt_hi):
    x = data.load(name).astype(np.float64)
    assert abs(x.mean()) < 0.02
    assert abs(x.var() / var - 1) < (0.05 if name != "student_t3" else 0.35)
    k = ((x - x.mean()) ** 4).mean() / x.var() ** 2
    assert kurt_lo < k < kurt_hi


def test_unknown_name():
    with pytest.raises(ValueError, match=r"name='weights' unknown; allowed: silero_vad_lstm_ih"):
        data.load("weights")
    with pytest.raises(TypeError, match="name must be a str"):
        data.load(3)
