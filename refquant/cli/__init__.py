"""The ``refquant`` command: one argument parser for every subcommand (``compare``,
``formats``, ``systolic``, ``tensorcore replay`` / ``gemm``, ...); ``main`` runs it and
returns the exit status, 0 done as asked, 1 ran and found failures or mismatches, 2 usage
or input error (one line "refquant CMD: error: MESSAGE" on stderr). ``refquant`` alone
prints the help, ``refquant --version`` the version; each subcommand's ``--help`` states
its options with their defaults, every subcommand takes ``--json``, and an option that
does not apply to the chosen mode is a usage error, never ignored."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO

from .._progress import Progress
from . import _compare, _formats, _systolic, _tensorcore
from . import _sweep
from . import _vectors
from . import _warmup
from ._common import (ArgumentParser, UsageError, add_json_option, exit_status,
                      warn_deprecated, write_json)
from ._compare import (DEFAULT_BITS, MAX_INPUT_BYTES, SCALE_BITS, compare_tensor,
                       default_formats, select_formats)
from ._systolic import reference_gemm
from ._tensorcore import RECORDED_NAME, default_instruction, read_recorded

__all__ = [
    "main",
    "build_parser",
    "compare_tensor",
    "default_formats",
    "select_formats",
    "reference_gemm",
    "read_recorded",
    "default_instruction",
    "RECORDED_NAME",
    "UsageError",
    "ArgumentParser",
    "Progress",
    "SCALE_BITS",
    "DEFAULT_BITS",
    "MAX_INPUT_BYTES",
    "COMMANDS",
    "add_json_option",
    "write_json",
]

# One module per subcommand, each with add_parser(sub); a new subcommand adds one line here
# and its name to COMMANDS.
SUBCOMMANDS = (
    _compare,
    _formats,
    _systolic,
    _tensorcore,
    _sweep,
    _vectors,
    _warmup,
)
COMMANDS = (
    "compare",
    "formats",
    "systolic",
    "tensorcore",
    "sweep",
    "vectors",
    "warmup",
)
# the command that options given without one ran before ``refquant`` alone printed help
DEFAULT_COMMAND = "compare"


def version() -> str:
    """The installed refquant's version (its package metadata; a source tree that is not
    installed reports the package's ``__version__``)."""
    from importlib import metadata
    try:
        return metadata.version("refquant")
    except metadata.PackageNotFoundError:
        return str(getattr(sys.modules.get("refquant"), "__version__", "unknown"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``refquant`` command: one subparser per command, each
    setting ``run(args, out, err) -> exit status``; errors raise ``UsageError``."""
    ap = ArgumentParser(
        prog="refquant",
        description="Bit-exact reference for neural-network number formats. Run "
                    "'refquant COMMAND --help' for a command's options. Exit status: "
                    "0 done as asked, 1 ran and found failures or mismatches, 2 usage or "
                    "input error.")
    ap.add_argument("--version", action="version", version=f"refquant {version()}",
                    help="print the version and exit")
    sub = ap.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}",
                            title="commands")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return ap


def _default_command_options() -> set[str]:
    """The options of ``DEFAULT_COMMAND`` (those earlier releases took without it)."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {o for a in sub.choices[DEFAULT_COMMAND]._actions for o in a.option_strings
            if o not in ("-h", "--help")}


def main(argv: Sequence[str] | None = None, stdout: IO[str] | None = None,
         stderr: IO[str] | None = None) -> int:
    """Run the ``refquant`` command with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status: 0 done as asked; 1 ran and found failures (a ``compare`` row whose
    quantization raised or whose figures are not finite; a simulator mismatch or
    accumulator overflow); 2 usage or input error, reported as one line
    "refquant CMD: error: MESSAGE" on stderr. No arguments: the help, listing the
    commands, on stdout (status 0); ``--help`` and ``--version`` print and return 0.
    Options of ``compare`` given without a command run ``compare`` with a deprecation
    warning on stderr (the behaviour of earlier releases); other leading options are
    usage errors."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in:
        out.write(build_parser().format_help())
        return 0
    if args_in[0].split("=")[0] in _default_command_options():
        warn_deprecated(err, "refquant", f"running {DEFAULT_COMMAND} without naming it",
                        f"refquant {DEFAULT_COMMAND} {' '.join(args_in)}")
        args_in = [DEFAULT_COMMAND] + args_in
    prog = f"refquant {args_in[0]}" if args_in[0] in COMMANDS else "refquant"

    def command() -> int:
        saved = sys.stdout
        sys.stdout = out   # argparse prints --help and --version on sys.stdout
        try:
            args, extra = build_parser().parse_known_args(args_in)
        except SystemExit as exc:   # --help, --version
            return 0 if exc.code in (0, None) else 2
        finally:
            sys.stdout = saved
        if extra:   # named by the command they were given to
            raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see {prog} --help)")
        return int(args.run(args, out, err))
    return exit_status(err, prog, command)
