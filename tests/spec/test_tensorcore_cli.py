"""The ``refquant tensorcore`` command (refquant.cli)."""
from pathlib import Path

import numpy as np
import pytest

from refquant.cli import main, read_recorded

SUBSET = Path(__file__).resolve().parents[1] / "data" / "tensorcore" / "recorded_subset.npz"


def tensorcore_main(argv):
    return main(["tensorcore"] + argv)


def _write(tmp_path, gpu, fmt, out, corrupt=None):
    z = np.load(SUBSET)
    a, b, c = (z[f"{gpu}/{fmt}/{x}"][:40] for x in "abc")
    d = z[f"{gpu}/{fmt}/d_{out}"][:40].copy()
    if corrupt is not None:
        d[corrupt] ^= 1
    (tmp_path / f"a_{gpu}_{fmt}.txt").write_text(
        "\n".join(" ".join(f"{w:08x}" for w in r) for r in a) + "\n")
    (tmp_path / f"b_{gpu}_{fmt}.txt").write_text(
        "\n".join(" ".join(f"{w:08x}" for w in r) for r in b) + "\n")
    (tmp_path / f"c_{gpu}_fp32.txt").write_text("\n".join(f"{w:032b}" for w in c) + "\n")
    (tmp_path / f"d_{gpu}_{out}.txt").write_text("\n".join(f"{w:032b}" for w in d) + "\n")


def test_replay_reports_all_rows(tmp_path, capsys):
    _write(tmp_path, "A100", "fp16", "fp16")
    rc = tensorcore_main(["replay", str(tmp_path), "--gpu", "A100", "--format", "fp16",
                          "--out", "fp16"])
    assert rc == 0
    assert "40 of 40 rows bit-exact (100.00%)" in capsys.readouterr().out


def test_replay_names_mismatching_rows(tmp_path, capsys):
    _write(tmp_path, "B200", "E5M2", "fp32", corrupt=7)
    rc = tensorcore_main(["replay", str(tmp_path), "--gpu", "B200", "--format", "E5M2"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "39 of 40 rows bit-exact" in out and "row 7:" in out


def test_gemm_error_table(capsys):
    rc = tensorcore_main(["gemm", "--gpu", "H100", "--format", "e4m3fn", "-k", "128",
                          "-m", "4", "-n", "4"])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    ks = [int(line.split()[0]) for line in out[3:]]
    assert ks == [32, 128]


def test_bad_arguments(capsys):
    assert tensorcore_main(["gemm", "--gpu", "P100"]) == 2
    assert "invalid choice: 'P100'" in capsys.readouterr().err
    assert tensorcore_main(["gemm", "--gpu", "A100", "--format", "e4m3"]) == 2
    assert "'e4m3' is ambiguous" in capsys.readouterr().err
    assert tensorcore_main(["gemm", "--gpu", "A100", "--format", "e4m3fn"]) == 2
    assert "not supported by A100" in capsys.readouterr().err


def test_read_recorded_round_trips_the_words(tmp_path):
    _write(tmp_path, "H100", "bf16", "fp32")
    z = np.load(SUBSET)
    got = read_recorded(tmp_path, "H100", "bf16", "fp32")
    want = [z[f"H100/bf16/{x}"][:40] for x in ("a", "b", "c", "d_fp32")]
    for g, w in zip(got, want):
        assert g.dtype == np.uint32 and g.shape == w.shape
        assert np.array_equal(g, w)


def test_missing_recorded_file(tmp_path, capsys):
    _write(tmp_path, "A100", "fp16", "fp16")
    (tmp_path / "c_A100_fp32.txt").unlink()
    with pytest.raises(FileNotFoundError, match="c_A100_fp32.txt"):
        read_recorded(tmp_path, "A100", "fp16", "fp16")
    assert tensorcore_main(["replay", str(tmp_path), "--gpu", "A100", "--format", "fp16",
                            "--out", "fp16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("refquant tensorcore: error: missing ") and "c_A100_fp32.txt" in err


def test_replay_bundled_sample_every_case(capsys):
    # every recorded case of the sample bundled with the package replays bit for bit with
    # the default instruction and C (no option beyond --gpu, --format and --out)
    from refquant import data
    names = {"E4M3": "e4m3fn", "E5M2": "e5m2"}
    for gpu, fmt, out in data.tensorcore_recorded_cases():
        rc = tensorcore_main(["replay", "--gpu", gpu, "--format", names.get(fmt, fmt),
                              "--out", out])
        text = capsys.readouterr().out
        assert rc == 0 and "250 of 250 rows bit-exact (100.00%)" in text, text


def test_bundled_sample_equals_test_data():
    from refquant import data
    z = np.load(SUBSET)
    for gpu, fmt, out in data.tensorcore_recorded_cases():
        got = data.tensorcore_recorded(gpu, fmt, out)
        want = [z[f"{gpu}/{fmt}/{x}"] for x in ("a", "b", "c", f"d_{out}")]
        assert all(np.array_equal(g, w) and g.dtype == np.uint32 for g, w in zip(got, want))
    assert len(data.tensorcore_recorded_cases()) == 48
