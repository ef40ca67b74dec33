"""refquant.hw without a simulator: the schedule agrees with the simulator, the
scoreboards name the first bad cycle, the interface check lists every problem, the
vectors command writes what it promises, and nothing imports cocotb."""
import json
import subprocess
import sys

import numpy as np
import pytest

from refquant.cli import main
from refquant.hw import (ArrayScoreboard, Mismatch, StreamScoreboard, array_schedule,
                         check_interface, pack_lanes, unpack_lanes, write_vectors)
from refquant.sim import SystolicArray


def test_import_does_not_load_cocotb():
    code = "import sys, refquant.hw; print('cocotb' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True).stdout.strip() == "False"


@pytest.mark.parametrize("width", [1, 5, 8, 32, 62])
def test_pack_unpack_round_trip(width, rng):
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    v = rng.integers(lo, hi, (7, 5), endpoint=True)
    assert np.array_equal(unpack_lanes(pack_lanes(v, width), 5, width, width > 1), v if width > 1 else v & 1)


@pytest.mark.parametrize("df", ["os", "ws"])
def test_schedule_outputs_are_the_product(df, rng):
    sa = SystolicArray(3, 2, df, acc_bits=20)
    A, B = rng.integers(-128, 128, (5, 7)), rng.integers(-128, 128, (7, 3))
    s = array_schedule(sa, A, B)
    assert s.cycles == sa.cycle_model(5, 3, 7)
    # the last value seen for each (m, n) in the output lanes is out[m, n]
    got = np.full((5, 3), np.iinfo(np.int64).min)
    data = unpack_lanes(s.out_data, 2, 20, True)
    for t in range(s.cycles + 1):
        for j in range(2):
            if s.out_valid[t] >> j & 1:
                m, n = s.out_index[t, j]
                got[m, n] = data[t, j]
    assert np.array_equal(got, s.result.output)


def test_array_scoreboard_names_cycle_pe_and_values(rng):
    sa = SystolicArray(2, 2, "os", acc_bits=16)
    s = array_schedule(sa, rng.integers(-9, 9, (2, 3)), rng.integers(-9, 9, (3, 2)))
    sb = ArrayScoreboard(s)
    obs = {p: s.registers[p][4] for p in ("tr_a", "tr_b", "tr_acc")}
    sb.check_registers(4, obs)
    acc = unpack_lanes([obs["tr_acc"]], 4, 16, True)[0]
    acc[3] += 1
    obs["tr_acc"] = pack_lanes(acc[None, :], 16)[0]
    with pytest.raises(Mismatch, match=rf"cycle 4: PE \(1, 1\) register acc \(tr_acc, trace plane "
                                       rf"'acc'\): RTL {acc[3]}, model {acc[3] - 1}") as e:
        sb.check_registers(4, obs)
    assert e.value.cycle == 4
    with pytest.raises(Mismatch, match="X/Z"):
        sb.check_registers(4, {**obs, "tr_acc": None})
    t = next(t for t in range(s.cycles + 1) if s.out_valid[t])
    with pytest.raises(Mismatch, match=rf"cycle {t}: out_valid\[\d\]: RTL 0, model 1"):
        sb.check_outputs(t, 0, 0)


def test_stream_scoreboard():
    sb = StreamScoreboard([1, 2], ["x=a", "x=b"], 8)
    sb.check(3, 1)
    with pytest.raises(Mismatch, match="cycle 4: output 1 for input x=b: RTL 0x03, model 0x02"):
        sb.check(4, 3)


