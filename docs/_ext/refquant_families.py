"""One page per number family, generated from the format registry when the build starts.

For every package of ``refquant.registry.FAMILIES`` the extension writes
``docs/families/<family>.md``: the family's own description, its parameterised name
patterns, a summary table of its registered names, and a section per name with its
parameters, bits, range, ``eps`` (where the format defines it), special values (NaN,
infinities, negative zero), the value of every code for formats of 8 bits or fewer, and a
plot of the value grid (a PNG beside the page, copied into the build by Sphinx). A format
registered by a family appears on its page, and a family added to ``FAMILIES`` gets a page,
with nothing else edited. ``docs/formats.md`` lists the pages with a glob toctree.
"""
from __future__ import annotations

import hashlib
import importlib
import io
import math
from pathlib import Path

import numpy as np
from sphinx.application import Sphinx

from _gen import prune, write_if_changed

#: Formats wider than this are not enumerated code by code: their value grid is drawn
#: from an evenly strided sample of 2^16 codes.
ENUMERATE_BITS = 16
#: Formats of at most this many bits get the table of every code.
TABLE_BITS = 8
#: Bumped when the drawing changes, so cached plots are redrawn.
PLOT_VERSION = "5"

#: Float-style properties shown when a format defines them (numpy finfo names).
PROPERTIES = ("bits", "min", "max", "eps", "smallest_normal", "smallest_subnormal",
              "emax", "emin", "code_dtype")


def _num(v: object) -> str:
    """A number as a reader wants it: integers without a fraction, others to 8 digits."""
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return str(f)
        if f == int(f) and abs(f) < 2 ** 53:
            return str(int(f))
        return f"{f:.8g}"
    return str(v)


