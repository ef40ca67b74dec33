"""``refquant systolic`` (refquant.cli.main): printed figures."""
import io
import json

from refquant.sim import SystolicArray, scalesim_report
from refquant.cli import main, reference_gemm


def systolic_main(argv, **kw):
    return main(["systolic"] + argv, **kw)


def test_gemm_json_report():
    buf = io.StringIO()
    assert systolic_main(["--rows", "4", "--cols", "4", "--dataflow", "ws", "--gemm", "10", "6", "5",
                          "--json"], stdout=buf) == 0
    rep = json.loads(buf.getvalue())
    assert rep["equals_exact_gemm"] is True
    model = SystolicArray(4, 4, "ws").model(10, 6, 5)
    assert rep["stats"]["cycles"] == model["cycles"] == 76
    assert rep["stats"]["sram_reads"] == model["sram_reads"]
    assert rep["scalesim"]["compute_cycles"] == scalesim_report(10, 6, 5, 4, 4, "ws")["compute_cycles"] == 79


def test_layers_table_and_vcd(tmp_path):
    csv = tmp_path / "net.csv"
    csv.write_text("Layer, M, N, K,\nfc1, 6, 5, 7,\n")
    buf = io.StringIO()
    assert systolic_main(["--rows", "3", "--cols", "4", "--layers", str(csv), "--no-progress"],
                         stdout=buf) == 0
    last = buf.getvalue().strip().splitlines()[-1].split(", ")
    model = SystolicArray(3, 4).model(6, 5, 7)
    assert last[:6] == ["fc1", "6", "5", "7", str(model["cycles"]), str(6 * 5 * 7)]
    vcd = tmp_path / "run.vcd"
    assert systolic_main(["--rows", "2", "--cols", "2", "--gemm", "2", "2", "2", "--vcd", str(vcd)],
                         stdout=io.StringIO()) == 0
    assert "$enddefinitions $end" in vcd.read_text()
    assert systolic_main(["--rows", "0", "--gemm", "1", "1", "1"], stdout=io.StringIO()) == 2


def test_reference_gemm_accumulator_rules():
    import numpy as np
    rng = np.random.default_rng(1)
    A = rng.integers(-128, 128, (3, 9))
    B = rng.integers(-128, 128, (9, 4))
    exact = A @ B
    for bits in (6, 12, 20):
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        want = np.zeros((3, 4), np.int64)
        for i in range(3):
            for j in range(4):
                acc = 0
                for k in range(9):
                    acc = min(max(acc + int(A[i, k]) * int(B[k, j]), lo), hi)
                want[i, j] = acc
        sat, ex = reference_gemm(A, B, bits, "saturate")
        assert np.array_equal(sat, want) and np.array_equal(ex, exact)
        wrap, _ = reference_gemm(A, B, bits, "wrap")
        assert np.array_equal(wrap, ((exact - lo) % (1 << bits)) + lo)
        sim = SystolicArray(2, 3, "ws", acc_bits=bits, overflow="saturate").run(A, B).output
        assert np.array_equal(sim, want)
    # 32-bit operands: the exact product needs more than int64
    A = np.full((1, 4), -2**31, np.int64)
    B = np.full((4, 1), -2**31, np.int64)
    _, ex = reference_gemm(A, B, 62, "raise")
    assert ex[0, 0] == 4 * 2**62
