"""The API reference, generated from the docstrings of refquant's public faces.

``FACES`` lists the public modules in reading order. When the build starts, one page per
face that can be imported is written to ``docs/api/<module>.rst``: the module's docstring,
a summary table, and the full documentation (autodoc) of every name of its ``__all__``
that the face is the home of. A name exported by several faces is documented once, on the
face whose package defines it (the longest match with the object's ``__module__``), and
linked from the others. A face that cannot be imported in this build (a module not yet
part of the package) is listed on the index page with a visible note instead of a page,
so the build stays free of warnings.
"""
from __future__ import annotations

import importlib
import inspect
import io
import re
import types
from pathlib import Path

from sphinx.application import Sphinx

from _gen import prune, write_if_changed

#: The public faces, in the order the reference presents them.
FACES = (
    ("refquant", "the package face: formats, quantize, QTensor, the families' main names"),
    ("refquant.modes", "Rounding and Overflow, and the one parser of their names"),
    ("refquant.registry", "register and look up format names; FAMILIES"),
    ("refquant.integer", "integer and fixed-point formats, requantization, exact GEMM"),
    ("refquant.intops", "integer arithmetic as integer-only inference computes it"),
    ("refquant.floats", "binary floats, block-scaled formats, bit packing"),
    ("refquant.posit", "posits, tapered fixed point, posit arithmetic and the quire"),
    ("refquant.pow2", "logarithmic, APoT, n-hot, PWLQ, terms and SPARQ"),
    ("refquant.calibrate", "calibration methods: how the clipping range is chosen"),
    ("refquant.sparse", "sparse containers, N:M sparsity, column combining, pruning"),
    ("refquant.sim", "systolic arrays and tensor cores"),
    ("refquant.data", "the built-in tensors"),
    ("refquant.testing", "checking an implementation against refquant"),
    ("refquant.strategies", "Hypothesis strategies for property tests"),
    ("refquant.hw", "the bridge to RTL test benches"),
    ("refquant.transformer", "transformer blocks in low precision"),
    ("refquant.mixed", "mixed-precision assignment"),
    ("refquant.onnx", "ONNX export of quantized tensors"),
)


