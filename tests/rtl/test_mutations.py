"""The benches catch bugs: each documented mutation (mutations.py) applied to a copy of
the reference RTL must be reported by its bench, naming the first bad cycle. A bench that
passes a mutant fails this test."""
import re

import pytest

from benches import bench
from rtlkit import mutate, needs_sim
from mutations import MUTATIONS
from refquant.hw import rtl_sources, run_bench

pytestmark = needs_sim


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_bench_reports_mutant(name, rtl, build_root, tmp_path):
    what, edits, bench_name = MUTATIONS[name]
    folder = mutate(rtl, tmp_path / "rtl", edits)
    kw = bench(bench_name)
    sources = rtl_sources(kw["design"], folder)
    params = None
    if "array" in kw:
        from refquant.hw import array_parameters
        params = array_parameters(kw["array"])
    elif kw["design"] == "fp8_encode":
        from refquant.hw import FP8_DESIGNS
        params = FP8_DESIGNS[kw["fmt"]]
    else:
        params = {"OUT_W": 8, "QMIN": -128, "QMAX": 127}
    r = run_bench(build_dir=build_root, sources=sources, user_parameters=params, **kw)
    assert not r.passed, f"the {bench_name} bench passed the mutant {name!r} ({what})"
    assert isinstance(r.cycle, int) and r.cycle >= 0, r.message
    # the report names the first bad cycle, and the PE / lane / input with both values
    assert re.match(rf"case \d+: cycle {r.cycle}: ", r.message), r.message
    assert "RTL" in r.message and "model" in r.message, r.message
