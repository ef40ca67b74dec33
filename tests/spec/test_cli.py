"""The `refquant` command: exact figures on tiny inputs whose errors are worked out by hand."""
import io
import json
import math

import numpy as np
import pytest

import refquant
from refquant import cli


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def run_json(argv):
    rc, out, err = run(argv + ["--json"])
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture
def npy(tmp_path):
    def write(name, values):
        p = tmp_path / f"{name}.npy"
        np.save(p, np.asarray(values, dtype=np.float64))
        return str(p)
    return write


def test_int8_per_tensor_exact(npy):
    # amax = 127 -> scale 1 exactly; 0.5 -> 0 (tie to even), 1.25 -> 1, -3.75 -> -4.
    p = npy("a", [127, -127, 0.5, 1.25, -3.75, 0])
    doc = run_json(["compare", "--input", p, "--formats", "int8"])
    (r,) = doc["results"]
    sum_x2 = 2 * 127**2 + 0.25 + 1.5625 + 14.0625
    sum_e2 = 0.25 + 0.0625 + 0.0625
    assert r == {
        "tensor": "a", "format": "int8", "bits": 8,
        "bits_per_element": 8 + 32 / 6,
        "sqnr_db": 10 * math.log10(sum_x2 / sum_e2),
        "mse": sum_e2 / 6, "max_abs_error": 0.5, "clipped_pct": 0.0, "error": None}
    assert doc["tensors"] == [{"name": "a", "shape": [6], "dtype": "float64"}]
    assert doc["settings"]["formats"] == ["int8"]
    assert doc["settings"]["granularity"] == "tensor"


def test_int8_table_text(npy):
    p = npy("a", [127, -127, 0.5, 1.25, -3.75, 0])
    rc, out, err = run(["compare", "--input", p, "--formats", "int8"])
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "# refquant compare: granularity=tensor calibration=minmax"
    assert lines[1].split() == ["tensor", "format", "bits/elem", "SQNR", "dB", "MSE",
                                "max|err|", "clipped", "%"]
    # SQNR = 10 log10(32273.875 / 0.375) = 49.348 dB; MSE = 0.375 / 6
    assert lines[3].split() == ["a", "int8", "13.3333", "49.35", "6.2500e-02", "5.0000e-01",
                                "0.000"]
    assert len(lines) == 4


def test_int4_percentile_clipping(npy):
    # |x| = 1 2 7 7 14 14: the 50th percentile (linear interpolation) is 7 -> scale 1.
    # 14 saturates to 7 (error 7) and -14 to -8 (error 6): 2 of 6 elements clipped.
    p = npy("c", [1, -2, 7, -7, 14, -14])
    doc = run_json(["compare", "--input", p, "--formats", "int4",
                    "--calibration", "percentile", "--percentile", "50"])
    (r,) = doc["results"]
    assert r["mse"] == (49 + 36) / 6
    assert r["max_abs_error"] == 7.0
    assert r["clipped_pct"] == 100 * 2 / 6
    assert r["bits_per_element"] == 4 + 32 / 6
    assert r["sqnr_db"] == 10 * math.log10((1 + 4 + 49 + 49 + 196 + 196) / 85)
    assert doc["settings"]["percentile"] == 50.0


def test_int4_ties_to_even(npy):
    p = npy("t", [7, -7, 0.5, 1.5, -2.5, 3.25])  # scale 1: 0, 2, -2, 3
    (r,) = run_json(["compare", "--input", p, "--formats", "int4"])["results"]
    assert r["mse"] == (0.25 * 3 + 0.0625) / 6
    assert r["max_abs_error"] == 0.5
    assert r["clipped_pct"] == 0.0


def test_per_axis_counts_one_scale_per_channel(npy):
    # row scales 1 and 2; -3 / 2 = -1.5 -> -2 -> -4 (error 1); 0.5 -> 0 (error 0.5)
    p = npy("m", [[127, 0.5], [254, -3]])
    (r,) = run_json(["compare", "--input", p, "--formats", "int8",
                     "--granularity", "axis"])["results"]
    assert r["bits_per_element"] == 8 + 2 * 32 / 4
    assert r["mse"] == (0.25 + 1) / 4
    assert r["max_abs_error"] == 1.0


def test_per_block_overhead(npy):
    # 2 x 5 with blocks of 2 along the last axis: 2 x 3 scales
    p = npy("b", np.arange(10.0).reshape(2, 5))
    (r,) = run_json(["compare", "--input", p, "--formats", "int8", "--granularity", "block",
                     "--block-size", "2"])["results"]
    assert r["bits_per_element"] == 8 + 6 * 32 / 10
    doc = run_json(["compare", "--input", p, "--formats", "int8", "--granularity", "block",
                    "--block-size", "2"])
    assert doc["settings"]["block_size"] == 2


