"""Sphinx configuration of refquant's documentation site.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are
errors), then ``python docs/check_links.py docs/_build/html`` (every internal link and
anchor resolves). Pages generated at build time (one per number family, the API
reference, the notebooks) are written by the extensions in ``docs/_ext/`` into folders
that ``docs/.gitignore`` keeps out of the repository.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import refquant  # noqa: E402  (the installed package, documented as installed)

project = "refquant"
author = "the refquant authors"
copyright = "the refquant authors, Apache-2.0"  # noqa: A001 - Sphinx's name
release = version = refquant.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_nb",
    "refquant_notebooks",
    "refquant_families",
    "refquant_api",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path: list[str] = []

# Notebooks are committed executed (tests/spec/test_notebooks_stored.py); the site shows
# those stored outputs, figures included, without running anything.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# The API reference: numpy-style docstrings, members in source order. Signatures show
# names and defaults as written, without type hints: the docstrings state what each
# argument takes, and NumPy's array-like aliases would otherwise be spelled out as unions
# of a dozen private types.
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Docstrings name types in prose ("array_like of reals"); they are not cross-reference
# targets.
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_title = f"refquant {release}"
# The family pages hold wide tables of codes: they get the left sidebar's width.
html_sidebars = {"families/*": []}
html_static_path = ["_static"]
html_css_files = ["refquant.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
