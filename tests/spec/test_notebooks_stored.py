"""The notebooks as a reader opens them: committed with their figures, drawn inline, each
telling a student's story.

CI re-executes every notebook (nbmake); these checks keep the stored copies honest, so a
reader on a code host (or on the documentation site, which renders the stored outputs)
sees the plots without running anything. They cover every notebook of the folder: a
question up front (``**The question.**`` in the first cell), and after every cell that
draws a figure a markdown cell saying what to notice (``**What to notice.**``) before the
next code cell; and asserts that check what the figures show."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _code_cells(path):
    return [c for c in _cells(path) if c["cell_type"] == "code"]


def _has_image(cell):
    return any(k.startswith("image/") for o in cell.get("outputs", []) for k in o.get("data", {}))


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_tells_a_story(path):
    cells = _cells(path)
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.lstrip().startswith("#"), \
        f"{path.name} starts without a title"
    assert "**The question.**" in first, f"{path.name} asks no question up front"
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or not _has_image(cell):
            continue
        following = []
        for nxt in cells[i + 1:]:
            if nxt["cell_type"] == "code":
                break
            following.append("".join(nxt["source"]))
        assert any("**What to notice.**" in text for text in following), \
            f"{path.name}: the figure of code cell {i} is not followed by what to notice"
    src = "\n".join("".join(c["source"]) for c in _code_cells(path))
    assert "assert " in src, f"{path.name} checks none of what it shows"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7