def _cell(v: float) -> str:
    """A decoded value in a code table cell (6 significant digits)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.6g}"


def _title(module) -> str:
    """The family's name: its docstring's first words, up to the first ':' or ','."""
    first = (module.__doc__ or module.__name__).strip().splitlines()[0]
    for sep in (":", ","):
        first = first.split(sep)[0]
    return first.strip().rstrip(".")


class _Grid:
    """The codes of one format (all of them, or a strided sample above ENUMERATE_BITS)
    and their decoded values (NaN where a code is outside the format)."""

    def __init__(self, fmt) -> None:
        bits = int(math.ceil(fmt.bits))
        self.sampled = bits > ENUMERATE_BITS
        step = 1 << (bits - ENUMERATE_BITS) if self.sampled else 1
        self.patterns = np.arange(0, 1 << bits, step, dtype=np.int64)
        codes = self.patterns.astype(fmt.code_dtype)
        self.invalid = np.zeros(codes.size, dtype=bool)
        try:
            self.values = np.asarray(fmt.decode(codes), dtype=np.float64)
        except ValueError:
            vals = np.empty(codes.size)
            for i, c in enumerate(codes):
                try:
                    vals[i] = float(np.asarray(fmt.decode(codes[i:i + 1]))[0])
                except ValueError:
                    vals[i], self.invalid[i] = np.nan, True
            self.values = vals
        v = self.values
        self.nan = ~self.invalid & np.isnan(v)
        self.pinf = v == np.inf
        self.ninf = v == -np.inf
        self.nzero = (v == 0) & np.signbit(v)

    @staticmethod
    def decode_patterns(fmt, patterns: np.ndarray) -> np.ndarray:
        """Values of the codes with these bit patterns (NaN for patterns beyond the
        format's width or outside the format)."""
        bits = int(math.ceil(fmt.bits))
        inside = patterns < (1 << bits)
        out = np.full(patterns.size, np.nan)
        try:
            out[inside] = fmt.decode(patterns[inside].astype(fmt.code_dtype))
        except ValueError:
            pass
        return out

    def finite(self) -> np.ndarray:
        v = self.values[np.isfinite(self.values)]
        return np.unique(v + 0.0)


def _specials(fmt, grid: _Grid) -> list[str]:
    width = max(1, (int(math.ceil(fmt.bits)) + 3) // 4)

    def codes(mask: np.ndarray) -> str:
        pats = grid.patterns[mask]
        shown = ", ".join(f"`0x{int(p):0{width}x}`" for p in pats[:6])
        more = f" and {pats.size - 6} more" if pats.size > 6 else ""
        return f"{pats.size} code{'s' if pats.size != 1 else ''}, {shown}{more}"

    scope = " (in a strided sample of 2^16 codes)" if grid.sampled else ""
    out = []
    for label, mask in (("NaN", grid.nan), ("+inf", grid.pinf), ("-inf", grid.ninf),
                        ("-0", grid.nzero), ("not a code of the format", grid.invalid)):
        if mask.any():
            out.append(f"{label} ({codes(mask)}){scope}")
    if not out:
        out.append(f"none: every code{scope} decodes to a finite value, and zero has one code"
                   if (grid.values == 0).sum() <= 1 else
                   f"none{scope}: every code decodes to a finite value")
    return out


def _code_table(fmt, grid: _Grid) -> str:
    """A list-table of every code: rows of 16 consecutive codes (8 where the values need
    more than 6 characters, one row for formats of fewer than 4 bits), styled compact by
    ``_static/refquant.css``."""
    bits = int(math.ceil(fmt.bits))
    cells = ["invalid" if bad else _cell(float(v)) for v, bad in zip(grid.values, grid.invalid)]
    cols = min(1 << bits, 16 if max(len(c) for c in cells) <= 6 else 8)
    rows = (1 << bits) // cols
    hexw = max(1, (bits + 3) // 4)
    lines = ["```{list-table}", ":header-rows: 1", ":class: refquant-codes", "",
             "* - code"]
    lines += [f"  - +{c:x}" for c in range(cols)]
    for r in range(rows):
        lines.append(f"* - `0x{r * cols:0{hexw}x}`")
        for c in range(cols):
            lines.append("  - " + cells[r * cols + c])
    lines.append("```")
    return "\n".join(lines)


def _symlog_ticks(ax, values: np.ndarray) -> None:
    """A symmetric-log y axis with at most two decades labelled on each side (none next
    to zero, where the labels would collide)."""
    nz = np.abs(values[values != 0])
    thr, top = float(nz.min()), float(nz.max())
    ax.set_yscale("symlog", linthresh=thr)
    lo, hi = math.ceil(math.log10(thr)) + 1, math.floor(math.log10(top))
    ks = list(range(lo, hi + 1)) or [hi]
    if len(ks) > 2:
        ks = [ks[(len(ks) - 1) // 2], ks[-1]]
    ticks = [0.0] + [10.0 ** k for k in ks]
    labels = ["0"] + [f"$10^{{{k}}}$" for k in ks]
    if (values < 0).any():
        ticks = [-t for t in ticks[:0:-1]] + ticks
        labels = [f"$-10^{{{k}}}$" for k in ks[::-1]] + labels
    ax.set_yticks(ticks, labels)
    ax.minorticks_off()


def _plot(fmt, grid: _Grid, path: Path) -> None:
    """Two panels: the value of every code in code order, and the gap from each positive
    value to the next representable one (log-log). Formats above ENUMERATE_BITS are drawn
    from the strided sample of codes; their gaps are exact, code p to code p + 1."""
    from matplotlib.figure import Figure  # no pyplot: nothing global, no display

    fig = Figure(figsize=(8.0, 2.8), dpi=80)
    a, b = fig.subplots(1, 2)
    ok = np.isfinite(grid.values)
    y = grid.values[ok]
    x = grid.patterns[ok]
    a.plot(x, y, ".", ms=3 if x.size <= 256 else 1, color="C0")
    nz = np.abs(y[y != 0])
    if nz.size and nz.max() > 1e3 * nz.min():
        _symlog_ticks(a, y)
    a.set_xlabel("code (bit pattern)" + (", sampled" if grid.sampled else ""))
    a.set_ylabel("value")
    a.set_title(f"{fmt.name}: value of each code", fontsize=10)
    if grid.sampled:
        nxt = _Grid.decode_patterns(fmt, grid.patterns + 1)
        keep = np.isfinite(grid.values) & np.isfinite(nxt) & (grid.values > 0) & \
            (nxt > grid.values)
        pos, gaps = grid.values[keep], (nxt - grid.values)[keep]
    else:
        pos = grid.finite()
        pos = pos[pos > 0]
        gaps = np.diff(pos)
        pos = pos[:-1]
    if pos.size >= 1:
        b.loglog(pos, gaps, ".", ms=3 if pos.size <= 256 else 1, color="C1")
        b.set_xlabel("positive value")
        b.set_ylabel("gap to the next value")
        b.set_title("spacing of the grid" + (" (sampled codes)" if grid.sampled else ""),
                    fontsize=10)
    else:
        b.set_axis_off()
        b.text(0.5, 0.5, "fewer than two positive values", ha="center", va="center")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_if_changed(path, buf.getvalue())


def _format_section(name: str, fmt, family_dir: Path, keep: set[Path]) -> str:
    grid = _Grid(fmt)
    props = []
    for p in PROPERTIES:
        if hasattr(type(fmt), p) or hasattr(fmt, p):
            try:
                v = getattr(fmt, p)
            except (AttributeError, ValueError):
                continue
            props.append((f"`{p}`", _num(v)))
    finite = grid.finite()
    count = (f"{finite.size} distinct finite values" +
             (" in the sample" if grid.sampled else ""))
    key = hashlib.sha256(grid.values.tobytes() + grid.patterns.tobytes() +
                         f"{name}{fmt.name}{PLOT_VERSION}".encode()).hexdigest()[:10]
    png = family_dir / "_plots" / f"{name}-{key}.png"
    if not png.exists():
        _plot(fmt, grid, png)
    keep.add(png)
    alias = (f" The registered name `{name}` builds the format `{fmt.name}`."
             if fmt.name != name else "")
    lines = [
        f"## `{name}`",
        "",
        f"`{fmt!r}`.{alias}",
        "",
        "```{list-table}",
        ":header-rows: 1",
        ":class: refquant-props",
        "",
        "* - " + "\n  - ".join(k for k, _ in props),
        "* - " + "\n  - ".join(v for _, v in props),
        "```",
        "",
        f"{count[0].upper()}{count[1:]}. Special values: " + "; ".join(_specials(fmt, grid)) + ".",
        "",
        f"```{{image}} _plots/{png.name}",
        f":alt: value grid of {name}",
        "```",
        "",
    ]
    if fmt.bits <= TABLE_BITS:
        lines += [
            f"Every code of `{name}` (row: the code's high bits, column: added low bits;"
            " values to 6 significant digits, exactly `fmt.decode(code)`):",
            "",
            _code_table(fmt, grid),
            "",
        ]
    return "\n".join(lines)


def _family_page(family: str, names: list[str], patterns: list[str], family_dir: Path,
                 keep: set[Path]) -> str:
    import refquant

    module = importlib.import_module(family)
    title = _title(module)
    fmts = [refquant.format(n) for n in names]
    out = [
        f"# {title}",
        "",
        f"Generated from the format registry when this site was built: every name that "
        f"`{family}` registers with `refquant.format`. The functions and classes of the "
        f"package are in the API reference, {{py:mod}}`{family}`.",
        "",
        "```{eval-rst}",
        f".. automodule:: {family}",
        "   :no-index:",
        "   :no-members:",
        "```",
        "",
    ]
    if patterns:
        out += ["Parameterised names (any name matching one of these patterns builds a "
                "format; the fixed names below are registered examples):", ""]
        out += [f"- `{p}`" for p in patterns]
        out.append("")
    out += ["| name | class | bits | min | max | eps | specials |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for n, f in zip(names, fmts):
        g = _Grid(f)
        specials = ", ".join(label for label, m in (("NaN", g.nan), ("±inf", g.pinf | g.ninf),
                                                    ("-0", g.nzero)) if m.any()) or "none"
        eps = _num(f.eps) if hasattr(f, "eps") else "—"
        out.append(f"| [`{n}`](#{_anchor(n)}) | `{type(f).__name__}` | "
                   f"{_num(f.bits)} | {_num(f.min)} | {_num(f.max)} | {eps} | {specials} |")
    out.append("")
    for n, f in zip(names, fmts):
        out.append(_format_section(n, f, family_dir, keep))
    return "\n".join(out)


def _anchor(name: str) -> str:
    """The id MyST gives the heading ``## `name` `` (myst_heading_anchors)."""
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch in "-_ ").replace(" ", "-")


def generate(app: Sphinx) -> None:
    import refquant
    from refquant import registry

    registry.load_families()
    out_dir = Path(app.srcdir) / "families"
    keep: set[Path] = set()
    by_family: dict[str, list[str]] = {fam: [] for fam in registry.FAMILIES}
    for name in refquant.format_names():
        mod = type(refquant.format(name)).__module__
        fam = max((f for f in registry.FAMILIES if mod == f or mod.startswith(f + ".")),
                  key=len, default=None)
        if fam is not None:
            by_family[fam].append(name)
    patterns: dict[str, list[str]] = {fam: [] for fam in registry.FAMILIES}
    for _regex, factory, example in registry._PATTERNS:
        mod = getattr(factory, "__module__", "") or ""
        for fam in registry.FAMILIES:
            if mod == fam or mod.startswith(fam + "."):
                patterns[fam].append(example)
    for fam in registry.FAMILIES:
        page = out_dir / f"{fam.rsplit('.', 1)[-1]}.md"
        write_if_changed(page, _family_page(fam, by_family[fam], patterns[fam], out_dir, keep))
        keep.add(page)
    prune(out_dir, keep)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
