"""The command line a person expects: ``refquant`` alone prints help, ``--version``,
``--json`` on every (sub)command, every option with a help text that states its default,
help texts without code markup. The checks walk ``cli.COMMANDS``, so a new subcommand is
checked without an edit here."""
import argparse
import io
import json
import subprocess
import sys

import pytest

import refquant
from refquant import cli


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _leaves(parser, path=()):
    """(command path, parser) of every parser that runs something (no subcommands)."""
    sub = _subparsers(parser)
    if sub is None:
        yield path, parser
        return
    for name, child in sub.choices.items():
        yield from _leaves(child, path + (name,))


def _command_leaves():
    top = _subparsers(cli.build_parser())
    assert tuple(top.choices) == cli.COMMANDS
    return [(path, p) for name in cli.COMMANDS for path, p in _leaves(top.choices[name], (name,))]


LEAVES = _command_leaves()
IDS = [" ".join(path) for path, _ in LEAVES]


def test_bare_refquant_prints_help_with_the_commands():
    rc, out, err = run([])
    assert rc == 0 and err == ""
    assert out.startswith("usage: refquant")
    for name in cli.COMMANDS:
        assert name in out
    assert "--version" in out


def test_version():
    rc, out, err = run(["--version"])
    assert rc == 0 and err == ""
    assert out == f"refquant {refquant.__version__}\n"


def test_help_and_bare_run_as_a_program():
    r = subprocess.run([sys.executable, "-m", "refquant"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("usage: refquant") and r.stderr == ""
    r = subprocess.run([sys.executable, "-m", "refquant", "--version"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and r.stdout == f"refquant {refquant.__version__}\n"


def test_options_without_a_command_run_compare_with_a_warning(tmp_path):
    import numpy as np
    p = tmp_path / "a.npy"
    np.save(p, np.array([127.0, -1.0]))
    rc, out, err = run(["--input", str(p), "--formats", "int8", "--json"])
    assert rc == 0
    assert err.startswith("refquant: warning: running compare without naming it is "
                          "deprecated")
    assert f"use refquant compare --input {p} --formats int8 --json" in err
    assert json.loads(out)["command"] == "compare"


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=IDS)
def test_help_of_every_command(path):
    rc, out, err = run(list(path) + ["--help"])
    assert rc == 0 and err == ""
    assert out.startswith(f"usage: refquant {' '.join(path)}")
    assert "``" not in out and "`" not in out, "help shows code markup"


@pytest.mark.parametrize("parser", [p for _, p in LEAVES], ids=IDS)
def test_every_command_takes_json(parser):
    opts = {o for a in parser._actions for o in a.option_strings}
    assert "--json" in opts


@pytest.mark.parametrize("parser", [p for _, p in LEAVES], ids=IDS)
def test_every_option_has_help_stating_its_default(parser):
    fmt = parser._get_formatter()
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        name = "/".join(action.option_strings)
        assert action.help, f"{parser.prog} {name} has no help text"
        text = fmt._get_help_string(action) % {"default": action.default}
        flag = action.nargs == 0
        if not flag and action.default is not None and not action.required:
            assert "default" in text.lower(), f"{parser.prog} {name}: help states no default"


def test_json_of_formats_compare_systolic_tensorcore(tmp_path):
    import numpy as np
    p = tmp_path / "a.npy"
    np.save(p, np.array([127.0, -1.0, 0.5]))
    for argv, key in ((["formats"], "formats"),
                      (["compare", "--input", str(p), "--formats", "int8"], "results"),
                      (["systolic", "--rows", "2", "--cols", "2", "--gemm", "2", "3", "2"],
                       "stats"),
                      (["tensorcore", "replay", "--gpu", "H100", "--format", "bf16"],
                       "mismatches"),
                      (["tensorcore", "gemm", "--gpu", "A100", "-m", "2", "-n", "2", "-k",
                        "64"], "errors")):
        rc, out, err = run(argv + ["--json"])
        assert rc == 0, err
        doc = json.loads(out)
        assert key in doc, argv
    rc, out, _ = run(["tensorcore", "gemm", "--gpu", "A100", "-m", "2", "-n", "2", "-k", "64",
                      "--json"])
    doc = json.loads(out)
    assert [r["K"] for r in doc["errors"]] == [32, 64]
    rc, out, _ = run(["tensorcore", "replay", "--gpu", "H100", "--format", "bf16", "--json"])
    doc = json.loads(out)
    assert doc["rows"] == doc["bit_exact"] == 250 and doc["mismatches"] == []


def test_json_writer_handles_numpy_and_non_finite():
    import numpy as np
    from refquant.cli._common import format_number, write_json
    s = io.StringIO()
    write_json(s, {"a": np.float32(0.5), "b": np.int64(3), "c": [np.inf, -np.inf, np.nan],
                   "d": np.arange(2), "e": (True, np.bool_(False))})
    assert json.loads(s.getvalue()) == {"a": 0.5, "b": 3, "c": [None, None, None],
                                        "d": [0, 1], "e": [True, False]}
    assert [format_number(v) for v in (448.0, -2147483648.0, 1.984375, 3.4028234663852886e38,
                                       1e-7, float("nan"), None, 7)] == [
        "448", "-2147483648", "1.984375", "3.402823e+38", "1e-07", "nan", "-", "7"]
