"""Fixtures of the RTL tests: one build folder for the session (builds are reused across
tests with the same sources and parameters) and the reference RTL folder. The helper
modules beside this file (rtlkit, benches, mutations, vcdread) are importable."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from refquant.hw import rtl_dir  # noqa: E402


@pytest.fixture(scope="session")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("rtl_build")


@pytest.fixture(scope="session")
def rtl():
    return rtl_dir()
