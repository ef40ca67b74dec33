"""The ``refquant tensorcore`` entry point (refquant.sim.tensorcore_cli)."""
from pathlib import Path

import numpy as np
import pytest

from refquant.sim.tensorcore_cli import read_recorded, tensorcore_main

SUBSET = Path(__file__).resolve().parents[1] / "data" / "tensorcore" / "recorded_subset.npz"


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
    rc = tensorcore_main(["gemm", "--gpu", "H100", "--format", "e4m3", "-k", "128",
                          "-m", "4", "-n", "4"])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    ks = [int(line.split()[0]) for line in out[3:]]
    assert ks == [32, 128]


def test_bad_arguments():
    with pytest.raises(SystemExit):
        tensorcore_main(["gemm", "--gpu", "P100"])
    with pytest.raises(SystemExit):
        tensorcore_main(["gemm", "--gpu", "A100", "--format", "e4m3"])


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
    with pytest.raises(SystemExit, match="refquant tensorcore: missing .*c_A100_fp32.txt"):
        tensorcore_main(["replay", str(tmp_path), "--gpu", "A100", "--format", "fp16",
                         "--out", "fp16"])
