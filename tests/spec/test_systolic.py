"""Specification of refquant.sim.SystolicArray: results, cycle counts, statistics,
overflow rules, traces, PE variants and SCALE-Sim figures."""
import importlib.util
import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from refquant.sim import SystolicArray, cycle_model, scalesim_report
from refquant.sim import conv_output_size, im2col, load_layers, term_counts

_spec = importlib.util.spec_from_file_location(
    "systolic_reference", Path(__file__).resolve().parents[1] / "reference" / "systolic.py")
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

DF = st.sampled_from(["os", "ws", "is"])
SMALL = st.integers(1, 5)
DIM = st.integers(1, 9)


def _rand(rng, shape, bits, signed=True):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return rng.integers(lo, hi, shape, endpoint=True)


@settings(max_examples=80)
@given(df=DF, R=SMALL, C=SMALL, M=DIM, N=DIM, K=DIM, seed=st.integers(0, 2**32 - 1),
       signed=st.booleans())
def test_result_cycles_and_stats_equal_exact_gemm_and_model(df, R, C, M, N, K, seed, signed):
    rng = np.random.default_rng(seed)
    A = _rand(rng, (M, K), 8, signed)
    B = _rand(rng, (K, N), 8, signed)
    sa = SystolicArray(R, C, df, signed=signed)
    r = sa.run(A, B)
    assert r.output.tolist() == (A.astype(object) @ B.astype(object)).tolist()
    model = sa.model(M, N, K)
    assert r.cycles == model["cycles"] == cycle_model(M, N, K, R, C, df)[0]
    assert [f["cycles"] for f in r.stats["per_fold"]] == model["per_fold_cycles"]
    for key in ("macs", "folds", "pe_cycles", "utilization", "mapping_efficiency",
                "busy_pe_cycles", "sram_reads", "sram_writes"):
        assert r.stats[key] == model[key], key
    starts = np.cumsum([0] + model["per_fold_cycles"][:-1]).tolist()
    assert [f["start"] for f in r.stats["per_fold"]] == starts


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("R,C", [(1, 6), (6, 1), (1, 1), (4, 3)])
def test_line_arrays_and_tiling(df, R, C, rng):
    A = _rand(rng, (11, 7), 8)
    B = _rand(rng, (7, 13), 8)
    r = SystolicArray(R, C, df).run(A, B)
    np.testing.assert_array_equal(r.output, A @ B)
    assert r.cycles == cycle_model(11, 13, 7, R, C, df)[0]


def test_worked_cycle_counts():
    # OS 4x4, M=N=K=8: 4 folds of K + 4 + 4 - 2 + 4 = 18 cycles.
    assert cycle_model(8, 8, 8, 4, 4, "os") == (72, [18] * 4)
    # WS 4x4, M=8, K=N=8: 4 folds of R + M + R + C - 2 = 4 + 14 = 18.
    assert cycle_model(8, 8, 8, 4, 4, "ws") == (72, [18] * 4)
    # IS 2x3, M=4, N=5, K=3: spatial K=3 (2 row folds), M=4 (2 col folds: 3, 1), T=N=5.
    # fold = R + N + R + cols - 2: 2 + 5 + 2 + 3 - 2 = 10 and 2 + 5 + 2 + 1 - 2 = 8.
    assert cycle_model(4, 5, 3, 2, 3, "is") == (36, [10, 10, 8, 8])
    # A 1x1 array is a single MAC unit: OS needs K + 1 cycles per output.
    assert cycle_model(3, 2, 5, 1, 1, "os")[0] == 6 * 6


@settings(max_examples=60)
@given(df=DF, R=SMALL, C=SMALL, M=DIM, N=DIM, K=st.integers(1, 12),
       acc_bits=st.integers(4, 16), seed=st.integers(0, 2**32 - 1))
