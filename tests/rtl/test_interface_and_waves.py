"""A bench pointed at a module with the wrong interface fails at start listing every
missing or mismatched port and parameter; the model's VCD lines up with the RTL's own
dump signal for signal, cycle for cycle."""
import numpy as np
import pytest

from rtlkit import needs_sim
from refquant.hw import array_schedule, run_bench, write_gtkw, write_model_vcd
from refquant.sim import SystolicArray
from vcdread import read_vcd, value_at

pytestmark = needs_sim

WRONG = """`timescale 1ns/1ps
module my_array #(parameter R = 2, parameter C = 3, parameter A_W = 8, parameter B_W = 8,
                  parameter ACC_W = 24, parameter SIGNED = 1, parameter SATURATE = 0) (
    input wire clk, input wire rst, input wire start, input wire drain,
    input wire [R*A_W-1:0] act_in, input wire [R-1:0] a_valid,
    input wire [C*B_W-1:0] b_in, input wire [C-1:0] b_valid,
    output wire [C*16-1:0] out_data, output wire [C-1:0] out_valid);
    assign out_data = 0;
    assign out_valid = 0;
endmodule
"""


def test_wrong_interface_fails_at_start_with_the_list(tmp_path, build_root):
    src = tmp_path / "my_array.v"
    src.write_text(WRONG)
    sa = SystolicArray(2, 3, "os", acc_bits=32)
    A, B = np.ones((2, 2), int), np.ones((2, 3), int)
    r = run_bench("os_array", [(A, B)], array=sa, sources=[src], toplevel="my_array",
                  build_dir=build_root)
    assert not r.passed
    assert r.cycle is None                       # failed before the first cycle
    assert "does not match the os_array interface" in r.message
    assert "parameter ACC_W = 24, expected 32" in r.message
    assert "port a_in missing (expected 16 bits)" in r.message
    assert "port out_data is 48 bits wide, expected 96" in r.message
    # with the port renamed the a_in complaint goes; the others stay
    r2 = run_bench("os_array", [(A, B)], array=sa, sources=[src], toplevel="my_array",
                   build_dir=build_root, port_map={"a_in": "act_in"})
    assert "a_in" not in r2.message and "ACC_W" in r2.message


@pytest.mark.parametrize("df", ["os", "ws"])
def test_model_vcd_lines_up_with_rtl_dump(df, build_root, tmp_path):
    sa = SystolicArray(2, 3, df, acc_bits=16)
    rng = np.random.default_rng(3)
    A, B = rng.integers(-128, 128, (3, 4)), rng.integers(-128, 128, (4, 5))
    r = run_bench(f"{df}_array", [(A, B)], array=sa, build_dir=build_root, waves=True)
    assert r.passed, r.message
    s = array_schedule(sa, A, B)
    t0 = int(r.cases[0]["t0_ns"])
    names = write_model_vcd(tmp_path / "model.vcd", s, offset=t0 * 1000, period=10000,
                            timescale="1ps")
    rtl, model = read_vcd(r.waves), read_vcd(tmp_path / "model.vcd")
    assert set(model) == set(names)
    checked = 0
    for name in names[1:]:                     # every signal but clk
        assert name in rtl, f"{name} is not in the RTL's dump"
        for t in range(s.cycles):
            when = t0 * 1000 + t * 10000 + 1000
            assert value_at(model[name], when) == value_at(rtl[name], when), (name, t)
            checked += 1
    assert checked == (len(names) - 1) * s.cycles
    write_gtkw(tmp_path / "view.gtkw", df, 2, 3, {"a_bits": 8, "b_bits": 8, "acc_bits": 16})
    shown = [ln for ln in (tmp_path / "view.gtkw").read_text().splitlines()
             if ln.startswith(f"{df}_array.g_row")]
    # the save file names the dumps' own signals (GTKWave adds the bit range to vectors)
    plain = {n.rsplit("[", 1)[0] if n.endswith(":0]") else n for n in shown}
    assert plain <= set(names)
    assert len(shown) == 6 * (6 if df == "os" else 5)
