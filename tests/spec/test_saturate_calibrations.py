"""Every format under every calibration gives finite, saturated codes.

A clipping calibration (percentile, entropy, mse, ACIQ) chooses a range [lo, hi] narrower
than the data; ``refquant.quantize`` (overflow=SATURATE, its default) must map the
clipped elements to the end codes of the format, never to inf or NaN. Checked over every
registered format name (refquant.format_names()) and more parameterised names, per tensor and per axis, for each
calibration method; block formats through their own path (their scale follows their
specification, so calibration arguments are usage errors).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refquant as rq
from refquant import calibrate as C

EXTRA = ["int1", "uint1", "int5", "uint7", "int8n", "q3.4", "uq3.4", "q0.7", "e3m3fn",
         "e2m1fnuz", "p3109_k8p4se", "p3109_k8p3ue", "p3109_k6p3sf", "posit8_1", "posit16_1",
         "tent8_2", "log4_sqrt2", "ulog4", "log5_lin", "uapot4", "pwlq4_p0.25"]
ALL = sorted(set(rq.format_names()) | set(EXTRA))
ELEMENT = [n for n in ALL if not rq.format(n).is_block]
BLOCK = [n for n in ALL if rq.format(n).is_block]
CALIBRATIONS = [("minmax", {}), ("percentile", {}), ("percentile", {"percentile": 99.0}),
                ("entropy", {}), ("mse", {}), ("aciq_laplace", {}), ("aciq_gaussian", {})]


def _data():
    """Heavy tails plus outliers of both signs: every clipping method clips something."""
    rng = np.random.default_rng(13)
    x = rng.standard_t(3, size=(2, 300))
    x[0, 5], x[0, 9], x[1, 7], x[1, 11] = 40.0, -30.0, -35.0, 25.0
    x[:, 0] = 0.0
    return x


X = _data()


def _ends(fmt):
    """Codes of the largest and the smallest finite value."""
    top, bottom = fmt.encode(np.array([fmt.max, fmt.min]))
    return top, bottom


def _per_element(q, a):
    """A per-group array of q broadcast to the codes' shape."""
    a = np.asarray(a, dtype=np.float64)
    if q.granularity == "tensor":
        return np.broadcast_to(a, q.shape)
    sh = [1] * len(q.shape)
    sh[q.axis] = -1
    return np.broadcast_to(a.reshape(sh), q.shape)


def _table(x, gran):
    return x.reshape(1, -1) if gran == "tensor" else x.reshape(x.shape[0], -1)


def check_saturated(x, name, gran, cal, opts, scale_dtype=None):
    fmt = rq.format(name)
    kw = {} if gran == "tensor" else {"axis": 0}
    if scale_dtype is not None:
        kw["scale_dtype"] = scale_dtype
    q = rq.quantize(x, fmt, granularity=gran, calibration=cal, **kw, **opts)
    s = np.asarray(q.scale, dtype=np.float64)
    assert np.isfinite(s).all() and (s > 0).all()
    xh = q.dequantize()
    assert np.isfinite(xh).all(), f"{name} {cal} {gran}: non-finite values"
    assert np.isfinite(fmt.decode(q.codes)).all()
    top, bottom = _ends(fmt)
    codes = q.codes
    se, ze = _per_element(q, s), _per_element(q, q.zero_point)
    # beyond the end values at the element's scale: the end codes (strict saturation)
    if fmt.is_integer:
        y = x / se + ze  # the exact quotient is within 1/2 of any tie only near ties
        assert (codes[y > fmt.qmax + 0.5] == top).all()
        assert (codes[y < fmt.qmin - 0.5] == bottom).all()
    else:
        y = x / se  # as quantize forms it for non-integer formats
        assert (codes[y > fmt.max] == top).all(), f"{name} {cal} {gran}"
        assert (codes[y < fmt.min] == bottom).all(), f"{name} {cal} {gran}"
    return q, fmt


