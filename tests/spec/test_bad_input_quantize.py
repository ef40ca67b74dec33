"""Malformed and extreme input to refquant.quantize, QTensor, refquant.calibrate and the
integer formats: each raises the stated exception with a message naming the parameter,
or (for the extreme-but-valid ones) gives the exact answer in bounded memory."""
import tracemalloc

import numpy as np
import pytest

import refquant as rq
from refquant import QTensor
from refquant import calibrate as C

X = np.array([[0.5, -1.0, 2.0], [3.0, -0.25, 1.0]])
T = np.array([[0.5, -1.0, 2.0, np.nan]])  # a calibration table: one row, NaN padding
I8 = rq.format("int8")


def _qt(**kw):
    base = dict(codes=np.array([1, 2, 3], dtype=np.int8), scale=np.array(0.5),
                zero_point=np.array(0), fmt=I8)
    base.update(kw)
    return QTensor(**base)


CASES = [
    # block formats: arguments their specification decides are usage errors
    ("mx scale", lambda: rq.quantize(X, "mxfp4", scale=0.5), ValueError,
     "scale does not apply to mxfp4"),
    ("mx zero_point", lambda: rq.quantize(X, "mxfp4", zero_point=np.array(1)), ValueError,
     "zero_point does not apply to mxfp4"),
    ("mx granularity", lambda: rq.quantize(X, "mxfp4", granularity="axis"), ValueError,
     "granularity='axis' does not apply to mxfp4"),
    ("mx granularity tensor", lambda: rq.quantize(X, "mxfp4", granularity="tensor"),
     ValueError, "granularity='tensor' does not apply to mxfp4"),
    ("mx calibration", lambda: rq.quantize(X, "mxfp4", calibration="entropy"), ValueError,
     "calibration='entropy' does not apply to mxfp4"),
    ("mx block_size", lambda: rq.quantize(X, "nvfp4", block_size=8), ValueError,
     "block_size=8 does not apply to nvfp4"),
    ("mx symmetric", lambda: rq.quantize(X, "mxfp8_e4m3", symmetric=False), ValueError,
     "symmetric=False does not apply to mxfp8_e4m3"),
    ("mx compat", lambda: rq.quantize(X, "mxfp4", compat="onnx"), ValueError,
     "compat='onnx' applies to integer formats; mxfp4"),
    ("mx scale_dtype", lambda: rq.quantize(X, "mxfp4", scale_dtype=np.float64), ValueError,
     "scale_dtype does not apply to mxfp4"),
    ("mx nonfinite", lambda: rq.quantize(X, "mxfp4", nonfinite="saturate"), ValueError,
     "nonfinite='saturate' does not apply to mxfp4"),
    ("mx option", lambda: rq.quantize(X, "mxfp4", percentile=99.0), ValueError,
     "percentile does not apply to mxfp4"),
    # options that do not apply to the chosen granularity or scaling
    ("axis per tensor", lambda: rq.quantize(X, "int8", axis=1), ValueError,
     "axis applies to granularity 'axis' or 'block'"),
    ("block_size per axis", lambda: rq.quantize(X, "int8", granularity="axis", block_size=2),
     ValueError, "block_size applies to granularity='block'"),
    ("calibration with scale", lambda: rq.quantize(X, "int8", scale=0.5, calibration="mse"),
     ValueError, "calibration does not apply with an explicit scale"),
    ("option with scale", lambda: rq.quantize(X, "int8", scale=0.5, percentile=99.0),
     ValueError, "percentile does not apply with an explicit scale"),
    ("symmetric with scale", lambda: rq.quantize(X, "int8", scale=0.5, symmetric=True),
     ValueError, "symmetric does not apply with an explicit scale"),
    ("scale_dtype with scale", lambda: rq.quantize(X, "int8", scale=0.5,
                                                   scale_dtype=np.float64),
     ValueError, "scale_dtype applies to calibrated scales"),
    ("option for another method", lambda: rq.quantize(X, "int8", percentile=99.0),
     ValueError, "percentile does not apply to calibration='minmax'"),
    ("unknown option", lambda: rq.quantize(X, "int8", calibration="entropy", bins=10),
     ValueError, "bins does not apply to calibration='entropy'"),
    ("compat float", lambda: rq.quantize(X, "e4m3fn", compat="torch"), ValueError,
     "compat='torch' applies to integer formats"),
    ("nonfinite float", lambda: rq.quantize(X, "e4m3fn", nonfinite="saturate"), ValueError,
     "nonfinite='saturate' does not apply to e4m3fn"),
    ("overflow posit", lambda: rq.quantize(X, "posit8", overflow="raise"), ValueError,
     "overflow=RAISE does not apply to posit8"),
    ("overflow name", lambda: rq.quantize(X, "int8", overflow="clip"), ValueError,
     "overflow='clip'"),
    # parameter types and ranges
    ("scale_dtype int", lambda: rq.quantize(X, "int8", scale_dtype=np.int32), ValueError,
     "scale_dtype must be float16, float32 or float64, got int32"),
    ("scale_dtype str", lambda: rq.quantize(X, "int8", scale_dtype="bogus"), TypeError,
     "scale_dtype must be a NumPy float dtype"),
    ("symmetric str", lambda: rq.quantize(X, "int8", symmetric="no"), TypeError,
     "symmetric must be True, False or None"),
    ("seed float", lambda: rq.quantize(X, "int8", rounding="stochastic", seed=1.5),
     TypeError, "seed must be an int"),
    ("seed huge", lambda: rq.quantize(X, "int8", rounding="stochastic", seed=2**70),
     ValueError, "seed must be an int in [-9223372036854775808, 9223372036854775807], got 1180591620717411303424"),
    ("block_size bool", lambda: rq.quantize(X, "int8", granularity="block", axis=1,
                                            block_size=True),
     TypeError, "block_size must be an int"),
    ("block_size zero", lambda: rq.quantize(X, "int8", granularity="block", axis=1,
                                            block_size=0),
     ValueError, "block_size must be an int >= 1, got 0"),
    ("axis range", lambda: rq.quantize(X, "int8", granularity="axis", axis=2), ValueError,
     "axis=2 out of range for a 2-d array"),
    ("axis type", lambda: rq.quantize(X, "int8", granularity="axis", axis=1.0), TypeError,
     "axis must be an int"),
    ("scale zero", lambda: rq.quantize(X, "int8", scale=0.0), ValueError,
     "scale must be positive and finite"),
    ("scale negative", lambda: rq.quantize(X, "int8", scale=-2.0), ValueError,
     "scale must be positive and finite"),
    ("scale nan", lambda: rq.quantize(X, "int8", scale=np.nan), ValueError,
     "scale must be positive and finite"),
    ("scale str", lambda: rq.quantize(X, "int8", scale="0.5"), TypeError,
     "scale must be real numbers"),
    ("scale bool", lambda: rq.quantize(X, "int8", scale=True), TypeError,
     "scale must be real numbers"),
    ("zero_point range", lambda: rq.quantize(X, "uint8", scale=1.0, zero_point=np.array(256)),
     ValueError, "zero_point outside the code range [0, 255]"),
    ("zero_point float", lambda: rq.quantize(X, "int8", scale=1.0, zero_point=1.5), TypeError,
     "zero_point must be integers"),
    ("zero_point uint64", lambda: rq.quantize(X, "int32", scale=1.0,
                                              zero_point=np.uint64(2**63 + 5)),
     ValueError, "zero_point outside the code range"),
    ("x nan calibrated", lambda: rq.quantize(np.array([1.0, np.nan]), "e4m3fn"), ValueError,
     "x contains NaN or inf"),
    ("x object", lambda: rq.quantize([2**70], "int8"), TypeError,
     "x must be a real numeric array"),
    ("x complex", lambda: rq.quantize(np.array([1j]), "int8"), TypeError, "x must be real"),
    # scales outside the finite range of the scale dtype are refused, never converted
    ("scale overflows float32", lambda: rq.quantize(np.array([1e300, -1e300]), "int8"),
     ValueError, "outside the finite range of float32 scales"),
    ("scale underflows float32", lambda: rq.quantize(np.array([1e-45, -1e-45]), "int8"),
     ValueError, "outside the finite range of float32 scales"),
    ("scale underflows float16", lambda: rq.quantize(np.array([1e-9]), "int8",
                                                     scale_dtype=np.float16),
     ValueError, "outside the finite range of float16 scales"),
    ("scale overflows float64", lambda: rq.quantize(np.array([1e308]), "apot3",
                                                    scale_dtype=np.float64),
     ValueError, "outside the finite range of float64 scales"),
    # int1 = {-1, 0}: no positive code to map amax to
    ("int1 symmetric", lambda: rq.quantize(X, "int1", symmetric=True), ValueError,
     "symmetric=True needs a format with a positive largest value; int1"),
    ("q0.0 symmetric", lambda: rq.quantize(X, "q0.0"), ValueError,
     "needs a format with a positive largest value; q0.0"),
    # QTensor
    ("dequantize int dtype", lambda: _qt().dequantize(np.int32), TypeError,
     "dtype must be a floating dtype"),
    ("dequantize bad scale shape", lambda: _qt(scale=np.array([1.0, 2.0, 3.0])).dequantize(),
     ValueError, "scale has shape (3,); expected ()"),
    ("dequantize bad zero shape", lambda: _qt(zero_point=np.array([1, 2])).dequantize(),
     ValueError, "zero_point has shape (2,); expected ()"),
    ("dequantize float codes", lambda: _qt(codes=np.array([1.5])).dequantize(), TypeError,
     "codes must be integers"),
    ("dequantize codes out of range", lambda: _qt(codes=np.array([300])).dequantize(),
     ValueError, "codes outside [-128, 127] for int8"),
    ("dequantize granularity", lambda: _qt(granularity="row").dequantize(), ValueError,
     "granularity='row'"),
    ("dequantize axis missing", lambda: _qt(granularity="axis", scale=np.ones(3),
                                            zero_point=np.zeros(3, np.int64)).dequantize(),
     TypeError, "axis must be an int"),
    # calibrate
    ("table 1-d", lambda: C.minmax(np.array([1.0, 2.0])), ValueError,
     "table must be 2-D (one row per group), got shape (2,)"),
    ("table inf", lambda: C.entropy(np.array([[1.0, np.inf]])), ValueError,
     "table contains inf"),
    ("table str", lambda: C.minmax(np.array([["a"]])), TypeError, "table must be real"),
    ("percentile 0", lambda: C.percentile(T, percentile=0), ValueError,
     "percentile=0 out of range; allowed (0, 100]"),
    ("percentile 101", lambda: C.percentile(T, percentile=101), ValueError,
     "percentile=101 out of range"),
    ("percentile nan", lambda: C.percentile(T, percentile=float("nan")), ValueError,
     "percentile=nan out of range"),
    ("percentile str", lambda: C.percentile(T, percentile="99"), TypeError,
     "percentile must be a real number"),
    ("levels zero", lambda: C.entropy(T, levels=0), ValueError, "levels=0"),
    ("levels bool", lambda: C.entropy(T, levels=True), TypeError, "levels must be an int"),
    ("kl bins huge", lambda: C.kl_amax(np.ones(10**6), np.linspace(0, 1, 10**6 + 1)),
     ValueError, "max_bins"),
    ("kl edges", lambda: C.kl_amax(np.ones(200), np.ones(5)), ValueError,
     "edges has 5 entries; expected 201"),
    ("aciq bits bool", lambda: C.aciq_alpha(True), TypeError, "bits must be an int"),
    ("method unknown", lambda: C.group_range(T, "kl"), ValueError,
     "calibration='kl'; allowed: minmax"),
    ("fmt unknown", lambda: C.entropy(T, fmt="int99"), ValueError, "bits must be an int in [1, 32], got 99"),
    # integer formats
    ("decode float codes", lambda: I8.decode(np.array([1.0])), TypeError,
     "codes must be integers"),
    ("decode range", lambda: I8.decode(np.array([128])), ValueError,
     "codes outside [-128, 127] for int8"),
    ("encode nan", lambda: I8.encode(np.array([1.0, np.nan])), ValueError,
     "x[1] = nan is not finite"),
    ("encode raise", lambda: I8.encode(np.array([[1.0, 300.0]]), overflow="raise"),
     OverflowError, "x[0, 1] = 300.0 quantizes outside [-128, 127]"),
    ("encode overflow inf", lambda: I8.encode(np.array([1.0]), overflow="inf"), ValueError,
     "overflow=INF does not apply to integer codes"),
    ("encode str", lambda: I8.encode(np.array(["1"])), TypeError,
     "x must be a real numeric array"),
    ("wrap float32 quotient", lambda: rq.quantize(np.array([1e30]), "int8", scale=1e-10,
                                                  compat="onnx", overflow="wrap"),
     OverflowError, "is not finite in float32"),
]


