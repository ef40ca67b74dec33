"""Malformed and extreme input to the command line and the simulators' public methods:
every one is refused with the exception type and a message naming the argument (no
crash, no hang, no silently wrong result, no allocation beyond a stated limit)."""
import io
import time

import numpy as np
import pytest

from refquant import cli
from refquant.sim import (SystolicArray, TensorCore, conv_output_size, cycle_model, load_layers,
                          scalesim_report, write_vcd)

SA = SystolicArray(2, 2)
TS = SystolicArray(2, 2, "ws", pe="term_serial")
TC = TensorCore("H100")
B200 = TensorCore("B200")
I2 = np.ones((2, 2), np.int64)
F2 = np.ones((2, 2))
TRACE = SystolicArray(2, 2).run(I2, I2, trace=True).trace

CASES = [
    # SystolicArray construction
    (SystolicArray, (2, 2), {"encoding": "binary"}, ValueError,
     "encoding='binary' applies to pe='term_serial' only"),
    (SystolicArray, (2, 2, "ws"), {"pe": "bit_serial", "encoding": "naf"}, ValueError,
     "applies to pe='term_serial' only"),
    (SystolicArray, (2, 2), {"encoding": "booth", "pe": "term_serial", "dataflow": "ws"},
     ValueError, "encoding='booth' unknown; allowed: 'binary', 'hese', 'naf'"),
    (SystolicArray, (0, 2), {}, ValueError, "rows must be an int in [1, 4611686018427387904], got 0"),
    (SystolicArray, (2, -1), {}, ValueError, "cols must be an int in [1, 4611686018427387904], got -1"),
    (SystolicArray, (2, 2 ** 63), {}, ValueError, "got 9223372036854775808"),
    (SystolicArray, (2.0, 2), {}, TypeError, "rows must be an int in [1, 4611686018427387904], got 2.0"),
    (SystolicArray, (np.bool_(True), 2), {}, TypeError, "rows must be an int"),
    (SystolicArray, (2, 2, "rs"), {}, ValueError, "dataflow='rs' unknown; allowed: 'os', 'ws', 'is'"),
    # runs
    (SA.run, (I2, I2), {"trace": "yes"}, TypeError, "trace must be a bool, got 'yes'"),
    (SA.run, (np.ones(2, np.int64), I2), {}, ValueError, "A must be a 2-D matrix"),
    (SA.run, (np.zeros((0, 2), np.int64), I2), {}, ValueError, "A has an empty dimension"),
    (SA.run, (np.ones((2, 3), np.int64), I2), {}, ValueError, "K must match"),
    (SA.run, ([["a"]], [["b"]]), {}, TypeError, "A must hold integers, got dtype <U1"),
    (SA.run, (np.full((2, 2), np.nan), I2), {}, TypeError, "A must hold integers"),
    (SA.run, (np.full((2, 2), 2 ** 63, np.uint64), I2), {}, ValueError,
     "outside the signed 8-bit operand range"),
    (SA.run, (I2, I2), {"max_work": 0}, ValueError, "max_work must be an int >= 1, got 0"),
    (SA.run, (I2, I2), {"max_bytes": 1.5}, TypeError, "max_bytes must be an int"),
    (SA.run_conv, (np.ones((1, 1, 4, 4), np.int64), np.ones((1, 1, 3, 3), np.int64)),
     {"stride": 0}, ValueError, "stride must be an int >= 1, got 0"),
    (SA.run_conv, (np.ones((1, 1, 4, 4), np.int64), np.ones((1, 1, 3, 3), np.int64)),
     {"padding": -1}, ValueError, "padding must be an int >= 0, got -1"),
    (SA.run_conv, (np.ones((1, 1, 2048, 2048), np.int8), np.ones((4, 1, 3, 3), np.int8)),
     {"trace": True}, ValueError, "max_bytes"),
    (SA.run_layers, ("fc, 2, 2, 2\n",), {"progress": "no"}, TypeError, "progress must be a bool"),
    (SA.run_layers, ("fc, 2, 2, 2\n",), {"simulate": True, "seed": "x", "progress": False},
     TypeError, "seed must be an int"),
    (SA.run_layers, ("fc, 2, 2, 2\n",), {"vcd": "x.vcd", "progress": False}, ValueError,
     "vcd= needs simulate=True"),
    (SA.run_layers, ("fc, 2, 2, 2\n",), {"vcd": "/nonexistent/dir/x.vcd", "simulate": True,
                                        "progress": False}, FileNotFoundError, "no such folder"),
    (TS.run_layers, ("fc, 2, 2, 2\n",), {"progress": False}, ValueError,
     "pe='term_serial': the cycles depend on the operand values"),
    (SA.run_layers, ("big, 100000, 100000, 100000\n",), {"simulate": True, "progress": False},
     ValueError, "layer 'big' (M=100000, N=100000, K=100000) needs about"),
    (SA.run_layers, ("fc, 64, 64, 64\n",), {"simulate": True, "progress": False,
                                           "vcd": "run.vcd", "max_bytes": 10 ** 6},
     ValueError, "above max_bytes=1000000"),
    # analytical models
    (cycle_model, (4, 4, 4, 2, 2, "ws"), {"beats": -1}, ValueError, "beats must be an int >= 1, got -1"),
    (cycle_model, (4, 4, 4, 2, 2, "ws"), {"beats": 0}, ValueError, "beats must be an int >= 1, got 0"),
    (cycle_model, (4, 4, 4, 2, 2, "ws"), {"beats": 1.5}, TypeError, "beats must be an int"),
    (cycle_model, (4, 4, 4, 2, 2, "ws"), {"beats": [1, 2]}, ValueError, "beats has 2 entries"),
    (cycle_model, (4, 4, 4, 2, 2, "os"), {"beats": 2}, ValueError, "'ws' and 'is' dataflows only"),
    (cycle_model, (-1, 1, 1, 2, 2), {}, ValueError, "M must be an int in [1, 4611686018427387904], got -1"),
    (scalesim_report, (4.5, 4, 4, 2, 2), {}, TypeError, "M must be an int in [1, 4611686018427387904], got 4.5"),
    (conv_output_size, (3, 4, 1), {}, ValueError, "kernel=4 is larger than size=3"),
    (conv_output_size, (5, 2, 2, "ceil"), {}, ValueError, "rule='ceil' unknown"),
    # layer files and lists
    (load_layers, ("/nonexistent/net.csv",), {}, FileNotFoundError, "no such file"),
    (load_layers, ("net",), {}, FileNotFoundError, "layers='net': no such file"),
    (load_layers, ("a, -1, 2, 3\n",), {}, ValueError, "layer line 1: M, N, K must be in 1..2**62"),
    (load_layers, ("Layer, M, N, K\na, 0, 2, 3\n",), {}, ValueError, "layer line 2"),
    (load_layers, ("a, 1.5, 2, 3\n",), {}, ValueError, "field '1.5' is not an integer"),
    (load_layers, ("a, nan, 2, 3\n",), {}, ValueError, "field 'nan' is not an integer"),
    (load_layers, ("a, inf, 2, 3\n",), {}, ValueError, "field 'inf' is not an integer"),
    (load_layers, ("a, 1e300, 2, 3\n",), {}, ValueError, "M, N, K must be in 1..2**62"),
    (load_layers, ("a, 1, 2\n",), {}, ValueError, "expected 'name, M, N, K'"),
    (load_layers, ("c, 5, 5, 7, 3, 1, 1, 1\n",), {}, ValueError, "invalid conv dimensions"),
    (load_layers, ([{"M": 1}],), {}, ValueError, "layer 1: missing key 'N'"),
    (load_layers, ([3],), {}, TypeError, "layer 1 must be a dict or a tuple, got int"),
    (load_layers, (5,), {}, TypeError, "layers must be a path, CSV text or a list"),
    (load_layers, ([],), {}, ValueError, "layers holds no layer rows"),
    (load_layers, ("Layer, M, N, K\n",), {}, ValueError, "layers holds no layer rows"),
    # VCD
    (write_vcd, ("x.vcd", TRACE), {"width": 3.5}, TypeError, "width must be an int"),
    (write_vcd, ("x.vcd", TRACE), {"width": 0}, ValueError, "width must be an int in [1, 64], got 0"),
    (write_vcd, ("x.vcd", TRACE), {"timescale": "3 ns"}, ValueError, "timescale='3 ns'"),
    (write_vcd, ("x.vcd", TRACE), {"comment": "a $end b"}, ValueError, "without '$end'"),
    (write_vcd, ("x.vcd", {"a": np.ones((2, 1, 1)) / 2}), {}, TypeError, "must hold integers"),
    (write_vcd, ("x.vcd", TRACE), {"signals": ["a_r0_c0"]}, ValueError, "(plane, row, col)"),
    # tensor cores: names
    (TensorCore, (None,), {}, TypeError, "gpu must be a string, got NoneType"),
    (TensorCore, ("P100",), {}, ValueError, "gpu='P100' is unknown; allowed: V100, A100"),
    (TC.gemm, (F2, F2, None, "e4m3"), {}, ValueError,
     "in_format='e4m3' is ambiguous: refquant.format('e4m3') is the IEEE-like E4M3 (max 240)"),
    (TC.model, ("E4M3",), {}, ValueError, "use 'e4m3fn'"),
    (TC.model, ("fp8-e4m3",), {}, ValueError, "use 'e4m3fn'"),
    (TC.mma_rows, (F2, F2, None, "e4m3"), {}, ValueError, "use 'e4m3fn'"),
    (B200.mma_block_scaled, (np.ones((2, 32)), np.ones((32, 2)), None, np.ones((2, 1)),
                             np.ones((1, 2)), "e4m3"), {}, ValueError, "use 'e4m3fn'"),
    (B200.mma_block_scaled, (np.ones((2, 32)), np.ones((32, 2))), {}, ValueError,
     "needs scale_a of shape (2, 1) and scale_b of shape (1, 2)"),
    (TC.gemm, (F2, F2, None, "fp8"), {}, ValueError,
     "in_format='fp8' is not supported; allowed: fp16, bf16, tf32, e4m3fn, e5m2"),
    (TC.gemm, (F2, F2, None, 16), {}, TypeError, "in_format must be a string"),
    (TC.gemm, (F2, F2, None, "fp16", "bf16"), {}, ValueError,
     "out_format='bf16' is not supported; allowed: fp32, fp16"),
    (TC.gemm, (F2, F2, None, "fp16", "fp32", "wgmma"), {}, ValueError,
     "instruction='wgmma' applies to fp8 formats only"),
    (TC.gemm, (F2, F2, None, "e4m3fn", "fp32", "hmma"), {}, ValueError,
     "instruction='hmma' is not available for fp8 on H100; allowed: wgmma, mma.sync"),
    (TC.model, ("fp16", "fp32", 3), {}, TypeError, "instruction must be a str or None"),
    # tensor cores: operands
    (TC.gemm, (np.ones(2), np.ones(2)), {}, ValueError, "A (M, K) and B (K, N) shapes do not match"),
    (TC.gemm, (np.ones((2, 3)), F2), {}, ValueError, "shapes do not match: (2, 3), (2, 2)"),
    (TC.gemm, ([["a"]], [["b"]]), {}, TypeError, "A must hold real numbers, got dtype <U1"),
    (TC.gemm, (np.ones((2, 2), complex), F2), {}, TypeError, "A must hold real numbers"),
    (TC.gemm, (F2, F2, np.ones(3)), {}, ValueError, "C must have shape (2, 2), got (3,)"),
    (TC.gemm, (F2 * 0.1, F2), {}, ValueError, "not representable in fp16"),
    (TC.mma_rows, (np.ones((2, 3)), F2), {}, ValueError, "a and b must be 2-D of equal shape"),
    (TC.mma, (F2, F2), {}, ValueError, "shape m2n2k2 is not a PTX mma shape for fp16"),
    (TC.imma, (F2, I2), {}, TypeError, "A must be an integer array, got dtype float64"),
    (TC.imma, (I2, I2, None, "s16"), {}, ValueError, "in_format='s16' is not supported; allowed: s8"),
    (TC.imma, (np.full((2, 2), 2 ** 63, np.uint64), I2), {}, ValueError, "outside [-128, 127]"),
    (TC.bmma, (I2, I2), {"op": "or"}, ValueError, "op='or' must be 'xor' or 'and'"),
    (TC.imma, (I2, I2), {"overflow": "yes"}, ValueError, "overflow='yes' is not a Overflow"),
    (TC.imma, (I2, I2), {"overflow": "raise"}, ValueError,
     "overflow='raise' not allowed for the int32 accumulator of integer MMA; allowed: 'wrap', 'saturate'"),
    (TC.mma_sp, (np.ones((2, 2)), np.full((2, 1), 0x44, np.uint8), np.ones((4, 2))),
     {"overflow": "saturate"}, ValueError, "overflow='saturate' applies to integer formats"),
    (TC.bmma, (I2, I2), {"tile": 1}, TypeError, "tile must be a bool, got 1"),
    (TensorCore("V100").imma, (I2, I2), {}, ValueError, "V100 tensor cores have no integer MMA"),
]


