"""Exit status of every ``refquant`` subcommand: 0 done as asked, 1 ran and found
mismatches or failures, 2 usage or input error (one line "refquant CMD: error: ..." on
stderr). An option that does not apply to the chosen mode is a usage error."""
import io
import json
from pathlib import Path

import numpy as np
import pytest

from refquant import cli
from refquant.cli import _compare

SUBSET = Path(__file__).resolve().parents[1] / "data" / "tensorcore" / "recorded_subset.npz"


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def usage_error(argv, phrase):
    rc, out, err = run(argv)
    assert rc == 2, (rc, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"refquant {argv[0]}"), err
    assert ": error: " in err and phrase in err, err
    return err


@pytest.fixture
def npy(tmp_path):
    def write(name, values):
        p = tmp_path / f"{name}.npy"
        np.save(p, np.asarray(values, dtype=np.float64))
        return str(p)
    return write


# --------------------------------------------------------------------------- compare

def test_compare_ok_is_0(npy):
    rc, out, err = run(["compare", "--input", npy("a", [1.0, -2.0, 3.0]), "--formats", "int8"])
    assert rc == 0 and err == ""


def test_compare_failed_row_is_1(npy):
    p = npy("n", [1.0, np.nan])
    rc, out, err = run(["compare", "--input", p, "--input", npy("ok", [1.0, 2.0]),
                        "--formats", "int8"])
    assert rc == 1
    lines = out.splitlines()
    assert lines[3].startswith("n  int8  error: ValueError: x contains NaN or inf")
    assert lines[4].split()[:2] == ["ok", "int8"]
    assert err == "refquant compare: 1 of 2 rows failed\n"
    rc, out, err = run(["compare", "--input", p, "--formats", "int8", "--json"])
    assert rc == 1 and json.loads(out)["results"][0]["error"].startswith("ValueError")


class _FakeQT:
    """A quantization result whose dequantized tensor holds a NaN and an inf."""

    def __init__(self, x, fmt):
        self.fmt = fmt
        self.scale = np.float32(1.0)
        self.zero_point = np.zeros(())
        self.x = np.asarray(x, dtype=np.float64)

    def dequantize(self, dtype=np.float64):
        y = self.x.copy()
        y[0], y[1] = np.nan, np.inf
        return y


def test_compare_nonfinite_metric_is_a_failed_row(npy, monkeypatch):
    monkeypatch.setattr(_compare, "quantize", lambda x, fmt, **kw: _FakeQT(x, _compare._format(fmt)))
    p = npy("a", [1.0, 2.0, 3.0, 4.0])
    rc, out, err = run(["compare", "--input", p, "--formats", "int8"])
    assert rc == 1
    assert " nan" not in out and "nan " not in out
    assert out.splitlines()[3] == ("a  int8  error: non-finite result: the dequantized "
                                   "tensor holds 1 NaN and 1 inf of 4 values")
    rc, out, _ = run(["compare", "--input", p, "--formats", "int8", "--json"])
    (r,) = json.loads(out)["results"]
    assert rc == 1 and r["error"].startswith("non-finite result") and r["mse"] is None


def test_compare_row_check_unit():
    # +inf SQNR is the exact-result value, not a failure
    row = cli.compare_tensor(np.array([1.0, -2.0, 127.0]), "int8")
    assert row["sqnr_db"] == float("inf") and row["error"] is None


