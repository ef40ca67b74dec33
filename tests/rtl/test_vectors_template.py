"""`refquant vectors` files read back by rtl/tb_vectors.v on Icarus: 0 mismatches on the
reference RTL, and exactly the predicted count on a mutant."""
import json
import re
import subprocess

import numpy as np
import pytest

from rtlkit import mutate, needs_iverilog
from mutations import MUTATIONS
from refquant import format as rq_format
from refquant.cli import main
from refquant.cli._vectors import bench_command

pytestmark = needs_iverilog


def _check(folder, rtl_folder, cwd):
    manifest = json.loads((folder / "manifest.json").read_text())
    build, run = bench_command(manifest, str(folder)).splitlines()
    build = build.replace(" rtl/", f" {rtl_folder}/").replace("-o tb_vectors.vvp", f"-o {cwd}/tb.vvp")
    subprocess.run(build.split(), check=True, capture_output=True, text=True)
    out = subprocess.run(["vvp", "-n", f"{cwd}/tb.vvp", f"+vectors={folder}"], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"tb_vectors: (\d+) checked, (\d+) mismatches", out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), out


CASES = [
    ["--op", "requant", "--count", "200"],
    ["--op", "encode", "--format", "e4m3fn", "--overflow", "saturate"],
    ["--op", "encode", "--format", "e4m3fn", "--overflow", "nan"],
    ["--op", "encode", "--format", "e5m2", "--overflow", "saturate"],
    ["--op", "encode", "--format", "e5m2", "--overflow", "inf"],
    ["--op", "gemm", "--rows", "3", "--cols", "2", "--gemm", "5", "4", "7", "--acc-bits", "16"],
    ["--op", "gemm", "--rows", "2", "--cols", "3", "--dataflow", "ws", "--gemm", "4", "5", "6",
     "--overflow", "saturate", "--acc-bits", "14"],
]


@pytest.mark.parametrize("argv", CASES, ids=lambda a: "_".join(a[1::2][:3]))
def test_vectors_pass_on_reference_rtl(argv, rtl, tmp_path):
    folder = tmp_path / "vec"
    assert main(["vectors", *argv, "--out", str(folder)]) == 0
    checked, errors, out = _check(folder, rtl, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert errors == 0, out
    assert checked == manifest.get("outputs", manifest.get("count"))


def test_vectors_count_mismatches_of_a_mutant(rtl, tmp_path):
    """The ties-away FP8 mutant differs from the reference exactly where rounding ties
    away and ties to even give different codes: the template counts exactly those."""
    folder = tmp_path / "vec"
    assert main(["vectors", "--op", "encode", "--format", "e4m3fn", "--overflow", "saturate",
                 "--out", str(folder)]) == 0
    mutant = mutate(rtl, tmp_path / "rtl", MUTATIONS["fp8_ties_away"][1])
    checked, errors, out = _check(folder, mutant, tmp_path)
    x = np.array([int(v, 16) for v in (folder / "x.hex").read_text().split()],
                 dtype=np.uint32).view(np.float32)
    f = rq_format("e4m3fn")
    even = f.encode(x, overflow="saturate")
    away = f.encode(x, rounding="nearest_away", overflow="saturate")
    want = int(np.count_nonzero(even != away))
    assert want > 0
    assert errors == want, out
    assert checked == x.size