def test_asymmetric_counts_zero_points(npy):
    # lo = -10, hi = 245: scale 1, zero point 10; 2.5 -> code 12.5 -> 12 (even) -> 2
    p = npy("u", [-10, 0, 245, 2.5])
    (r,) = run_json(["compare", "--input", p, "--formats", "uint8"])["results"]
    assert r["bits_per_element"] == 8 + (32 + 8) / 4
    assert r["mse"] == 0.25 / 4
    assert r["clipped_pct"] == 0.0


def test_minmax_never_counts_clipping():
    # float32 scales may put the block maximum a hair above the top code; rounding still
    # lands on the top code, so the element is not counted as clipped
    for gran in (["--granularity", "block"], ["--granularity", "axis"], []):
        doc = run_json(["compare", "--tensors", "gaussian,silero_vad_conv2", "--formats",
                        "int8,int4,uint4"] + gran)
        assert [r["clipped_pct"] for r in doc["results"]] == [0.0] * 6


def test_exact_input_has_infinite_sqnr(npy):
    p = npy("z", [1, -2, 3, 127])
    (r,) = run_json(["compare", "--input", p, "--formats", "int8"])["results"]
    assert r["sqnr_db"] is None and r["mse"] == 0.0  # +inf is written as null in JSON
    rc, out, _ = run(["compare", "--input", p, "--formats", "int8"])
    assert out.splitlines()[3].split()[3] == "inf"


def test_json_structure_on_default_data():
    doc = run_json(["compare", "--formats", "int8,int4", "--tensors", "gaussian,silero_vad_lstm_ih"])
    assert doc["command"] == "compare"
    assert [t["name"] for t in doc["tensors"]] == ["gaussian", "silero_vad_lstm_ih"]
    assert doc["tensors"][1] == {"name": "silero_vad_lstm_ih", "shape": [512, 128],
                                 "dtype": "float32"}
    assert [(r["tensor"], r["format"]) for r in doc["results"]] == [
        ("gaussian", "int8"), ("gaussian", "int4"),
        ("silero_vad_lstm_ih", "int8"), ("silero_vad_lstm_ih", "int4")]
    keys = {"tensor", "format", "bits", "bits_per_element", "sqnr_db", "mse",
            "max_abs_error", "clipped_pct", "error"}
    for r in doc["results"]:
        assert set(r) == keys and r["error"] is None
    g8, g4 = doc["results"][0], doc["results"][1]
    assert g8["bits_per_element"] == 8 + 32 / (512 * 128)
    assert g8["sqnr_db"] > g4["sqnr_db"] + 20  # ~6 dB per bit


def test_figures_match_direct_quantize():
    x = refquant.data.load("silero_vad_conv2")
    (r,) = run_json(["compare", "--tensors", "silero_vad_conv2", "--formats", "int8",
                     "--granularity", "axis"])["results"]
    xh = refquant.quantize(x, "int8", granularity="axis", axis=0).dequantize()
    e = xh - x.astype(np.float64)
    assert r["mse"] == float(np.sum(e * e)) / x.size
    assert r["max_abs_error"] == float(np.max(np.abs(e)))


def test_bits_selects_registered_widths(npy):
    doc = run_json(["compare", "--bits", "8", "--input", npy("v", [1.0, 2.0, 0.5])])
    names = doc["settings"]["formats"]
    assert "int8" in names and "uint8" in names
    assert all(refquant.format(n).bits == 8 for n in names)
    assert set(names) == {n for n in refquant.format_names() if refquant.format(n).bits == 8}


def test_default_formats_cross_family():
    names = cli.default_formats()
    assert "int4" in names and "int8" in names
    assert "uint8" not in names  # one per family and width, signed preferred
    fams = [(refquant.format(n).bits, type(refquant.format(n)).__name__) for n in names]
    assert len(fams) == len(set(fams)) and all(b in (4, 8) for b, _ in fams)


def test_errors_reported_in_row_exit_1(npy, tmp_path):
    p_nan = npy("n", [1.0, np.nan])
    p0 = tmp_path / "s.npy"
    np.save(p0, np.float64(3.0))  # 0-d: axis granularity is impossible
    rc, out, err = run(["compare", "--input", p_nan, "--input", str(p0), "--formats", "int8",
                        "--granularity", "axis"])
    assert rc == 1 and err == "refquant compare: 2 of 2 rows failed\n"
    lines = out.splitlines()[3:]
    assert lines[0].startswith("n  int8  error: ValueError: x contains NaN or inf")
    assert lines[1].startswith("s  int8  error: ValueError: granularity='axis' needs an array")
    rc, out, err = run(["compare", "--input", p_nan, "--formats", "int8", "--json"])
    assert rc == 1
    (r,) = json.loads(out)["results"]
    assert r["error"].startswith("ValueError: x contains NaN") and r["sqnr_db"] is None


def test_unknown_format_message():
    rc, out, err = run(["compare", "--formats", "int8,nosuchfmt"])
    assert rc == 2 and out == ""
    assert err.startswith("refquant compare: error: unknown format 'nosuchfmt'; known names:")
    assert "int8" in err


