"""The notebooks as a reader opens them: committed with their figures, drawn inline.

CI re-executes every notebook (nbmake); these checks keep the stored copies honest, so a
reader on a code host sees the plots without running anything."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_with_inline_figures(path):
    cells = _code_cells(path)
    images = [o for c in cells for o in c.get("outputs", [])
              if any(k.startswith("image/") for k in o.get("data", {}))]
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert images, f"{path.name} is stored without figures: execute it and commit the outputs"
    assert not errors, f"{path.name} is stored with an error output"
    assert all(c.get("execution_count") for c in cells if "".join(c["source"]).strip()), \
        f"{path.name} has cells stored without being run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_draws_inline(path):
    src = "\n".join("".join(c["source"]) for c in _code_cells(path))
    assert 'use("Agg")' not in src and "use('Agg')" not in src, "the Agg backend shows nothing"
    assert "/tmp/" not in src, "figures are saved under the notebook's folder, if at all"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7