def _import(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # only the face itself being absent counts as absent; a broken import inside an
        # existing module is an error the build must show
        if exc.name is not None and (exc.name == name or name.startswith(exc.name + ".")):
            return None
        raise


def _public(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def _home(obj: object, name: str, faces: dict[str, types.ModuleType]) -> str | None:
    """The face that documents ``obj``: among the faces exporting it under ``name``, the
    one with the longest match with the object's ``__module__`` (first in FACES on a
    tie)."""
    owner = getattr(obj, "__module__", None) or ""
    best, best_len = None, -1
    for face, mod in faces.items():
        if name not in _public(mod) or getattr(mod, name, None) is not obj:
            continue
        n = len(face) if (owner == face or owner.startswith(face + ".")) else 0
        if n > best_len:
            best, best_len = face, n
    return best


def _directive(face: str, name: str, obj: object) -> str:
    target = f"{face}.{name}"
    if inspect.isclass(obj):
        return f".. autoclass:: {target}\n   :members:\n   :show-inheritance:\n"
    if callable(obj):
        return f".. autofunction:: {target}\n"
    return f".. autodata:: {target}\n   :no-value:\n"


def _page(face: str, summary: str, mod: types.ModuleType,
          faces: dict[str, types.ModuleType]) -> str:
    own, linked, submodules = [], [], []
    for name in _public(mod):
        obj = getattr(mod, name)
        if isinstance(obj, types.ModuleType):
            submodules.append(obj.__name__)
            continue
        home = _home(obj, name, faces)
        if home == face or home is None:
            own.append((name, obj))
        else:
            linked.append((name, home))
    title = f"``{face}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {face}", "   :no-members:", "",
             f".. currentmodule:: {face}", ""]
    if own:
        lines += [".. rubric:: Summary", "", ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name, _ in own]
        lines.append("")
    if submodules:
        lines += [".. rubric:: Subpackages", ""]
        lines += [f"- :py:mod:`{m}`" + ("" if m in faces else " (not documented)")
                  for m in submodules]
        lines.append("")
    if linked:
        lines += [".. rubric:: Also exported here", "",
                  "Documented on the page of the package that defines them:", ""]
        lines += [f"- ``{face}.{name}``: :py:obj:`{home}.{name}`" for name, home in linked]
        lines.append("")
    if own:
        lines += [".. rubric:: Reference", ""]
        for name, obj in own:
            lines.append(_directive(face, name, obj))
    return "\n".join(lines)


#: docutils messages that only mean "Sphinx knows this role or directive, bare docutils
#: does not": they do not make a docstring invalid.
_SPHINX_ONLY = ("Unknown interpreted text role", "Unknown directive type", "No role entry",
                "No directive entry")


def _rst_problems(lines: list[str]) -> list[str]:
    """The warnings and errors docutils reports for ``lines`` as reStructuredText."""
    from docutils import nodes
    from docutils.core import publish_doctree

    stream = io.StringIO()
    try:
        tree = publish_doctree("\n".join(lines), settings_overrides={
            "report_level": 2, "halt_level": 5, "warning_stream": stream,
            "file_insertion_enabled": False, "raw_enabled": False})
    except Exception as exc:  # docutils gave up on the text: that is a problem too
        return [str(exc)]
    found = [m.astext() for m in tree.findall(nodes.system_message) if m["level"] >= 2]
    found += [ln for ln in stream.getvalue().splitlines() if "(WARNING/" in ln or
              "(ERROR/" in ln or "(SEVERE/" in ln]
    return [m for m in found if not any(s in m for s in _SPHINX_ONLY)]


def _escape(text: str) -> str:
    """``text`` with every punctuation character backslash-escaped: plain text in RST."""
    return re.sub(r"([^\w\s])", r"\\\1", text)


def plain_text_docstrings(app: Sphinx, what: str, name: str, obj: object, options: object,
                          lines: list[str]) -> None:
    """Show a docstring that is not valid reStructuredText as the plain text it is.

    refquant's docstrings are written to be read with ``help()``: aligned tables, ``|x|``
    for magnitudes, indented equations. Where the text (after napoleon's numpy-section
    conversion) parses as RST without complaint it is rendered as RST; otherwise its first
    paragraph is shown as escaped prose (the summary autosummary lists) and the rest as a
    preformatted block, exactly as ``help()`` shows it, instead of failing the build."""
    if not lines or not _rst_problems(lines):
        return
    original = inspect.getdoc(obj) if what != "module" else (getattr(obj, "__doc__", "") or "")
    text = inspect.cleandoc(original or "\n".join(lines))
    head, _, rest = text.partition("\n\n")
    head_lines = head.splitlines()
    new = head_lines if not _rst_problems(head_lines) else [_escape(" ".join(
        ln.strip() for ln in head_lines))]
    if rest.strip():
        new += ["", ".. code-block:: text", ""]
        new += [("   " + ln) if ln.strip() else "" for ln in rest.splitlines()]
    new.append("")
    lines[:] = new


def generate(app: Sphinx) -> None:
    out_dir = Path(app.srcdir) / "api"
    present: dict[str, types.ModuleType] = {}
    absent: list[str] = []
    for face, _ in FACES:
        mod = _import(face)
        if mod is None:
            absent.append(face)
        else:
            present[face] = mod
    keep: set[Path] = set()
    for face, summary in FACES:
        if face in present:
            page = out_dir / f"{face}.rst"
            write_if_changed(page, _page(face, summary, present[face], present))
            keep.add(page)
    index = ["API reference", "=============", "",
             "Generated from the docstrings of refquant's public modules when this site was "
             "built. Every public function states its exact semantics (rounding, overflow, "
             "NaN and infinity) and the source it follows; the pages on "
             ":doc:`rounding <../semantics/rounding>` and :doc:`overflow "
             "<../semantics/overflow>` gather the rules they share.", "",
             ".. toctree::", "   :maxdepth: 1", "   :hidden:", ""]
    index += [f"   {face} <{face}>" for face, _ in FACES if face in present]
    index += ["", ".. list-table::", "   :header-rows: 1", "", "   * - module",
              "     - what it holds"]
    for face, summary in FACES:
        if face in present:
            index += [f"   * - :doc:`{face} <{face}>`", f"     - {summary}"]
        else:
            index += [f"   * - ``{face}``",
                      f"     - {summary} (*not part of this build: the module is absent*)"]
    index.append("")
    page = out_dir / "index.rst"
    write_if_changed(page, "\n".join(index))
    keep.add(page)
    prune(out_dir, keep)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", generate)
    # after napoleon (priority 500), which turns numpy sections into RST
    app.connect("autodoc-process-docstring", plain_text_docstrings, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
