"""``refquant warmup``, the one-line compile notice, and one compilation per argument types.

- ``refquant warmup`` runs its workloads, exits 0, and reports (text and ``--json``) the
  cache folder in use and the kernel specialisations it compiled or loaded; in a fresh
  process with an empty NUMBA_CACHE_DIR it compiles into that folder, and a second process
  loads everything from there (nothing compiled);
- the notice "compiling kernels (first run only)" goes to stderr once per process, when
  compiling refquant's kernels (after cache misses) has taken ``NOTICE_AFTER_S`` seconds,
  never to stdout (``--json`` stays a JSON document), and not at all when the kernels load
  from the cache or compile quickly;
- ``refquant.kernels.njit``: a kernel called from compiled code with different constant
  arguments is compiled once for their types (Numba's njit compiles one copy per literal).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refquant.cli import COMMANDS, main
from refquant.cli._warmup import WORKLOADS, workload_commands

NOTICE = "compiling kernels (first run only)"

REPO = Path(__file__).resolve().parents[2]


def _run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _fresh(args, cache_dir):
    """``python -m refquant ARGS`` in a new interpreter with NUMBA_CACHE_DIR=cache_dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    return subprocess.run([sys.executable, "-m", "refquant", *args], env=env, cwd=str(REPO),
                          capture_output=True, text=True, timeout=1800)


def test_warmup_is_a_command():
    assert "warmup" in COMMANDS
    status, out, err = _run_cli(["warmup", "--help"])
    assert status == 0
    for name in WORKLOADS:
        assert name in out


def test_every_workload_names_refquant_commands():
    for name in WORKLOADS:
        lines = workload_commands(name)
        assert lines and all(argv[0] in COMMANDS and argv[0] != "warmup" for argv in lines)
    with pytest.raises(ValueError, match="unknown workload"):
        workload_commands("everything")


@pytest.mark.parametrize("only", ["bogus", "", ",", "compare,bogus"])
def test_unknown_workload_is_a_usage_error(only):
    status, out, err = _run_cli(["warmup", "--only", only])
    assert status == 2 and out == ""
    assert err.startswith("refquant warmup: error: --only=") and err.count("\n") == 1


def test_warmup_json_reports_cache_and_kernels():
    import refquant.kernels as kernels
    status, out, err = _run_cli(["warmup", "--only", "tensorcore", "--json"])
    assert status == 0, err
    doc = json.loads(out)
    assert doc["command"] == "warmup"
    assert doc["cache_dir"] == kernels.cache_dir
    assert [w["name"] for w in doc["workloads"]] == ["tensorcore"]
    assert all(w["error"] is None for w in doc["workloads"])
    assert doc["compiled"] == sum(k["compiled"] for k in doc["kernels"])
    assert doc["loaded"] == sum(k["loaded"] for k in doc["kernels"])
    for k in doc["kernels"]:
        assert k["compiled"] + k["loaded"] == len(k["signatures"]) >= 1


def test_warmup_text_names_the_cache():
    import refquant.kernels as kernels
    status, out, err = _run_cli(["warmup", "--only", "tensorcore"])
    assert status == 0, err
    assert out.splitlines()[0].startswith("tensorcore ")
    assert f"cache: {kernels.cache_dir}" in out


def test_cold_warmup_fills_an_empty_cache(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    first = _fresh(["warmup", "--only", "tensorcore", "--json"], cache)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)   # the notice is not on stdout
    assert Path(doc["cache_dir"]).parent == cache
    assert doc["compiled"] > 0 and doc["loaded"] == 0
    assert first.stderr.splitlines().count(NOTICE) == 1
    assert list(cache.rglob("*.nbi"))
    second = _fresh(["warmup", "--only", "tensorcore", "--json"], cache)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    # the kernels the commands call are loaded (the kernels they call are compiled into
    # them, so those are not loaded on their own)
    assert again["compiled"] == 0 and 0 < again["loaded"] <= doc["compiled"]
    assert NOTICE not in second.stderr


def test_cold_compare_prints_the_notice_once_on_stderr(tmp_path):
    # the default formats: a few seconds of compiling, well above the notice's 1 s
    args = ["compare", "--tensors", "gaussian", "--json"]
    cold = _fresh(args, tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert cold.stderr.splitlines().count(NOTICE) == 1
    rows = json.loads(cold.stdout)
    warm = _fresh(args, tmp_path)
    assert warm.returncode == 0 and NOTICE not in warm.stderr
    assert json.loads(warm.stdout) == rows


class _Event:
    def __init__(self, dispatcher):
        self.data = {"dispatcher": dispatcher}


def _fresh_notice(monkeypatch, after_s):
    import refquant.kernels as kernels
    monkeypatch.setattr(kernels, "NOTICE_AFTER_S", after_s)
    return kernels, kernels._CompileNotice()


def test_notice_once_when_compiling_takes_long(monkeypatch, capsys):
    from refquant.kernels import rounding
    kernels, notice = _fresh_notice(monkeypatch, 0.0)
    assert kernels.NOTICE == NOTICE
    outer, inner = _Event(rounding.uniform53), _Event(rounding.lsr64)
    notice.on_start(outer)
    notice.on_start(inner)          # nested: one timer
    notice.timer.join(60)
    notice.on_end(inner)
    notice.on_end(outer)
    notice.on_start(outer)          # a later compilation: nothing more
    notice.on_end(outer)
    captured = capsys.readouterr()
    assert captured.err == NOTICE + "\n" and captured.out == ""


def test_no_notice_for_short_compilations_or_other_code(monkeypatch, capsys):
    import numba
    from refquant.kernels import rounding
    kernels, notice = _fresh_notice(monkeypatch, 3600.0)
    event = _Event(rounding.uniform53)
    notice.on_start(event)
    timer = notice.timer
    notice.on_end(event)
    timer.join(60)
    assert not notice.shown and notice.depth == 0 and notice.spent > 0

    @numba.njit
    def not_a_kernel(x):
        return x

    kernels, notice = _fresh_notice(monkeypatch, 0.0)
    notice.on_start(_Event(not_a_kernel))
    notice.on_end(_Event(not_a_kernel))
    assert notice.timer is None and not notice.shown
    assert capsys.readouterr().err == ""


def test_notice_says_when_nothing_is_cached(monkeypatch, capsys):
    kernels, notice = _fresh_notice(monkeypatch, 0.0)
    monkeypatch.setattr(kernels, "cache_dir", None)
    notice.show()
    notice.show()
    assert capsys.readouterr().err == kernels.NOTICE_NO_CACHE + "\n"


def test_one_compilation_per_argument_types():
    from refquant.kernels import njit

    @njit
    def scaled(x, k, flip):
        return -x * k if flip else x * k

    @njit
    def caller(x):
        return scaled(x, 2, False) + scaled(x, 3, True) + scaled(x, 5, False)

    assert caller(7) == 14 - 21 + 35
    assert caller(np.int64(-1)) == -2 + 3 - 5
    assert len(scaled.signatures) == 1
    assert scaled(4, 2, True) == -8 and len(scaled.signatures) == 1


def test_njit_takes_numba_options():
    from refquant.kernels import njit

    @njit(cache=False, boundscheck=False)
    def total(a):
        s = 0.0
        for v in a:
            s += v
        return s

    assert total(np.arange(5.0)) == 10.0
