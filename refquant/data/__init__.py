"""Default data: real pretrained weights shipped with the package, and seeded synthetic
tensors generated at load time.

``names()`` lists the tensors; ``load(name)`` returns a fresh float32 array (a new,
writable copy on every call); ``describe(name)`` says where a tensor comes from.

Real weights (``silero_vad_weights.npz``, MIT licence, see ``LICENSE-silero-vad.txt`` and
``README.md`` in this folder): two weight tensors of the Silero VAD voice-activity
detector, copied bit for bit from the safetensors file the PyPI package silero-vad 6.2.3
ships.

- ``silero_vad_lstm_ih``: LSTM input-to-hidden weights, shape (512, 128).
- ``silero_vad_conv2``: 1-D convolution weights, shape (64, 128, 3) (out, in, kernel).

Recorded NVIDIA tensor-core outputs (``tensorcore_recorded.npz``, BSD-2, see
``README-tensorcore.md`` and ``LICENSE-tensorcore-recordings.txt``): 250 rows per GPU,
input format and output format of Khattak & Mikaitis' model-validation data, read with
``tensorcore_recorded`` (not tensors for ``load``).

Synthetic tensors, shape (512, 128), float32, drawn from ``numpy.random.default_rng``
with a fixed seed each (identical on every call; NumPy documents the Generator streams
as stable except for bug fixes):

- ``gaussian``: N(0, 1).
- ``laplace``: Laplace(0, b = 1/sqrt(2)) (unit variance).
- ``student_t3``: Student-t with 3 degrees of freedom (heavy tailed; variance 3).
"""
from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["names", "load", "describe", "tensorcore_recorded", "tensorcore_recorded_cases",
           "REAL", "SYNTHETIC", "SHAPE", "SEEDS"]

_NPZ = "silero_vad_weights.npz"

# refquant name -> (npz key, description)
REAL = {
    "silero_vad_lstm_ih": ("lstm_cell_weight_ih",
                           "Silero VAD 6.2.3 lstm_cell.weight_ih (512, 128), MIT licence"),
    "silero_vad_conv2": ("conv2_weight",
                         "Silero VAD 6.2.3 conv2.weight (64, 128, 3), MIT licence"),
}

SHAPE = (512, 128)
SEEDS = {"gaussian": 20260101, "laplace": 20260102, "student_t3": 20260103}
SYNTHETIC = {
    "gaussian": "N(0, 1), seeded",
    "laplace": "Laplace(0, b=1/sqrt(2)) (unit variance), seeded",
    "student_t3": "Student-t, 3 degrees of freedom (heavy tailed), seeded",
}

_cache: dict[str, np.ndarray] = {}


def names() -> list[str]:
    """Every tensor name ``load`` accepts: the real weights first, then the synthetic ones."""
    return list(REAL) + list(SYNTHETIC)


def _check(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in REAL and name not in SYNTHETIC:
        raise ValueError(f"name={name!r} unknown; allowed: {', '.join(names())}")


def load(name: str) -> np.ndarray:
    """The tensor ``name`` as a new float32 array (the caller may modify it).

    Real weights are the exact float32 values of the source model. Synthetic tensors are
    generated from their fixed seed: ``gaussian`` by ``rng.standard_normal``, ``laplace``
    by ``rng.laplace(0, 1/sqrt(2))``, ``student_t3`` by ``rng.standard_t(3)``, each in
    float64 and rounded once to float32. Raises ValueError for an unknown name.
    """
    _check(name)
    if name not in _cache:
        if name in REAL:
            ref = resources.files(__name__).joinpath(_NPZ)
            with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
                for ours, (key, _) in REAL.items():
                    _cache[ours] = np.asarray(npz[key], dtype=np.float32)
        else:
            rng = np.random.default_rng(SEEDS[name])
            if name == "gaussian":
                x = rng.standard_normal(SHAPE)
            elif name == "laplace":
                x = rng.laplace(0.0, 1.0 / np.sqrt(2.0), SHAPE)
            else:
                x = rng.standard_t(3, SHAPE)
            _cache[name] = x.astype(np.float32)
    return _cache[name].copy()


def describe(name: str) -> str:
    """One line saying what the tensor is and where it comes from."""
    _check(name)
    return REAL[name][1] if name in REAL else SYNTHETIC[name]


_TC_NPZ = "tensorcore_recorded.npz"
_tc_cache: dict[str, np.ndarray] = {}


def _tc_arrays() -> dict[str, np.ndarray]:
    if not _tc_cache:
        ref = resources.files(__name__).joinpath(_TC_NPZ)
        with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
            for key in npz.files:
                _tc_cache[key] = np.asarray(npz[key])
    return _tc_cache


def tensorcore_recorded_cases() -> list[tuple[str, str, str]]:
    """Every (gpu, format, out) recorded in the bundled tensor-core sample, format as the
    recordings spell it (fp16, bf16, tf32, E4M3, E5M2), sorted."""
    out = []
    for key in _tc_arrays():
        gpu, fmt, leaf = key.split("/")
        if leaf.startswith("d_"):
            out.append((gpu, fmt, leaf[2:]))
    return sorted(out)


def tensorcore_recorded(gpu: str, fmt: str,
                        out: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled recorded rows of one GPU, input format and output format: (a, b, c, d)
    as new uint32 arrays of fp32 bit patterns, a and b (rows, K), c and d (rows,), the
    layout of ``refquant.cli.read_recorded``. ``fmt`` as the recordings
    spell it (see ``tensorcore_recorded_cases``). Raises ValueError naming the recorded
    cases for one that is not in the sample."""
    arrays = _tc_arrays()
    key = f"{gpu}/{fmt}"
    if f"{key}/d_{out}" not in arrays:
        cases = ", ".join("/".join(c) for c in tensorcore_recorded_cases())
        raise ValueError(f"{gpu}/{fmt}/{out} is not recorded in the bundled sample; "
                         f"recorded: {cases}")
    a, b, c, d = (arrays[f"{key}/{x}"].copy() for x in ("a", "b", "c", f"d_{out}"))
    return a, b, c, d
