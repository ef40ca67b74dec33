"""``refquant sweep``: run a candidate (a peer library's conversion or a command reading
and writing ``.npy`` chunks) against refquant over a whole domain, or run a shipped
proof (``--preset``)."""
from __future__ import annotations

import argparse
import json
from typing import IO, Any

from ..testing import DOMAIN_FORMS, OPS, PRESETS, run_preset, sweep
from ._common import EXIT_FAILED, EXIT_OK, UsageError, table

__all__ = ["add_parser", "run", "describe"]

HELP = "sweep a candidate against refquant over every input of a domain"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to the subparsers ``sub``."""
    p = sub.add_parser(
        "sweep", help=HELP,
        description=HELP + ". Exit status 0: no mismatches; 1: mismatches found; 2: usage "
                           "or input error (a failing candidate, an unreachable scheduler).")
    p.add_argument("--preset", metavar="NAME",
                   help="run a shipped proof (see --list-presets); excludes --candidate, "
                        "--format, --domain and --op (default: none)")
    p.add_argument("--list-presets", action="store_true",
                   help="list the presets and exit (default: off)")
    p.add_argument("--candidate", metavar="C",
                   help="ml_dtypes, numpy, LIBRARY:TYPE, py:MODULE:FUNCTION (a Python "
                        "function of the input chunk), or 'cmd:COMMAND LINE' (the command "
                        "reads {input} and writes {output} as .npy; without the "
                        "placeholders the two paths are appended) (default: none)")
    p.add_argument("--format", metavar="F", dest="fmt",
                   help="the refquant format (default: the FORMAT of codes:FORMAT)")
    p.add_argument("--domain", metavar="D", default=None,
                   help=f"one of {', '.join(DOMAIN_FORMS)} (default: float32)")
    p.add_argument("--op", choices=OPS, default=None,
                   help="what the candidate computes (default: encode for float domains, "
                        "decode for codes)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: every core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask cluster of this scheduler, e.g. tcp://host:8786 "
                        "(default: the local machine)")
    p.add_argument("--scheduler-timeout", type=float, default=None, metavar="S",
                   help="seconds to reach the scheduler (default: 10)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help="inputs per task (default: 4194304)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="write progress to FILE as chunks finish (default: none)")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep recorded in --checkpoint FILE (default: off)")
    p.add_argument("--examples", type=int, default=5, metavar="K",
                   help="mismatches shown per class (default: 5)")
    p.add_argument("--command-timeout", type=float, default=None, metavar="S",
                   help="seconds a command candidate may take per chunk (default: 600)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output: the report as JSON (default: text)")
    p.set_defaults(run=run)
    return p


def _options(args: argparse.Namespace) -> dict[str, Any]:
    if args.resume and not args.checkpoint:
        raise UsageError("--resume needs --checkpoint FILE")
    if args.scheduler is None:
        if args.scheduler_timeout is not None:
            raise UsageError("--scheduler-timeout applies only with --scheduler")
    elif args.workers is not None:
        raise UsageError("--workers applies to the local engine, not with --scheduler "
                         "(the cluster has its own workers)")
    opts: dict[str, Any] = {"checkpoint": args.checkpoint, "resume": args.resume,
                            "examples": args.examples, "progress": args.progress}
    if args.workers is not None:
        opts["workers"] = args.workers
    if args.scheduler is not None:
        opts["scheduler"] = args.scheduler
        opts["scheduler_timeout"] = (10.0 if args.scheduler_timeout is None
                                     else args.scheduler_timeout)
    if args.chunk_size is not None:
        opts["chunk_size"] = args.chunk_size
    return opts


def describe(rep: dict[str, Any]) -> str:
    """The report of a sweep as text."""
    t = rep["timing"]
    lines = [f"sweep {rep.get('preset') or ''}".rstrip(),
             f"  format     {rep['format']}",
             f"  domain     {rep['domain']} ({rep['inputs']} inputs, op {rep['op']})",
             f"  candidate  {rep['candidate']}",
             f"  reference  {rep['reference']}",
             f"  compared   {rep['compared']}"]
    if rep["excluded"]["count"]:
        lines.append(f"  excluded   {rep['excluded']['count']} ({rep['excluded']['reason']})")
    lines.append(f"  mismatches {rep['mismatches']} ({100.0 * rep['share']:.6g}%)")
    if rep["mismatches"]:
        rows = [[c.replace("_", " "), str(k)] for c, k in rep["by_class"].items() if k]
        lines.append(table(["class", "count"], rows, right={1}))
        if rep["max_distance"] is not None:
            lines.append(f"largest distance: {rep['max_distance']} code steps")
        lines.append("first mismatches (index: input -> candidate / reference, class):")
        for r in rep["examples"]:
            inp = f"{r['input']!r}" + (f" [{r['input_bits']}]" if "input_bits" in r else "")
            lines.append(f"  {r['index']}: {inp} -> {r['actual']['code']} "
                         f"({r['actual']['value']!r}) / {r['expected']['code']} "
                         f"({r['expected']['value']!r}), {r['class'].replace('_', ' ')}")
    if rep.get("convention"):
        lines.append(f"convention: {rep['convention']}")
    lines.append(f"{t['seconds']:.1f} s, {t['inputs_per_s'] or 0:.3g} inputs/s, "
                 f"{t['engine']} engine, {t['workers']} workers"
                 + (f", {t['resumed_chunks']} chunks from the checkpoint"
                    if t["resumed_chunks"] else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run the sweep (or list the presets); exit status 0 without mismatches, 1 with."""
    if args.list_presets:
        if any(v is not None for v in (args.preset, args.candidate, args.fmt, args.domain)):
            raise UsageError("--list-presets takes no sweep options")
        if args.json:
            out.write(json.dumps({"command": "sweep", "presets": [
                {"name": p.name, "format": p.fmt, "domain": p.domain,
                 "convention": p.convention or None, "needs": p.needs}
                for p in PRESETS.values()]}, indent=2) + "\n")
        else:
            rows = [[p.name, p.fmt, p.domain, p.needs or "-"] for p in PRESETS.values()]
            out.write(table(["preset", "format", "domain", "needs"], rows, right=set()) + "\n")
        return EXIT_OK
    opts = _options(args)
    if args.scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError("--scheduler needs dask.distributed (pip install "
                             "'refquant[dask]')") from None
    if args.preset is not None:
        given = [o for o, v in (("--candidate", args.candidate), ("--format", args.fmt),
                                ("--domain", args.domain), ("--op", args.op),
                                ("--command-timeout", args.command_timeout))
                 if v is not None]
        if given:
            raise UsageError(f"--preset sets the sweep; {', '.join(given)} does not apply")
        rep = run_preset(args.preset, **opts)
    else:
        if args.candidate is None:
            raise UsageError("give --candidate (with --format / --domain) or --preset")
        if args.command_timeout is not None:
            if not args.candidate.startswith("cmd:"):
                raise UsageError("--command-timeout applies only to a cmd: candidate")
            opts["command_timeout"] = args.command_timeout
        rep = sweep(args.candidate, args.fmt, args.domain or "float32", op=args.op, **opts)
    if args.json:
        out.write(json.dumps({"command": "sweep", **rep}, indent=2) + "\n")
    else:
        out.write(describe(rep) + "\n")
    return EXIT_FAILED if rep["mismatches"] else EXIT_OK