def test_narrow_accumulator_wrap_and_saturate_follow_gemm_rule(df, R, C, M, N, K, acc_bits, seed):
    rng = np.random.default_rng(seed)
    A = _rand(rng, (M, K), 8)
    B = _rand(rng, (K, N), 8)
    for policy in ("wrap", "saturate"):
        r = SystolicArray(R, C, df, acc_bits=acc_bits, overflow=policy).run(A, B)
        assert r.output.tolist() == ref.gemm_rule(A.tolist(), B.tolist(), acc_bits, policy)
    bad = ref.first_overflow(A.tolist(), B.tolist(), acc_bits)
    sa = SystolicArray(R, C, df, acc_bits=acc_bits, overflow="raise")
    if bad:
        with pytest.raises(OverflowError) as info:
            sa.run(A, B)
        msg = str(info.value)
        assert any(f"output [{m}, {n}] at k={k}," in msg for m, n, k in bad), msg
    else:
        np.testing.assert_array_equal(sa.run(A, B).output, A @ B)


@settings(max_examples=40)
@given(df=DF, R=SMALL, C=SMALL, M=DIM, N=DIM, K=st.integers(1, 12),
       acc_bits=st.sampled_from([31, 32, 33, 40, 62]),
       policy=st.sampled_from(["wrap", "saturate"]), seed=st.integers(0, 2**32 - 1))
def test_register_plane_width_boundaries_follow_gemm_rule(df, R, C, M, N, K, acc_bits, policy, seed):
    # acc_bits <= 32 runs on int32 register planes, wider ones on int64: both overflow
    # exactly as the GEMM rule at their limits (16-bit products reach 2^30, 30-bit 2^58)
    bits = 16 if acc_bits <= 32 else 30
    rng = np.random.default_rng(seed)
    A = _rand(rng, (M, K), bits)
    B = _rand(rng, (K, N), bits)
    r = SystolicArray(R, C, df, a_bits=bits, b_bits=bits, acc_bits=acc_bits,
                      overflow=policy).run(A, B)
    assert r.output.tolist() == ref.gemm_rule(A.tolist(), B.tolist(), acc_bits, policy)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_int32_and_int64_register_planes_give_the_same_run(df, rng):
    A = _rand(rng, (7, 6), 8)
    B = _rand(rng, (6, 5), 8)
    narrow = SystolicArray(3, 2, df, acc_bits=32).run(A, B, trace=True)
    wide = SystolicArray(3, 2, df, acc_bits=33).run(A, B, trace=True)
    np.testing.assert_array_equal(narrow.output, A @ B)
    np.testing.assert_array_equal(wide.output, A @ B)
    assert narrow.stats == wide.stats
    for plane in narrow.trace:
        np.testing.assert_array_equal(narrow.trace[plane], wide.trace[plane])


def test_overflow_matches_intops_gemm(rng):
    intops = pytest.importorskip("refquant.intops")
    A = _rand(rng, (9, 40), 8)
    B = _rand(rng, (40, 7), 8)
    for df in ("os", "ws", "is"):
        for policy in ("wrap", "saturate"):
            r = SystolicArray(3, 4, df, acc_bits=12, overflow=policy).run(A, B)
            want = intops.gemm(A, B, acc_bits=12, overflow=policy)
            np.testing.assert_array_equal(r.output, want)
    # RAISE: a transient overflow (7 + 7 leaves 4 bits, the final 7 fits) raises here only
    A1, B1 = np.array([[7, 7, -7]]), np.array([[1], [1], [1]])
    assert intops.gemm(A1, B1, acc_bits=4, overflow="raise").tolist() == [[7]]
    with pytest.raises(OverflowError, match=r"output \[0, 0\] at k=1"):
        SystolicArray(2, 2, "ws", acc_bits=4, overflow="raise").run(A1, B1)


def test_saturation_order_is_ascending_k():
    # acc_bits = 4: range [-8, 7]. Products 7, 7, -7: ascending k gives 7 -> 7 -> 0;
    # any other order would differ (e.g. -7, 7, 7 -> -7, 0, 7).
    A = np.array([[7, 7, -7]])
    B = np.array([[1], [1], [1]])
    for df in ("os", "ws", "is"):
        for R in (1, 2, 3):
            r = SystolicArray(R, 2, df, acc_bits=4, overflow="saturate").run(A, B)
            assert r.output.tolist() == [[0]]
            r = SystolicArray(R, 2, df, acc_bits=4, overflow="wrap").run(A, B)
            assert r.output.tolist() == [[7]]   # 7, 14 -> -2, -9 -> 7: wrapping is order-free


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_trace_matches_closed_form_reference(df, rng):
    R, C, M, N, K = 3, 2, 4, 3, 5
    A = _rand(rng, (M, K), 4)
    B = _rand(rng, (K, N), 4)
    r = SystolicArray(R, C, df).run(A, B, trace=True)
    if df == "os":
        want = ref.os_trace(A.tolist(), B.tolist(), R, C)
        planes = ("a", "b", "acc")
    elif df == "ws":
        want = ref.ws_trace(A.tolist(), B.tolist(), R, C)
        planes = ("stationary", "stream", "psum")
    else:
        want = ref.ws_trace(B.T.tolist(), A.T.tolist(), R, C)
        planes = ("stationary", "stream", "psum")
    for p in planes:
        assert r.trace[p].shape == (r.cycles, R, C)
        assert r.trace[p].tolist() == want[p], p