def test_interface_check_lists_every_problem():
    p = {"R": 2, "C": 2, "A_W": 8, "B_W": 8, "ACC_W": 32, "SIGNED": 1, "SATURATE": 0}
    ports = {"clk": 1, "rst": 1, "start": 1, "drain": 1, "a_in": 16, "a_valid": 2,
             "b_in": 16, "b_valid": 2, "out_data": 64, "out_valid": 2}
    params = dict(p)
    assert check_interface("os_array", p, ports, params) == []    # tr_* ports are optional
    bad = check_interface("os_array", p, {**ports, "out_data": 32, "tr_acc": 3},
                          {**params, "C": 3})
    assert bad == ["parameter C = 3, expected 2", "port out_data is 32 bits wide, expected 64",
                   "port tr_acc is 3 bits wide, expected 128"]
    del ports["drain"]
    assert check_interface("os_array", p, ports, params) == ["port drain missing (expected 1 bit)"]


def test_vectors_usage_errors(tmp_path, capsys):
    assert main(["vectors", "--op", "transpose", "--out", str(tmp_path)]) == 2
    assert main(["vectors", "--op", "encode", "--format", "e4m4q", "--out", str(tmp_path)]) == 2
    assert main(["vectors", "--op", "encode", "--out", str(tmp_path)]) == 2
    assert main(["vectors", "--op", "decode", "--format", "e5m2", "--overflow", "inf",
                 "--out", str(tmp_path)]) == 2
    assert main(["vectors", "--op", "gemm", "--overflow", "raise", "--out", str(tmp_path)]) == 2
    assert main(["vectors", "--op", "encode", "--format", "mxfp4", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("refquant vectors: error:") == 6


def test_vectors_files_and_json(tmp_path, capsys):
    assert main(["vectors", "--op", "decode", "--format", "e4m3fn", "--out", str(tmp_path),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["manifest"]["count"] == 256 and doc["bench"] is None
    codes = [int(v, 16) for v in (tmp_path / "codes.hex").read_text().split()]
    vals = np.array([int(v, 16) for v in (tmp_path / "expected.hex").read_text().split()],
                    dtype=np.uint64).view(np.float64)
    assert codes == list(range(256))
    assert vals[0x38] == 1.0 and vals[0x7E] == 448.0 and np.isnan(vals[0x7F])
    m = write_vectors(tmp_path / "g", "gemm", array=SystolicArray(2, 2, "ws"), M=3, N=3, K=3)
    assert m["outputs"] == 9 * 2          # two K-folds: partial sums leave the array too
    with pytest.raises(ValueError, match="op='nope' unknown"):
        write_vectors(tmp_path, "nope")


def test_run_bench_refuses_bad_arguments_before_simulating():
    from refquant.hw import run_bench
    sa = SystolicArray(2, 2, "os")
    with pytest.raises(ValueError, match="design='mac' unknown"):
        run_bench("mac", [])
    with pytest.raises(ValueError, match="simulator='xsim' unknown; allowed: 'icarus'"):
        run_bench("os_array", [], array=sa, simulator="xsim")
    with pytest.raises(ValueError, match="needs array="):
        run_bench("os_array", [])
    with pytest.raises(ValueError, match="dataflow='ws', got 'os'"):
        run_bench("ws_array", [], array=sa)
    with pytest.raises(ValueError, match="overflow 'wrap' or 'saturate'"):
        run_bench("os_array", [], array=SystolicArray(2, 2, "os", overflow="raise"))


def test_systolic_vcd_uses_the_rtl_layout(tmp_path):
    vcd = tmp_path / "run.vcd"
    assert main(["systolic", "--rows", "2", "--cols", "3", "--acc-bits", "20", "--gemm", "3", "4",
                 "5", "--vcd", str(vcd)]) == 0
    text = vcd.read_text()
    for line in ("$scope module os_array $end", "$scope begin g_row[1] $end",
                 "$scope begin g_col[2] $end", "$scope module u_pe $end"):
        assert line in text
    decl = [ln.split() for ln in text.splitlines() if ln.startswith("$var")]
    widths = {d[4]: int(d[2]) for d in decl}
    assert widths["acc"] == 20 and widths["a"] == 8 and widths["b"] == 8
    assert widths["acc_v"] == 1 and widths["drain"] == 1 and widths["out_valid"] == 3
    assert sum(1 for d in decl if d[4] == "acc") == 6      # one per PE
