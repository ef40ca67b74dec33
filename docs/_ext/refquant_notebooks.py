"""The notebooks of ``notebooks/`` as pages of the site.

Sphinx reads sources only from inside ``docs/``, so every ``notebooks/*.ipynb`` of the
repository is copied to ``docs/notebooks/`` when the build starts (a notebook added to the
folder becomes a page with nothing else edited; one removed disappears). myst-nb renders
the stored outputs, figures included, without executing (``nb_execution_mode = "off"``).
"""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

from _gen import prune, write_if_changed


def copy_notebooks(app: Sphinx) -> None:
    src = Path(app.srcdir).parent / "notebooks"
    dst = Path(app.srcdir) / "notebooks"
    keep = set()
    for nb in sorted(src.glob("*.ipynb")):
        target = dst / nb.name
        write_if_changed(target, nb.read_bytes())
        keep.add(target)
    prune(dst, keep)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", copy_notebooks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