@pytest.mark.parametrize("argv, phrase", [
    (["--block-size", "16"], "--block-size applies to --granularity block only"),
    (["--granularity", "axis", "--block-size", "16"], "--block-size applies to --granularity block only"),
    (["--axis", "1"], "--axis applies to --granularity axis or block only"),
    (["--percentile", "50"], "--percentile applies to --calibration percentile only"),
    (["--formats", "int8,e4m3fn", "--asymmetric"],
     "--asymmetric applies to integer formats only; not to e4m3fn"),
    (["--formats", "mxfp4,int8", "--granularity", "axis"],
     "--granularity does not apply to the block formats mxfp4"),
    (["--formats", "nvfp4", "--calibration", "percentile"],
     "--calibration does not apply to the block formats nvfp4"),
    (["--calibration", "percentile", "--percentile", "0"], "--percentile=0.0 out of range"),
    (["--bits", "x"], "--bits"),
    (["--granularity", "axis", "--axis", "2"],
     "--axis=2 out of range for tensor 'a' of shape (2, 4); allowed -2..1"),
    (["--granularity", "rows"], "invalid choice: 'rows'"),
    (["--formats", ""], "--formats is empty"),
    (["--nosuchoption"], "unrecognized arguments: --nosuchoption"),
])
def test_compare_usage_errors_are_2(argv, phrase, npy):
    usage_error(["compare", "--input", npy("a", np.arange(8.0).reshape(2, 4))] + argv, phrase)


def test_compare_default_set_leaves_out_formats_an_option_does_not_apply_to():
    # the default set is a selection rule: formats the option cannot apply to are left
    # out and named, not run with the option ignored
    rc, out, err = run(["compare", "--tensors", "gaussian", "--asymmetric", "--json"])
    doc = json.loads(out)
    assert rc == 0
    assert all(_compare._format(r["format"]).is_integer for r in doc["results"])
    assert "e2m1" in doc["settings"]["left_out"]
    rc, out, err = run(["compare", "--tensors", "gaussian", "--granularity", "axis"])
    assert rc == 0
    assert out.splitlines()[1].startswith("# left out (block formats scale each block "
                                          "themselves): ")
    assert "mxfp4" in out.splitlines()[1] and " mxfp4 " not in out.split("\n", 4)[4]


def test_formats_exit_codes():
    assert run(["formats"])[0] == 0
    usage_error(["formats", "--bogus"], "unrecognized arguments")


def test_no_traceback_for_unknown_command():
    rc, out, err = run(["nosuchcommand"])
    assert rc == 2 and "Traceback" not in err and err.count("\n") == 1


# --------------------------------------------------------------------------- systolic

def test_systolic_gemm_ok_is_0():
    rc, out, err = run(["systolic", "--rows", "2", "--cols", "2", "--gemm", "3", "3", "3"])
    assert rc == 0 and "equals exact integer GEMM: True" in out


def test_systolic_wrapping_accumulator_is_not_a_failure():
    # a narrow WRAP accumulator overflows as asked: the run matches the accumulator rule
    rc, out, err = run(["systolic", "--rows", "2", "--cols", "2", "--acc-bits", "8",
                        "--gemm", "4", "4", "16", "--json"])
    rep = json.loads(out)
    assert rc == 0 and rep["equals_accumulator_rule"] is True
    assert rep["equals_exact_gemm"] is False


def test_systolic_raise_overflow_is_1():
    rc, out, err = run(["systolic", "--rows", "2", "--cols", "2", "--acc-bits", "8",
                        "--overflow", "raise", "--gemm", "4", "4", "16"])
    assert rc == 1 and err.startswith("refquant systolic: 8-bit accumulator overflow")


def test_systolic_layers_vcd_writes_one_file_per_layer(tmp_path):
    csv = tmp_path / "net.csv"
    csv.write_text("Layer, M, N, K,\nfc1, 3, 2, 2,\nfc 2/x, 2, 2, 3,\n")
    vcd = tmp_path / "run.vcd"
    rc, out, err = run(["systolic", "--rows", "2", "--cols", "2", "--layers", str(csv),
                        "--vcd", str(vcd), "--no-progress"])
    assert rc == 0, err
    assert not vcd.exists()
    assert sorted(p.name for p in tmp_path.glob("*.vcd")) == ["run_fc1.vcd", "run_fc_2_x.vcd"]
    assert "$enddefinitions $end" in (tmp_path / "run_fc1.vcd").read_text()
    assert "wrote run_fc1.vcd" not in out  # file names go to stderr, the table to stdout
    assert str(tmp_path / "run_fc1.vcd") in err