@pytest.mark.parametrize("call,exc,phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(call, exc, phrase):
    with pytest.raises(exc) as info:
        call()
    assert phrase in str(info.value), str(info.value)


def test_block_size_beyond_the_axis_needs_no_memory():
    x = np.random.default_rng(0).normal(size=(3, 1000))
    tracemalloc.start()
    try:
        q = rq.quantize(x, "int8", granularity="block", axis=1, block_size=10**9)
        xh = q.dequantize()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # a few copies of x, not 10^9 padded elements
    ref = rq.quantize(x, "int8", granularity="axis", axis=0)
    assert q.scale.shape == (3, 1) and q.block_size == 10**9
    assert (q.codes == ref.codes).all() and (q.scale.ravel() == ref.scale).all()
    assert (xh == ref.dequantize()).all()


def test_entropy_levels_beyond_the_bins_are_bounded():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(2, 3000))
    tracemalloc.start()
    try:
        big = C.entropy(t, levels=10**9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
    # more levels than bins: every bin is its own level, as with levels = 2048
    full = C.entropy(t, levels=2048)
    assert (big[0] == full[0]).all() and (big[1] == full[1]).all()


def test_kl_amax_allows_more_bins_when_asked():
    counts = np.ones(300)
    edges = np.linspace(0.0, 3.0, 301)
    with pytest.raises(ValueError, match="max_bins=256"):
        C.kl_amax(counts, edges, max_bins=256)
    assert C.kl_amax(counts, edges, max_bins=300) == C.kl_amax(counts, edges)
