"""Differential test against recorded NVIDIA tensor-core outputs.

Every row (D = A_row . B_row + C computed on real V100, A100, A2, Ada, L40S, H100, H200,
B200 GPUs; data of Khattak & Mikaitis, BSD-2) must be reproduced bit for bit. A 250-row
subset per GPU / format / output is vendored in tests/data/tensorcore; the full 5000-row
files are used when ../shared/data/tensorcore exists beside the repository.
"""
from pathlib import Path

import numpy as np
import pytest

from refquant.sim import TensorCore
from refquant.cli import read_recorded

HERE = Path(__file__).resolve().parent
SUBSET = HERE.parent / "data" / "tensorcore" / "recorded_subset.npz"
FULL = HERE.parents[1].parent / "shared" / "data" / "tensorcore"

CASES = [(g, f, o) for g in ("V100",) for f in ("fp16",) for o in ("fp32", "fp16")]
CASES += [(g, f, o) for g in ("A100", "A2") for f, o in
          (("fp16", "fp32"), ("fp16", "fp16"), ("bf16", "fp32"), ("tf32", "fp32"))]
CASES += [(g, f, o) for g in ("Ada", "L40S", "H100", "H200", "B200") for f, o in
          (("fp16", "fp32"), ("fp16", "fp16"), ("bf16", "fp32"), ("tf32", "fp32"),
           ("E4M3", "fp32"), ("E4M3", "fp16"), ("E5M2", "fp32"), ("E5M2", "fp16"))
          if not (g == "L40S" and f.startswith("E") and o == "fp16")]


def _replay(gpu, fmt, out, a, b, c):
    """Run the recorded rows through the model the way the GPU ran them."""
    c = c.view(np.float32).astype(np.float64)
    if out == "fp16":  # C was rounded to fp16 (nearest even) on the GPU
        c = c.astype(np.float16).astype(np.float64)
    instruction = None
    if fmt.startswith("E") and gpu in ("H100", "H200"):
        if out == "fp32":  # WGMMA with C = 0
            instruction, c = "wgmma", np.zeros_like(c)
        else:
            instruction = "mma.sync"
    in_format = {"E4M3": "e4m3fn", "E5M2": "e5m2"}.get(fmt, fmt)  # recordings' spelling
    d = TensorCore(gpu).mma_rows(a.view(np.float32), b.view(np.float32), c,
                                 in_format=in_format, out_format=out, instruction=instruction)
    return d.astype(np.float32).view(np.uint32)


@pytest.fixture(scope="module")
def subset():
    return np.load(SUBSET)


def test_subset_covers_every_recorded_file(subset):
    keys = {k.rsplit("/", 1)[0] + "/" + k.rsplit("/", 1)[1][2:] for k in subset.files
            if k.rsplit("/", 1)[1].startswith("d_")}
    assert keys == {f"{g}/{f}/{o}" for g, f, o in CASES}
    assert len(CASES) == 48


@pytest.mark.parametrize("gpu,fmt,out", CASES)
def test_vendored_rows_bit_exact(subset, gpu, fmt, out):
    a, b, c = (subset[f"{gpu}/{fmt}/{x}"] for x in "abc")
    want = subset[f"{gpu}/{fmt}/d_{out}"]
    assert a.shape[0] == want.shape[0] == 250
    got = _replay(gpu, fmt, out, a, b, c)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, f"rows {bad[:5]}: got {got[bad[:5]]}, GPU {want[bad[:5]]}"


@pytest.mark.skipif(not FULL.is_dir(), reason="full recorded data (../shared) not present")
@pytest.mark.parametrize("gpu,fmt,out", CASES)
def test_full_recorded_rows_bit_exact(gpu, fmt, out):
    a, b, c, want = read_recorded(FULL / gpu / fmt, gpu, fmt, out)
    assert want.shape[0] == 5000
    got = _replay(gpu, fmt, out, a, b, c)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, f"{bad.size} of 5000 rows differ, first {bad[:5]}"


def test_known_rows_by_value(subset):
    """Two recorded H100 rows spelled out: fp16 inputs, fp32 output truncated."""
    a = subset["H100/fp16/a"][:2].view(np.float32)
    b = subset["H100/fp16/b"][:2].view(np.float32)
    c = subset["H100/fp16/c"][:2].view(np.float32)
    d = TensorCore("H100").mma_rows(a, b, c, "fp16", "fp32")
    assert d.view(np.uint32).tolist() == subset["H100/fp16/d_fp32"][:2].tolist()


def test_fp8_mma_sync_differs_from_wgmma_on_recorded_rows(subset):
    """The two H100 fp8 paths are different machines: on the rows recorded through
    mma.sync (fp16 output) the WGMMA model is wrong for many rows, and vice versa."""
    a = subset["H100/E4M3/a"].view(np.float32)
    b = subset["H100/E4M3/b"].view(np.float32)
    c = subset["H100/E4M3/c"].view(np.float32).astype(np.float16).astype(np.float64)
    want = subset["H100/E4M3/d_fp16"]
    tc = TensorCore("H100")
    wg = tc.mma_rows(a, b, c, "e4m3fn", "fp16", instruction="wgmma")
    ms = tc.mma_rows(a, b, c, "e4m3fn", "fp16", instruction="mma.sync")
    assert (ms.astype(np.float32).view(np.uint32) == want).all()
    assert (wg.astype(np.float32).view(np.uint32) != want).sum() > 25


def test_replay_defaults_match_how_the_data_was_recorded():
    """The CLI's default instruction and C for each recorded case are those used above."""
    from refquant.cli import default_instruction
    for gpu, fmt, out in CASES:
        f = {"E4M3": "e4m3fn", "E5M2": "e5m2"}.get(fmt, fmt)
        want = None
        if fmt.startswith("E"):
            want = ("wgmma" if out == "fp32" else "mma.sync") if gpu in ("H100", "H200") \
                else "mma.sync"
        assert default_instruction(gpu, f, out) == want
