"""Old names of the simulators and their command still work for one release, with a
DeprecationWarning (library) or a warning line on stderr (command) naming the new one:
the signed-digit encoding "csd" is "naf", and ``saturate=`` flags are ``overflow=``."""
import io

import numpy as np
import pytest

from refquant import Overflow, cli
from refquant.sim import SystolicArray, TensorCore, term_counts

A = np.array([[3, -7, 5], [1, 0, -128]])
B = np.array([[7, 1], [-3, 85], [127, -1]])


def test_encoding_csd_is_naf():
    with pytest.warns(DeprecationWarning,
                      match=r'encoding="csd" is deprecated .* use encoding="naf"'):
        old = SystolicArray(2, 2, "ws", pe="term_serial", encoding="csd")
    new = SystolicArray(2, 2, "ws", pe="term_serial", encoding="naf")
    assert old.encoding == new.encoding == "naf"
    r_old, r_new = old.run(A, B), new.run(A, B)
    assert np.array_equal(r_old.output, r_new.output) and r_old.cycles == r_new.cycles
    assert r_old.stats == r_new.stats


def test_term_counts_csd_is_naf():
    x = np.arange(-300, 300)
    with pytest.warns(DeprecationWarning, match='encoding="csd"'):
        old = term_counts(x, "csd")
    assert np.array_equal(old, term_counts(x, "naf"))


def test_warning_points_at_the_caller():
    with pytest.warns(DeprecationWarning) as rec:
        SystolicArray(2, 2, "ws", pe="term_serial", encoding="csd")
    assert rec[0].filename == __file__


def test_imma_saturate_keyword_is_overflow():
    tc = TensorCore("H100")
    a, b = np.full((1, 32), 127), np.full((32, 1), 127)
    c = np.array([[2 ** 31 - 1000]])
    for flag, policy in ((True, Overflow.SATURATE), (False, Overflow.WRAP)):
        with pytest.warns(DeprecationWarning, match=r"imma\(saturate=...\) is deprecated"):
            old = tc.imma(a, b, c, "s8", saturate=flag)
        assert np.array_equal(old, tc.imma(a, b, c, "s8", overflow=policy))
    with pytest.warns(DeprecationWarning, match="saturate flag"):
        old = tc.imma(a, b, c, "s8", True)      # the old positional flag
    assert old[0, 0] == 2 ** 31 - 1


def test_imma_saturate_checks():
    tc = TensorCore("H100")
    i2 = np.ones((2, 2), np.int64)
    with pytest.raises(TypeError, match="saturate must be a bool, got 'yes'"):
        tc.imma(i2, i2, saturate="yes")
    with pytest.raises(TypeError, match="got both saturate= .deprecated. and overflow="):
        tc.imma(i2, i2, overflow="saturate", saturate=True)


def test_mma_sp_saturate_keyword_is_overflow():
    tc = TensorCore("A100")
    vals = np.full((1, 16), 127)
    meta = np.full((1, 4), 0x44, np.uint8)      # elements 0 and 1 of every group of 4
    b = np.full((32, 1), 127)
    c = np.array([[2 ** 31 - 1000]])
    with pytest.warns(DeprecationWarning, match=r"mma_sp\(saturate=...\)"):
        old = tc.mma_sp(vals, meta, b, c, "s8", saturate=True)
    assert np.array_equal(old, tc.mma_sp(vals, meta, b, c, "s8", overflow="saturate"))
    assert old[0, 0] == 2 ** 31 - 1


def test_command_encoding_csd_warns_on_stderr_and_runs_naf():
    argv = ["systolic", "--rows", "2", "--cols", "2", "--dataflow", "ws", "--pe",
            "term_serial", "--gemm", "3", "2", "4", "--json"]
    out_old, err_old = io.StringIO(), io.StringIO()
    assert cli.main(argv + ["--encoding", "csd"], stdout=out_old, stderr=err_old) == 0
    assert err_old.getvalue() == ("refquant systolic: warning: --encoding csd is deprecated "
                                  "and will be removed in the next release; use --encoding "
                                  "naf\n")
    out_new, err_new = io.StringIO(), io.StringIO()
    assert cli.main(argv + ["--encoding", "naf"], stdout=out_new, stderr=err_new) == 0
    assert err_new.getvalue() == "" and out_old.getvalue() == out_new.getvalue()
