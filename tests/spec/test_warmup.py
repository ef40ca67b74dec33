"""``refquant warmup``, the one-line compile notice, and one compilation per argument types.

- ``refquant warmup`` runs its workloads, exits 0, and reports (text and ``--json``) the
  cache folder in use and the kernel specialisations it compiled or loaded; in a fresh
  process with an empty NUMBA_CACHE_DIR it compiles into that folder, and a second process
  loads everything from there (nothing compiled);
- the notice "compiling kernels (first run only)" goes to stderr once, before the first
  compilation of a process whose cache lacks the kernel, never to stdout (``--json`` stays
  a JSON document) and not at all when the cache holds the kernels;
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

from refquant import _lazy
from refquant.cli import COMMANDS, main
from refquant.cli._warmup import WORKLOADS, workload_commands

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
    assert first.stderr.splitlines().count(_lazy.NOTICE) == 1
    assert list(cache.rglob("*.nbi"))
    second = _fresh(["warmup", "--only", "tensorcore", "--json"], cache)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    # the kernels the commands call are loaded (the kernels they call are compiled into
    # them, so those are not loaded on their own)
    assert again["compiled"] == 0 and 0 < again["loaded"] <= doc["compiled"]
    assert _lazy.NOTICE not in second.stderr


def test_cold_compare_prints_the_notice_once_on_stderr(tmp_path):
    args = ["compare", "--formats", "e2m1,e4m3fn", "--tensors", "gaussian", "--json"]
    cold = _fresh(args, tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert cold.stderr.splitlines().count(_lazy.NOTICE) == 1
    rows = json.loads(cold.stdout)
    warm = _fresh(args, tmp_path)
    assert warm.returncode == 0 and _lazy.NOTICE not in warm.stderr
    assert json.loads(warm.stdout) == rows


def test_notice_only_for_kernels_missing_from_the_cache(monkeypatch, capsys):
    import refquant.kernels as kernels
    from refquant.kernels import rounding
    monkeypatch.setattr(_lazy, "_announced", False)
    monkeypatch.setattr(kernels, "cache_dir", "/nonexistent")
    kernel = rounding.uniform53
    monkeypatch.setattr(kernel, "overloads", {})  # as in a process that has not called it
    # cached: silent
    monkeypatch.setattr(kernels, "cache_is_cold", lambda module, name: False)
    _lazy.kernels("rounding").uniform53
    assert capsys.readouterr().err == ""
    # a module constant is no kernel: silent
    monkeypatch.setattr(kernels, "cache_is_cold", lambda module, name: True)
    _lazy.kernels("rounding").__dict__.pop("_TWO_M53", None)
    _lazy.kernels("rounding")._TWO_M53
    assert capsys.readouterr().err == ""
    # missing from the cache: once per process
    _lazy.kernels("rounding").uniform53
    _lazy.kernels("rounding").lsr64
    captured = capsys.readouterr()
    assert captured.err == _lazy.NOTICE + "\n" and captured.out == ""


def test_notice_without_any_cache(monkeypatch, capsys):
    import refquant.kernels as kernels
    from refquant.kernels import rounding
    monkeypatch.setattr(_lazy, "_announced", False)
    monkeypatch.setattr(kernels, "cache_dir", None)
    monkeypatch.setattr(rounding.uniform53, "overloads", {})
    _lazy.kernels("rounding").uniform53
    assert capsys.readouterr().err == _lazy.NOTICE_NO_CACHE + "\n"


def test_cache_is_cold_reads_the_index_files(monkeypatch, tmp_path):
    import refquant.kernels as kernels
    (tmp_path / "floats.encode_float-259.py311.nbi").write_bytes(b"")
    monkeypatch.setattr(kernels, "cache_dir", str(tmp_path))
    monkeypatch.setattr(kernels, "_cache_listing", None)
    assert not kernels.cache_is_cold("floats", "encode_float")
    assert kernels.cache_is_cold("floats", "decode_float")
    assert kernels.cache_is_cold("posit", "encode_float")
    monkeypatch.setattr(kernels, "cache_dir", None)
    assert not kernels.cache_is_cold("floats", "decode_float")


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