def test_trace_worked_example_os_2x2():
    # A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]] on a 2x2 OS array: cycle 0 PE(0,0)
    # computes 1*5; cycle 1 PE(0,0) adds 2*7 and PE(0,1), PE(1,0) start; cycle 2 PE(1,1)
    # gets (3, 6) -> 18 and the last MAC 4*8 happens at cycle 3 (= K + R + C - 3).
    r = SystolicArray(2, 2, "os").run([[1, 2], [3, 4]], [[5, 6], [7, 8]], trace=True)
    acc = r.trace["acc"]
    assert acc[0].tolist() == [[5, 0], [0, 0]]
    assert acc[1].tolist() == [[19, 6], [15, 0]]
    assert acc[2].tolist() == [[19, 22], [43, 18]]
    assert acc[3].tolist() == [[19, 22], [43, 50]]
    assert acc[4].tolist() == [[0, 0], [19, 22]]   # drain: rows move down, row 1 left
    assert r.cycles == 6 and r.output.tolist() == [[19, 22], [43, 50]]


def test_term_counts_and_term_serial_cycles(rng):
    x = np.arange(-600, 600)
    assert term_counts(x, "naf").tolist() == [ref.naf_terms(v) for v in x]
    assert term_counts(x, "binary").tolist() == [bin(abs(int(v))).count("1") for v in x]
    assert term_counts(x, "bits", bits=11).tolist() == [11] * x.size
    M, N, K = 5, 6, 7
    A = _rand(rng, (M, K), 8)
    B = _rand(rng, (K, N), 8)
    B[0, :] = 0
    B[1, 0] = 64    # one term
    for df, R, C in (("ws", 3, 4), ("is", 2, 3), ("ws", 1, 1)):
        for enc in ("naf", "binary"):
            sa = SystolicArray(R, C, df, pe="term_serial", encoding=enc)
            r = sa.run(A, B)
            np.testing.assert_array_equal(r.output, A @ B)
            stat_op = B if df == "ws" else A.T
            nt = term_counts(stat_op, enc)
            temporal = M if df == "ws" else N
            # every valid MAC costs one PE-cycle per term of its stationary operand
            assert r.stats["busy_pe_cycles"] == temporal * int(nt.sum())
            beats = sa.beats(A, B)
            assert r.cycles == cycle_model(M, N, K, R, C, df, beats)[0]
            assert [f["beat"] for f in r.stats["per_fold"]] == beats
            if R == C == 1:
                # one weight per fold: fold = 1 (preload) + max(1, terms) * M cycles
                assert r.cycles == sum(1 + max(1, int(t)) * M for t in nt.T.reshape(-1))
    r = SystolicArray(2, 2, "ws", pe="bit_serial", b_bits=8).run(A, B)
    assert r.cycles == cycle_model(M, N, K, 2, 2, "ws", 8)[0]
    np.testing.assert_array_equal(r.output, A @ B)


def _random_column_combined(rng, N, K, alpha):
    """A valid packed form: channels split into groups of <= alpha; each filter keeps at
    most one channel per group."""
    perm = rng.permutation(K)
    groups = [perm[i:i + alpha] for i in range(0, K, alpha)]
    packed = np.zeros((N, len(groups)), np.int64)
    select = np.full((N, len(groups)), -1, np.int64)
    for n in range(N):
        for g, chans in enumerate(groups):
            if rng.random() < 0.8:
                select[n, g] = rng.choice(chans)
                packed[n, g] = rng.integers(-128, 128)
    return packed, select


