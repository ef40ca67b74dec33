"""What the RTL tests share besides fixtures: the skip markers and the mutation helper."""
import shutil
from pathlib import Path

import pytest

from refquant.hw import simulator_available

SIM_REASON = simulator_available("icarus")
IVERILOG = shutil.which("iverilog")

needs_sim = pytest.mark.skipif(SIM_REASON is not None, reason=str(SIM_REASON))
needs_iverilog = pytest.mark.skipif(IVERILOG is None,
                                    reason="iverilog is not installed (apt-get install -y iverilog)")


def mutate(src: Path, dst: Path, edits) -> Path:
    """A copy of the RTL folder ``src`` in ``dst`` with the (file, old, new) edits applied;
    each ``old`` must occur exactly once."""
    shutil.copytree(src, dst)
    for name, old, new in edits:
        p = dst / name
        text = p.read_text()
        assert text.count(old) == 1, f"mutation anchor not found once in {name}: {old!r}"
        p.write_text(text.replace(old, new))
    return dst
