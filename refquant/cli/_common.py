"""What every ``refquant`` command shares: one-line usage errors, the exit statuses, the
help layout (every option's default shown), the ``--json`` option and its writer, and
plain-text tables with formatted numbers."""
from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable
from typing import IO, Any, NoReturn

import numpy as np

__all__ = ["UsageError", "ArgumentParser", "HelpFormatter", "report_error", "exit_status",
           "warn_deprecated", "table", "add_json_option", "write_json", "json_ready",
           "format_number", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]

EXIT_OK = 0       # done as asked
EXIT_FAILED = 1   # ran, and found mismatches or failures
EXIT_USAGE = 2    # usage or input error


class UsageError(Exception):
    """A usage or input error of a ``refquant`` command: the command prints
    "refquant CMD: error: MESSAGE" as one line on stderr and exits with status 2."""


def plain(text: str) -> str:
    """``text`` without reStructuredText / Markdown code markup: ``name`` and `name`
    become name and 'name' (docstrings feed help texts; the terminal shows plain text)."""
    text = re.sub(r"``(.+?)``", r"\1", text)
    return re.sub(r"`([^`\n]+)`", r"'\1'", text)


class HelpFormatter(argparse.HelpFormatter):
    """The help layout of every ``refquant`` command: an option's help ends with its
    default ("(default: 8)") unless it states one already or is a flag; descriptions
    written on several lines keep their lines (one-paragraph ones are wrapped); code
    markup is shown as plain text (``plain``)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" not in text.lower() and action.option_strings and action.nargs != 0
                and action.default is not None and action.default is not argparse.SUPPRESS
                and not action.required):
            text += " (default: %(default)s)"
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = plain(text)
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return super()._split_lines(plain(text), width)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad argument raises ``UsageError`` (the command
    turns it into exit status 2) instead of printing the usage and exiting. Every parser
    of the command (subcommands included) lays out its help with ``HelpFormatter``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` to a subcommand's parser: print the same results as one JSON
    document on stdout instead of the text (write it with ``write_json``)."""
    parser.add_argument("--json", action="store_true",
                        help="print the results as one JSON document on stdout (the same "
                             "results as the text output) instead of the text")


def json_ready(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays as Python numbers and lists, tuples as
    lists, and non-finite floats as None (JSON has no NaN or inf)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def write_json(out: IO[str], doc: Any) -> None:
    """Write ``doc`` (after ``json_ready``) to ``out`` as indented JSON and a newline:
    the output of every subcommand's ``--json``."""
    out.write(json.dumps(json_ready(doc), indent=2) + "\n")


def format_number(value: Any, digits: int = 7) -> str:
    """A number for a text table: integers, and floats holding integers below 10^15, as
    integers (448, -2147483648); other floats with ``digits`` significant digits
    (general format: 0.1, 1.984375, 3.402823e+38); non-finite as nan / inf / -inf; None
    as "-"."""
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{digits}g}"


def report_error(err: IO[str], prog: str, exc: BaseException) -> int:
    """Write "PROG: error: MESSAGE" on one line of ``err``; returns 2 (``EXIT_USAGE``)."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        msg = f"{exc.filename}: {exc.strerror}"
    err.write(f"{prog}: error: {msg}\n")
    return EXIT_USAGE


def exit_status(err: IO[str], prog: str, command: Callable[[], int]) -> int:
    """Run ``command`` and return its exit status; a usage or input error it raises
    (``UsageError``, ``ValueError``, ``TypeError``, ``OSError``) is reported on one line
    of ``err`` by ``report_error`` and gives ``EXIT_USAGE``."""
    try:
        return int(command())
    except (UsageError, ValueError, TypeError, OSError) as exc:
        return report_error(err, prog, exc)


def warn_deprecated(err: IO[str], prog: str, old: str, new: str) -> None:
    """Write "PROG: warning: OLD is deprecated ...; use NEW" on one line of ``err``."""
    err.write(f"{prog}: warning: {old} is deprecated and will be removed in the next "
              f"release; use {new}\n")


def table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A plain-text table: the header, a rule of dashes, one line per row; columns in
    ``right`` are right-aligned, trailing spaces dropped."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