@pytest.mark.parametrize("func, args, kwargs, exc, phrase", CASES,
                         ids=[f"{i}-{c[4][:30]}" for i, c in enumerate(CASES)])
def test_bad_input(func, args, kwargs, exc, phrase, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    assert phrase in str(info.value)


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def _header_only_npy(path, shape, dtype="<f8"):
    """A .npy file whose header claims ``shape`` but that holds 8 bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 8)


def test_npy_header_claiming_1e11_elements_is_refused_before_loading(tmp_path):
    p = tmp_path / "huge.npy"
    _header_only_npy(p, (10 ** 11,))
    t = time.monotonic()
    rc, out, err = run(["compare", "--input", str(p), "--formats", "int8"])
    assert rc == 2 and out == "" and time.monotonic() - t < 30
    assert "header claims shape (100000000000,) of float64 (800000000000 bytes) but the file " \
           "holds 8 bytes of data" in err
    assert err.count("\n") == 1


def test_npy_within_file_size_but_above_max_bytes(tmp_path):
    p = tmp_path / "big.npy"
    np.save(p, np.zeros(1000))
    rc, out, err = run(["compare", "--input", str(p), "--formats", "int8", "--max-bytes", "10000"])
    assert rc == 2 and "needs about 48000 bytes of working memory, above --max-bytes=10000" in err
    rc, out, err = run(["compare", "--input", str(p), "--formats", "int8", "--max-bytes", "48000"])
    assert rc == 0


def test_npz_member_header_is_checked(tmp_path):
    import zipfile
    inner = tmp_path / "x.npy"
    _header_only_npy(inner, (10 ** 11,))
    p = tmp_path / "w.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.write(inner, "x.npy")
    rc, out, err = run(["compare", "--input", str(p), "--formats", "int8"])
    assert rc == 2 and "member 'x.npy'" in err and "800000000000 bytes" in err


@pytest.mark.parametrize("content, phrase", [
    (b"not an array at all", "not a .npy or .npz file"),
    (b"\x93NUMPY\x09\x00garbage", "not a valid .npy file"),
    (b"PK\x03\x04broken zip", "not a valid .npz file"),
])
def test_malformed_input_files(tmp_path, content, phrase):
    p = tmp_path / "bad.npy"
    p.write_bytes(content)
    rc, out, err = run(["compare", "--input", str(p), "--formats", "int8"])
    assert rc == 2 and phrase in err and "Traceback" not in err and err.count("\n") == 1


def test_object_npy_is_refused(tmp_path):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([1, "a"], dtype=object), allow_pickle=True)
    rc, out, err = run(["compare", "--input", str(p)])
    assert rc == 2 and "holds Python objects" in err


def test_directory_as_input(tmp_path):
    rc, out, err = run(["compare", "--input", str(tmp_path)])
    assert rc == 2 and "not a file" in err


def test_systolic_huge_layer_returns_at_once(tmp_path):
    # 10^12 MACs, 10^8 folds on a 1 x 1 array: the analytical model is constant time
    csv = tmp_path / "big.csv"
    csv.write_text("big, 10000, 10000, 10000,\n")
    t = time.monotonic()
    rc, out, err = run(["systolic", "--rows", "1", "--cols", "1", "--layers", str(csv),
                        "--no-progress"])
    assert rc == 0 and time.monotonic() - t < 30
    assert out.splitlines()[-1].startswith("big, 10000, 10000, 10000, 1000100000000, "
                                           "1000000000000, ")
    # the same layer cycle-accurately is refused with the estimate
    rc, out, err = run(["systolic", "--rows", "1", "--cols", "1", "--layers", str(csv),
                        "--simulate", "--no-progress"])
    assert rc == 2 and "layer 'big'" in err and "--max-bytes" in err


def test_systolic_huge_gemm_is_refused_before_allocating():
    t = time.monotonic()
    rc, out, err = run(["systolic", "--gemm", "1000000", "1000000", "1000000"])
    assert rc == 2 and time.monotonic() - t < 30
    assert ("--gemm 1000000 1000000 1000000 needs about 81.9 TiB (90000000000000 bytes), "
            "above max_bytes=4294967296;") in err
    assert "pass a larger max_bytes (--max-bytes)" in err
    # 10^6 folds of 1003 cycles on a 1 x 1 array: 1.1e11 PE-cycle units (~9 minutes)
    t = time.monotonic()
    rc, out, err = run(["systolic", "--gemm", "1000", "1000", "1000", "--rows", "1", "--cols",
                        "1"])
    assert rc == 2 and time.monotonic() - t < 30
    assert "takes 1001000000 cycles in 1000000 folds on the 1x1 array" in err
    assert "above max_work=1e+10" in err and "(--max-work)" in err