@pytest.mark.parametrize("gran", ["tensor", "axis"])
@pytest.mark.parametrize("cal,opts", CALIBRATIONS, ids=lambda v: str(v) if v else "")
@pytest.mark.parametrize("name", ELEMENT)
def test_clipped_elements_get_the_end_codes(name, cal, opts, gran):
    check_saturated(X, name, gran, cal, opts)
    # with float64 scales the calibrated ends land on the end values: every element beyond
    # the calibrated range [lo, hi] (a clipped element) gets the end code of its sign
    q, fmt = check_saturated(X, name, gran, cal, opts, scale_dtype=np.float64)
    if fmt.calibration_max != fmt.max:
        # tapered formats (posits) map amax to calibration_max < max on purpose:
        # elements beyond the calibrated range keep their sign and stay finite
        xh = q.dequantize()
        assert (np.sign(xh) == np.sign(X))[X != 0].all()
        return
    sym = not (fmt.is_integer and (fmt.min == 0 or fmt.max <= 0))
    lo, hi = C.group_range(_table(X, gran), cal, symmetric=sym, fmt=fmt, **opts)
    lo_e, hi_e = _per_element(q, np.minimum(lo, 0.0)), _per_element(q, np.maximum(hi, 0.0))
    top, bottom = _ends(fmt)
    above, below = X > hi_e, X < lo_e
    assert (q.codes[above] == top).all(), f"{name} {cal} {gran}: clipped above"
    if fmt.min >= 0 or not sym:
        # unsigned formats clamp negatives to their smallest value; asymmetric integer
        # scaling maps lo to qmin
        assert (q.codes[below] == bottom).all(), f"{name} {cal} {gran}: clipped below"
    else:
        # symmetric scaling maps -amax to -max; two's-complement-like formats have one more
        # negative value (min < -max), which the elements beyond it get (see above)
        v = fmt.decode(q.codes[below])
        assert (v <= -fmt.max).all(), f"{name} {cal} {gran}: clipped below"
    if fmt.min < 0 and below.any():  # the right sign (asymmetric grids may end at 0)
        v = q.dequantize()[below]
        assert (v < 0).all() if sym else (v <= 0).all()


@settings(max_examples=40)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 40)),
                  elements=st.floats(-1e6, 1e6).filter(lambda v: v == 0 or abs(v) > 1e-30)),
       st.sampled_from(["e4m3fn", "e4m3fnuz", "e4m3", "e5m2", "e2m1", "fp16", "bf16",
                        "int4", "uint8", "posit8", "log4", "apot4", "nhot2_8", "tent8"]),
       st.sampled_from(CALIBRATIONS), st.sampled_from(["tensor", "axis"]))
def test_saturation_property_random_data(x, name, cal_opts, gran):
    cal, opts = cal_opts
    check_saturated(x, name, gran, cal, opts)


@pytest.mark.parametrize("name", BLOCK)
def test_block_formats_saturate_on_their_own_path(name):
    fmt = rq.format(name)
    x = np.concatenate([X, X * 1e3, -X], axis=1)
    q = rq.quantize(x, fmt)
    xh = q.dequantize()
    assert np.isfinite(xh).all()
    el = fmt.element if hasattr(fmt, "element") else fmt
    vals = fmt.decode(q.codes)
    assert np.isfinite(vals).all()
    s = np.repeat(np.asarray(q.scale, dtype=np.float64), q.block_size, axis=q.axis)
    s = s[:, : x.shape[1]]
    y = x / s
    assert (vals[y > el.max] == fmt.max).all()
    assert (vals[y < -el.max] == -fmt.max).all()
    assert np.abs(vals).max() <= fmt.max
    # calibration does not apply to a block format: a usage error, never ignored
    for cal, _ in CALIBRATIONS[1:]:
        with pytest.raises(ValueError, match="calibration"):
            rq.quantize(x, fmt, calibration=cal)
