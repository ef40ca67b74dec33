"""What every ``refquant`` command shares: one-line usage errors, the exit statuses and
plain-text tables."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO, NoReturn

__all__ = ["UsageError", "ArgumentParser", "report_error", "exit_status", "warn_deprecated",
           "table", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]

EXIT_OK = 0       # done as asked
EXIT_FAILED = 1   # ran, and found mismatches or failures
EXIT_USAGE = 2    # usage or input error


class UsageError(Exception):
    """A usage or input error of a ``refquant`` command: the command prints
    "refquant CMD: error: MESSAGE" as one line on stderr and exits with status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad argument raises ``UsageError`` (the command
    turns it into exit status 2) instead of printing the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


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