@pytest.mark.parametrize("argv, phrase", [
    (["--gemm", "2", "2", "2", "--simulate"], "--simulate applies to --layers only"),
    (["--gemm", "2", "2", "2", "--encoding", "binary"],
     "--encoding applies to --pe term_serial only"),
    (["--gemm", "2", "2", "2", "--dataflow", "ws", "--pe", "bit_serial", "--encoding", "naf"],
     "--encoding applies to --pe term_serial only"),
    (["--layers", "LAYERS", "--seed", "3"], "--seed applies to --gemm or --layers --simulate"),
    (["--layers", "LAYERS", "--dataflow", "ws", "--pe", "term_serial"],
     "--pe term_serial on --layers needs --simulate"),
    (["--layers", "/nonexistent/net.csv"], "--layers '/nonexistent/net.csv': no such file"),
    (["--layers", "BADLAYERS"], "layer line 2: non-numeric field"),
    (["--gemm", "0", "2", "2"], "--gemm M N K must be >= 1"),
    (["--rows", "0", "--gemm", "1", "1", "1"], "rows must be an int in [1, 4611686018427387904], got 0"),
    (["--gemm", "1000000", "1000000", "1000000"], "--max-bytes"),
    (["--gemm", "1", "2"], "expected 3 arguments"),
    (["--gemm", "2", "2", "2", "--vcd", "/nonexistent/dir/run.vcd"], "/nonexistent/dir/run.vcd"),
    (["--gemm", "2", "2", "2", "--vcd", "/tmp"], "--vcd '/tmp' is a folder"),
    (["--layers", "LAYERS", "--max-work", "5"], "--max-work applies to register-level runs"),
])
def test_systolic_usage_errors_are_2(argv, phrase, tmp_path):
    good = tmp_path / "net.csv"
    good.write_text("fc1, 3, 2, 2,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("fc1, 3, 2, 2,\nfc2, x, 2, 2,\n")
    argv = [str(good) if a == "LAYERS" else str(bad) if a == "BADLAYERS" else a for a in argv]
    usage_error(["systolic"] + argv, phrase)


# --------------------------------------------------------------------------- tensorcore

def _write_recording(folder, gpu, fmt, out, corrupt=None):
    z = np.load(SUBSET)
    a, b, c = (z[f"{gpu}/{fmt}/{x}"][:20] for x in "abc")
    d = z[f"{gpu}/{fmt}/d_{out}"][:20].copy()
    if corrupt is not None:
        d[corrupt] ^= 1
    folder.mkdir(parents=True, exist_ok=True)
    for name, words in ((f"a_{gpu}_{fmt}", a), (f"b_{gpu}_{fmt}", b)):
        (folder / f"{name}.txt").write_text(
            "\n".join(" ".join(f"{w:08x}" for w in r) for r in words) + "\n")
    (folder / f"c_{gpu}_fp32.txt").write_text("\n".join(f"{w:032b}" for w in c) + "\n")
    (folder / f"d_{gpu}_{out}.txt").write_text("\n".join(f"{w:032b}" for w in d) + "\n")


def test_tensorcore_replay_bundled_sample_is_0():
    rc, out, err = run(["tensorcore", "replay", "--gpu", "H100", "--format", "fp16",
                        "--out", "fp32"])
    assert rc == 0, err
    assert "250 of 250 rows bit-exact" in out


def test_tensorcore_replay_h100_e4m3_needs_no_extra_option(tmp_path):
    # the recordings of H100 fp8 with fp32 output ran WGMMA with C = 0: replay knows
    _write_recording(tmp_path, "H100", "E4M3", "fp32")
    rc, out, err = run(["tensorcore", "replay", str(tmp_path), "--gpu", "H100",
                        "--format", "e4m3fn", "--out", "fp32"])
    assert rc == 0, out + err
    assert "20 of 20 rows bit-exact" in out and "instruction wgmma, C = 0" in out


def test_tensorcore_replay_mismatch_is_1(tmp_path):
    _write_recording(tmp_path, "A100", "fp16", "fp16", corrupt=3)
    rc, out, err = run(["tensorcore", "replay", str(tmp_path), "--gpu", "A100",
                        "--format", "fp16", "--out", "fp16"])
    assert rc == 1 and "19 of 20 rows bit-exact" in out and "row 3:" in out


@pytest.mark.parametrize("argv, phrase", [
    (["replay", "/nonexistent/folder", "--gpu", "A100", "--format", "fp16"],
     "/nonexistent/folder: no such folder"),
    (["replay", "EMPTY", "--gpu", "A100", "--format", "fp16"], "missing"),
    (["replay", "BADFILE", "--gpu", "A100", "--format", "fp16", "--out", "fp16"],
     "a_A100_fp16.txt line 2"),
    (["replay", "--gpu", "A100", "--format", "e4m3"], "'e4m3' is ambiguous"),
    (["replay", "--gpu", "H100", "--format", "E4M3"], "use 'e4m3fn'"),
    (["replay", "--gpu", "A100", "--format", "fp16", "--instruction", "wgmma"],
     "--instruction applies to fp8 formats only"),
    (["replay", "--gpu", "L40S", "--format", "e4m3fn", "--out", "fp16"], "not recorded"),
    (["replay", "--gpu", "V100", "--format", "bf16"], "not supported by V100"),
    (["gemm", "--gpu", "H100", "--format", "e4m3"], "use 'e4m3fn'"),
    (["gemm", "--gpu", "A100", "--format", "e4m3fn"], "not supported by A100"),
    (["gemm", "--gpu", "P100"], "invalid choice: 'P100'"),
    (["gemm", "--gpu", "H100", "--format", "fp16", "--instruction", "wgmma"],
     "--instruction applies to fp8 formats only"),
    (["gemm", "--gpu", "H100", "-k", "0"], "-k=0 out of range"),
    (["gemm", "--gpu", "H100", "-m", "100000", "-n", "100000", "-k", "100000"], "--max-bytes"),
])
def test_tensorcore_usage_errors_are_2(argv, phrase, tmp_path):
    (tmp_path / "empty").mkdir()
    bad = tmp_path / "bad"
    _write_recording(bad, "A100", "fp16", "fp16")
    text = (bad / "a_A100_fp16.txt").read_text().splitlines()
    text[1] = "zz" + text[1][2:]
    (bad / "a_A100_fp16.txt").write_text("\n".join(text) + "\n")
    argv = [str(tmp_path / "empty") if a == "EMPTY" else str(bad) if a == "BADFILE" else a
            for a in argv]
    usage_error(["tensorcore"] + argv, phrase)


def test_tensorcore_gemm_ok_is_0():
    rc, out, err = run(["tensorcore", "gemm", "--gpu", "H100", "--format", "e4m3fn",
                        "-m", "2", "-n", "2", "-k", "64"])
    assert rc == 0 and err == ""


# --------------------------------------------------------------------- the bare command

def test_bare_help_and_version_exit_0():
    for argv in ([], ["--help"], ["-h"], ["--version"]):
        rc, out, err = run(argv)
        assert rc == 0 and out and err == "", argv


def test_unknown_command_and_top_level_option_are_usage_errors():
    rc, out, err = run(["nosuchcommand"])
    assert rc == 2 and err.startswith("refquant: error: ") and err.count("\n") == 1
    rc, out, err = run(["--bogus"])
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("refquant: error: unrecognized arguments: --bogus")


def test_tensorcore_json_exit_status_follows_the_rows(tmp_path):
    rc, out, err = run(["tensorcore", "replay", "--gpu", "H100", "--format", "fp16", "--json"])
    assert rc == 0 and json.loads(out)["bit_exact"] == 250
