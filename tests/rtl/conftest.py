"""Shared fixtures of the RTL tests: one build folder for the session (builds are reused
across tests with the same sources and parameters), the skip reasons, and copies of the
reference RTL with a mutation applied."""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from refquant.hw import rtl_dir, simulator_available  # noqa: E402

SIM_REASON = simulator_available("icarus")
IVERILOG = shutil.which("iverilog")

needs_sim = pytest.mark.skipif(SIM_REASON is not None, reason=str(SIM_REASON))
needs_iverilog = pytest.mark.skipif(IVERILOG is None,
                                    reason="iverilog is not installed (apt-get install -y iverilog)")


@pytest.fixture(scope="session")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("rtl_build")


@pytest.fixture(scope="session")
def rtl():
    return rtl_dir()


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
