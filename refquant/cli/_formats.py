"""``refquant formats``: every registered format name with its width and range."""
from __future__ import annotations

import argparse
from typing import IO, Any

from ..registry import format as _format
from ..registry import format_names as _formats
from ._common import EXIT_OK, add_json_option, format_number, table, write_json

__all__ = ["registered", "family", "add_parser", "run"]

HELP = "list every registered format"


def family(fmt: Any) -> str:
    """The family of a format: its class name."""
    return type(fmt).__name__


def registered() -> list[tuple[str, Any, str | None]]:
    """[(name, Format or None, error message or None)] for every registered name."""
    out: list[tuple[str, Any, str | None]] = []
    for name in _formats():
        try:
            out.append((name, _format(name), None))
        except Exception as exc:  # a broken factory is reported, not fatal
            out.append((name, None, f"{type(exc).__name__}: {exc}"))
    return out


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``formats`` subcommand to the subparsers ``sub``."""
    f = sub.add_parser("formats", help=HELP,
                       description="List every registered format name with its family, "
                       "width and range (the largest and the most negative finite value). "
                       "Other widths resolve by name through refquant.format (int7, uint5, "
                       "q3.4, e3m3, ...), as do dtype names (float8_e4m3fn, bfloat16).")
    add_json_option(f)
    f.set_defaults(run=run)
    return f


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Print the table (or JSON) of registered formats; exit status 0."""
    entries: list[dict[str, Any]] = []
    for name, fmt, e in registered():
        if e is not None:
            entries.append({"name": name, "family": None, "bits": None, "min_value": None,
                            "max_value": None, "error": e})
        else:
            entries.append({"name": name, "family": family(fmt), "bits": int(fmt.bits),
                            "min_value": float(fmt.min),
                            "max_value": float(fmt.max), "error": None})
    entries.sort(key=lambda d: (d["family"] or "~", d["bits"] or 0, d["name"]))
    if args.json:
        write_json(out, {"command": "formats", "formats": entries})
        return EXIT_OK
    rows = []
    for d in entries:
        if d["error"]:
            rows.append([d["name"], "-", "-", "-", "error: " + d["error"]])
        else:
            rows.append([d["name"], d["family"], str(d["bits"]),
                         format_number(d["min_value"]), format_number(d["max_value"])])
    out.write(table(["format", "family", "bits", "min", "max"], rows, right={2, 3, 4}) + "\n")
    out.write(f"{len(entries)} registered formats; other widths by name through "
              f"refquant.format (e.g. int7, uint5, q3.4)\n")
    return EXIT_OK