@settings(max_examples=40)
@given(R=SMALL, C=SMALL, M=DIM, N=DIM, K=st.integers(1, 12), alpha=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_column_combined_equals_dense_gemm_of_pruned_matrix(R, C, M, N, K, alpha, seed):
    rng = np.random.default_rng(seed)
    A = _rand(rng, (M, K), 8)
    packed, select = _random_column_combined(rng, N, K, alpha)
    sa = SystolicArray(R, C, "ws")
    r = sa.run_column_combined(A, packed, select)
    W = np.array(ref.pruned_dense(packed.tolist(), select.tolist(), K)).reshape(N, K)
    np.testing.assert_array_equal(r.output, A @ W.T)
    G = packed.shape[1]
    assert r.cycles == cycle_model(M, N, G, R, C, "ws")[0]
    assert r.stats["macs"] == M * int((select >= 0).sum())


@settings(max_examples=30)
@given(R=SMALL, C=SMALL, M=st.integers(1, 5), N=st.integers(1, 5), K=st.integers(1, 12),
       alpha=st.integers(1, 4), acc_bits=st.integers(8, 18), seed=st.integers(0, 2**32 - 1))
def test_column_combined_narrow_accumulator_follows_group_order_rule(R, C, M, N, K, alpha,
                                                                      acc_bits, seed):
    # every output accumulates its cells' products in ascending group order
    rng = np.random.default_rng(seed)
    A = _rand(rng, (M, K), 8)
    packed, select = _random_column_combined(rng, N, K, alpha)
    terms = ref.column_combined_terms(A.tolist(), packed.tolist(), select.tolist())
    ones = [[1]] * packed.shape[1]
    for policy in ("wrap", "saturate"):
        r = SystolicArray(R, C, "ws", acc_bits=acc_bits, overflow=policy).run_column_combined(
            A, packed, select)
        want = [[ref.gemm_rule([terms[m][n]], ones, acc_bits, policy)[0][0] for n in range(N)]
                for m in range(M)]
        assert r.output.tolist() == want
    bad = [(m, n, k) for m in range(M) for n in range(N)
           for (_, _, k) in ref.first_overflow([terms[m][n]], ones, acc_bits)]
    sa = SystolicArray(R, C, "ws", acc_bits=acc_bits, overflow="raise")
    if bad:
        with pytest.raises(OverflowError) as info:
            sa.run_column_combined(A, packed, select)
        assert any(f"output [{m}, {n}] at k={k}," in str(info.value) for m, n, k in bad)
    else:
        assert sa.run_column_combined(A, packed, select).output.tolist() == \
            [[sum(t) for t in row] for row in terms]


def test_column_combined_alpha1_is_dense_ws(rng):
    A = _rand(rng, (6, 5), 8)
    B = _rand(rng, (5, 7), 8)
    sa = SystolicArray(2, 3, "ws")
    dense = sa.run(A, B, trace=True)
    cc = sa.run_column_combined(A, B.T, np.tile(np.arange(5), (7, 1)), trace=True)
    np.testing.assert_array_equal(cc.output, dense.output)
    assert cc.cycles == dense.cycles
    for key in ("macs", "sram_writes", "mapping_efficiency"):
        assert cc.stats[key] == dense.stats[key]
    np.testing.assert_array_equal(cc.trace["psum"], dense.trace["psum"])
    np.testing.assert_array_equal(cc.trace["stationary"], dense.trace["stationary"])


def test_column_combined_from_sparse_package(rng):
    sparse = pytest.importorskip("refquant.sparse")
    if not hasattr(sparse, "column_combine"):
        pytest.skip("refquant.sparse.column_combine not available")
    W = _rand(rng, (8, 12), 8) * (rng.random((8, 12)) < 0.3)
    cc = sparse.column_combine(W, 3, 0.5)
    A = _rand(rng, (5, 12), 8)
    r = SystolicArray(3, 4, "ws").run_column_combined(A, cc)
    Wp = np.array(ref.pruned_dense(np.asarray(cc.packed).tolist(), np.asarray(cc.select).tolist(), 12))
    np.testing.assert_array_equal(r.output, A @ Wp.T)


def test_conv_via_im2col(rng):
    x = _rand(rng, (2, 3, 6, 5), 8)
    w = _rand(rng, (4, 3, 3, 2), 8)
    for stride, pad in ((1, 0), (2, 1)):
        r = SystolicArray(4, 3, "ws").run_conv(x, w, stride=stride, padding=pad)
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        oh = (6 + 2 * pad - 3) // stride + 1
        ow = (5 + 2 * pad - 2) // stride + 1
        want = np.zeros((2, 4, oh, ow), np.int64)
        for n in range(2):
            for f in range(4):
                for i in range(oh):
                    for j in range(ow):
                        want[n, f, i, j] = (xp[n, :, i * stride:i * stride + 3,
                                               j * stride:j * stride + 2] * w[f]).sum()
        np.testing.assert_array_equal(r.output, want)
    cols, oh, ow = im2col(np.arange(16).reshape(1, 1, 4, 4), 2, 2, stride=2)
    assert (oh, ow) == (2, 2)
    assert cols.tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_scalesim_report_formulas():
    # OS 4x4, GEMM M=N=K=8: 4 folds of R + C + T - 2 = 14 cycles; 4 * 14 - 1 = 55.
    rep = scalesim_report(8, 8, 8, 4, 4, "os")
    assert rep["compute_cycles"] == 55 and rep["per_fold_cycles"] == 14 and rep["folds"] == 4
    assert rep["overall_util"] == pytest.approx(100 * 512 / (55 * 16))
    assert rep["mapping_efficiency"] == 100.0
    assert rep["compute_util"] == pytest.approx(100 * 16 * 8 / (16 * 14))
    assert rep["paper_compute_cycles"] == 4 * (8 + 4 + 8 - 2) - 1
    assert (rep["ifmap_sram_reads"], rep["filter_sram_reads"]) == (2 * 64, 2 * 64)
    assert rep["ofmap_sram_writes"] == 64 + 4 * 8
    # WS 4x4, M=10, N=6, K=5: Sr=K=5 -> 2 row folds (4, 1); Sc=N=6 -> 2 col folds (4, 2).
    rep = scalesim_report(10, 6, 5, 4, 4, "ws")
    assert rep["per_fold_cycles"] == 2 * 4 + 4 + 10 - 2 and rep["folds"] == 4
    assert rep["compute_cycles"] == 4 * 20 - 1
    assert rep["mapping_efficiency"] == pytest.approx(100 * (16 + 4 + 8 + 2) / 64)
    assert rep["compute_util"] == pytest.approx(
        100 * sum(u * 10 / (16 * (8 + 8 + 10 - 3)) for u in (16, 4, 8, 2)) / 4)
    assert rep["ifmap_sram_reads"] == 2 * 10 * 5
    assert rep["filter_sram_reads"] == 30 and rep["ofmap_sram_writes"] == 2 * 60
    # IS: Sr=K, Sc=M, T=N.
    rep = scalesim_report(10, 6, 5, 4, 4, "is")
    assert rep["per_fold_cycles"] == 8 + 4 + 6 - 2 and rep["folds"] == 2 * 3
    assert rep["ifmap_sram_reads"] == 50 and rep["filter_sram_reads"] == 3 * 30
    sa = SystolicArray(4, 4, "ws")
    assert sa.scalesim_report(10, 6, 5)["compute_cycles"] == 79
    # our own WS count equals SCALE-Sim's per fold on full-width folds (+1 for its -1)
    assert cycle_model(10, 8, 4, 4, 4, "ws")[0] == scalesim_report(10, 8, 4, 4, 4, "ws")["compute_cycles"] + 1


def test_layers_csv_and_runner():
    text = ("Layer, M, N, K,\n"
            "fc1, 6, 5, 7,\n"
            "Conv1, 8, 7, 3, 2, 2, 4, 1,\n")
    layers = load_layers(text)
    assert layers[0] == {"name": "fc1", "M": 6, "N": 5, "K": 7, "kind": "gemm", "scalesim_M": 6}
    assert layers[1] == {"name": "Conv1", "M": 6 * 6, "N": 4, "K": 3 * 2 * 2, "kind": "conv",
                         "scalesim_M": 6 * 6}
    sa = SystolicArray(3, 4, "os")
    captured = io.StringIO()        # not a terminal: no bar
    rows = sa.run_layers(text, simulate=True, stream=captured)
    assert captured.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    term = Terminal()
    assert sa.run_layers(text, simulate=True, stream=term) == rows
    assert "fc1" in term.getvalue() and "Conv1" in term.getvalue()
    model = sa.run_layers([("fc1", 6, 5, 7), {"name": "Conv1", "M": 36, "N": 4, "K": 12}],
                          progress=False)
    for a, b in zip(rows, model):
        for key in ("cycles", "macs", "utilization", "mapping_efficiency", "sram_reads"):
            assert a[key] == b[key]
    assert rows[0]["scalesim"] == scalesim_report(6, 5, 7, 3, 4, "os")


def test_bad_input():
    with pytest.raises(ValueError, match="rows"):
        SystolicArray(0, 4)
    with pytest.raises(ValueError, match="cols"):
        SystolicArray(4, -1)
    with pytest.raises(ValueError, match="dataflow"):
        SystolicArray(4, 4, "rs")
    with pytest.raises(ValueError, match="acc_bits"):
        SystolicArray(4, 4, acc_bits=63)
    with pytest.raises(ValueError, match="overflow"):
        SystolicArray(4, 4, overflow="inf")
    with pytest.raises(ValueError, match="pe"):
        SystolicArray(4, 4, "os", pe="term_serial")
    sa = SystolicArray(2, 2, a_bits=4, b_bits=4)
    with pytest.raises(ValueError, match=r"A holds 8, outside the signed 4-bit"):
        sa.run([[8, 0]], [[1], [1]])
    with pytest.raises(ValueError, match=r"B holds -9"):
        sa.run([[1, 0]], [[1], [-9]])
    with pytest.raises(ValueError, match="K must match"):
        sa.run([[1, 0]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="unsigned"):
        SystolicArray(2, 2, a_bits=4, signed=False).run([[-1]], [[1]])
    with pytest.raises(TypeError, match="integers"):
        sa.run([[0.5]], [[1]])
    with pytest.raises(ValueError, match="M"):
        cycle_model(0, 1, 1, 2, 2)


def test_strided_conv_output_size_frameworks_and_scalesim():
    # (H - R) // S + 1 (frameworks, run_conv) vs SCALE-Sim 3.0's ceil((H - R + S) / S)
    assert conv_output_size(5, 2, 2) == 2 and conv_output_size(5, 2, 2, "scalesim") == 3
    assert conv_output_size(30, 3, 2) == 14 and conv_output_size(30, 3, 2, "scalesim") == 15
    assert conv_output_size(7, 3, 2) == 3 == conv_output_size(7, 3, 2, "scalesim")  # S | H - R
    assert conv_output_size(3, 3, 5) == 1 == conv_output_size(3, 3, 5, "scalesim")
    for H in range(1, 30):
        for R in range(1, H + 1):
            for S in range(1, 7):
                fl = conv_output_size(H, R, S)
                sc = conv_output_size(H, R, S, "scalesim")
                assert fl == len(range(0, H - R + 1, S))             # windows that fit
                assert sc == len(range(0, H - R + S, S)) == math.ceil((H - R + S) / S)
                assert sc - fl == (1 if (H - R) % S else 0)
    # the frameworks' rule is what run_conv computes
    x = np.ones((1, 1, 5, 5), np.int64)
    w = np.ones((1, 1, 2, 2), np.int64)
    assert SystolicArray(2, 2).run_conv(x, w, stride=2).output.shape == (1, 1, 2, 2)


def test_layers_report_scalesim_figures_with_scalesim_output_size():
    # conv2 of the notebook: 30 x 30 input, 3 x 3 filter, stride 2
    text = "conv2, 30, 30, 3, 3, 16, 32, 2,\nfc, 16, 10, 64,\n"
    (conv, fc) = load_layers(text)
    assert (conv["M"], conv["scalesim_M"], conv["N"], conv["K"]) == (14 * 14, 15 * 15, 32, 144)
    assert fc["scalesim_M"] == fc["M"] == 16
    sa = SystolicArray(16, 16, "ws")
    rows = sa.run_layers(text, progress=False)
    assert rows[0]["M"] == 196 and rows[0]["scalesim_M"] == 225
    assert rows[0]["cycles"] == sa.model(196, 32, 144)["cycles"]
    assert rows[0]["scalesim"] == scalesim_report(225, 32, 144, 16, 16, "ws")
    assert rows[1]["scalesim"] == scalesim_report(16, 10, 64, 16, 16, "ws")


def test_analytical_paths_are_constant_time_for_huge_layers():
    # 10^12 MACs on a 1 x 1 array: 10^8 folds, computed from at most four fold shapes
    sa = SystolicArray(1, 1, "os")
    m = sa.model(10**4, 10**4, 10**4)
    assert m["folds"] == 10**8 and m["cycles"] == 10**8 * (10**4 + 1 + 1 - 2 + 1)
    assert len(m["per_fold_cycles"]) == 10**8 and m["per_fold_cycles"][-1] == 10**4 + 1
    (row,) = sa.run_layers("big, 10000, 10000, 10000,\n", progress=False)
    assert row["macs"] == 10**12 and row["cycles"] == m["cycles"]
    rep = scalesim_report(10**6, 10**6, 10**6, 3, 5, "ws")
    assert rep["folds"] == -(-10**6 // 3) * -(-10**6 // 5)
    # per-fold cycles equal the explicit fold-by-fold list on small shapes
    for df in ("os", "ws", "is"):
        total, per = cycle_model(7, 5, 3, 2, 3, df)
        explicit = []
        Sr, Sc, T = {"os": (7, 5, 3), "ws": (3, 5, 7), "is": (3, 7, 5)}[df]
        for fc in range(-(-Sc // 3)):
            for fr in range(-(-Sr // 2)):
                r, c = min(2, Sr - 2 * fr), min(3, Sc - 3 * fc)
                explicit.append(T + r + c - 2 + 2 if df == "os" else 2 + (T + 2 + c - 2))
        assert per == explicit and list(per) == explicit and total == sum(explicit)
        assert per[1:3] == explicit[1:3] and per[-1] == explicit[-1]


def test_register_level_runs_check_their_size_first():
    sa = SystolicArray(4, 4)
    A = np.ones((64, 64), np.int64)
    # work = 18944 cycles x (16 PEs + 100) + 256 folds x 10^4 = 4757504 PE-cycle units
    with pytest.raises(ValueError, match=r"M=64, N=64, K=64 takes 18944 cycles in 256 folds on "
                                         r"the 4x4 array, an estimated work of 4.76e\+06 "
                                         r"PE-cycle units \(about 0.0238 s\), above "
                                         r"max_work=1e\+05; pass a larger max_work"):
        sa.run(A, A, max_work=10**5)
    with pytest.raises(ValueError, match=r"needs about .*, of which the trace .*above "
                                         r"max_bytes=100000; pass a larger max_bytes"):
        sa.run(A, A, trace=True, max_bytes=100_000)
    assert sa.run(A, A, max_work=4757504).cycles == 18944
    assert sa.estimate(64, 64, 64)["work"] == 4757504
    est = sa.estimate(10**6, 10**6, 10**6)
    assert est["bytes"] > 2**44 and est["pe_cycles"] == est["cycles"] * 16
    with pytest.raises(ValueError, match="max_bytes"):
        sa.run_conv(np.ones((1, 1, 64, 64), np.int64), np.ones((2, 1, 3, 3), np.int64),
                    trace=True, max_bytes=10**5)


def test_import_loads_no_numba():
    import subprocess
    import sys
    code = ("import sys, refquant.sim; assert 'numba' not in sys.modules, "
            "[m for m in sys.modules if 'numba' in m]")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_term_serial_encodings_are_the_glossary_set():
    from refquant import pow2
    x = np.arange(-300, 300)
    for enc in ("binary", "hese", "naf"):
        assert np.array_equal(term_counts(x, enc), pow2.term_counts(x, enc))
    A = np.array([[3, -7, 5], [1, 0, -128]])
    B = np.array([[7, 1], [-3, 85], [127, -1]])
    for enc in ("binary", "hese", "naf"):
        sa = SystolicArray(2, 2, "ws", pe="term_serial", encoding=enc)
        r = sa.run(A, B)
        assert np.array_equal(r.output, A @ B)
        nt = term_counts(B, enc)
        assert r.cycles == sa.cycle_model(2, 2, 3, [max(1, int(nt[:2].max())),
                                                    max(1, int(nt[2:].max()))])