@pytest.mark.parametrize("argv, msg", [
    (["--calibration", "bogus"], "--calibration='bogus'; allowed: minmax, percentile"),
    (["--granularity", "block", "--block-size", "0"], "--block-size=0; allowed: an integer >= 1"),
    (["--input", "/nonexistent/x.npy"], "--input '/nonexistent/x.npy': no such file"),
    (["--tensors", "nope"], "name='nope' unknown; allowed: silero_vad_lstm_ih"),
    (["--percentile", "50"], "--percentile applies to --calibration percentile only"),
    (["--bits", "3", "--formats", "int8"], "no format selected"),
])
def test_bad_arguments(argv, msg):
    rc, out, err = run(["compare"] + argv)
    assert rc == 2 and out == ""
    assert msg in err


def test_formats_lists_int8():
    rc, out, err = run(["formats"])
    assert rc == 0
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines()[2:-1]}
    assert rows["int8"] == ["int8", "IntFormat", "8", "-128", "127"]
    assert rows["uint4"] == ["uint4", "IntFormat", "4", "0", "15"]
    assert rows["e4m3fn"][3:] == ["-448", "448"]
    assert rows["mxint8"][4] == "1.984375"          # seven significant digits
    assert rows["fp32"][3:] == ["-3.402823e+38", "3.402823e+38"]
    assert set(rows) == set(refquant.format_names())
    doc = run_json(["formats"])
    d = {e["name"]: e for e in doc["formats"]}
    assert d["int8"] == {"name": "int8", "family": "IntFormat", "bits": 8,
                         "min_value": -128.0, "max_value": 127.0, "error": None}
    assert d["int32"]["max_value"] == 2**31 - 1


def test_npz_input(tmp_path):
    p = tmp_path / "w.npz"
    np.savez(p, a=np.array([127.0, 1.0]), b=np.array([[-127.0, 63.0]]))
    doc = run_json(["compare", "--input", str(p), "--formats", "int8"])
    assert [t["name"] for t in doc["tensors"]] == ["w:a", "w:b"]
    assert [r["mse"] for r in doc["results"]] == [0.0, 0.0]


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_only():
    tty = _Terminal()
    bar = cli.Progress(2, stream=tty, enabled=True, delay=0.0)
    assert bar.drawing
    bar.step("a")
    bar.step("b")
    bar.close()
    assert "/2 [" in tty.getvalue()                 # tqdm's bar of 2 steps
    assert tty.getvalue().endswith("\r")             # removed on close
    for stream, kw in ((io.StringIO(), {}), (_Terminal(), {"enabled": False})):
        quiet = cli.Progress(3, stream=stream, delay=0.0, **kw)
        assert not quiet.drawing
        quiet.step("x")
        quiet.close()
        assert stream.getvalue() == ""
    forced = io.StringIO()
    bar = cli.Progress(1, stream=forced, delay=0.0, force=True)
    bar.step("x")
    bar.close()
    assert "/1 [" in forced.getvalue()


def test_progress_never_on_captured_stderr(npy):
    p = npy("a", [1.0, 2.0])
    rc, out, err = run(["compare", "--input", p, "--formats", "int8", "--progress", "always"])
    assert rc == 0 and err == ""  # quick work: the bar's delay is not reached


def test_weights_of_more_than_two_dims_are_seen_as_channels_by_fan_in():
    # a (64, 128, 3) conv weight: MX blocks of 32 run along the 384-long fan-in, so the
    # scale overhead is exactly 8 / 32 bit per element, and the figures equal those of
    # the explicit (64, 384) reshape
    from refquant.cli import compare_tensor
    w = refquant.data.load("silero_vad_conv2")
    assert w.shape == (64, 128, 3)
    row = compare_tensor(w, "mxfp4")
    assert row["bits_per_element"] == 4.25
    assert row == compare_tensor(w.reshape(64, 384), "mxfp4")
    per_channel = compare_tensor(w, "int8", granularity="axis")
    assert per_channel == compare_tensor(w.reshape(64, 384), "int8", granularity="axis")


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "refquant", "formats", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert any(e["name"] == "int8" for e in json.loads(r.stdout)["formats"])
    r = subprocess.run([sys.executable, "-m", "refquant", "nosuchcommand"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("refquant: error: ")


def test_one_parser_holds_every_command():
    ap = cli.build_parser()
    sub = next(a for a in ap._actions if a.dest == "command")
    assert tuple(sub.choices) == cli.COMMANDS
    assert cli.COMMANDS[:4] == ("compare", "formats", "systolic", "tensorcore")
    args = ap.parse_args(["tensorcore", "gemm", "--gpu", "H100"])
    assert args.command == "tensorcore" and args.cmd == "gemm" and callable(args.run)


def test_unrecognized_arguments_name_their_command():
    for argv in (["formats", "--bogus"], ["systolic", "--gemm", "1", "1", "1", "--bogus"],
                 ["tensorcore", "gemm", "--gpu", "H100", "--bogus"]):
        rc, out, err = run(argv)
        assert rc == 2 and err == (f"refquant {argv[0]}: error: unrecognized arguments: "
                                   f"--bogus (see refquant {argv[0]} --help)\n")
