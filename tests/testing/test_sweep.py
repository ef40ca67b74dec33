"""sweep: planted mismatches reported exactly; an interrupted sweep resumed from its
checkpoint gives the uninterrupted report; the local and Dask engines agree; bad input
gives a clear error, never a hang."""
from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import refquant as rq
from refquant.cli import main
from refquant.testing import CandidateError, parse_domain, run_preset, sweep, without_timing
from refquant.testing._presets import nar_pairs, posit32_monotone, posit32_recode

E4M3FN = rq.format("e4m3fn")
DOMAIN = "random:60000:11"
PLANT_MOD = 997


def planted_indices(domain: str = DOMAIN) -> np.ndarray:
    x = parse_domain(domain).inputs(0, parse_domain(domain).size)
    bits = x.view(np.uint32)
    return np.flatnonzero((bits % PLANT_MOD == 0) & ~np.isnan(x))


def wrong_e4m3fn(x: np.ndarray) -> np.ndarray:
    """refquant's e4m3fn codes with the low bit flipped where the input's bits are a
    multiple of 997 (NaN inputs left alone)."""
    c = E4M3FN.encode(x)
    plant = (x.view(np.uint32) % PLANT_MOD == 0) & ~np.isnan(x)
    c[plant] ^= 1
    return c


_CALLS = {"n": 0, "stop_at": None}


def interrupted_e4m3fn(x: np.ndarray) -> np.ndarray:
    """wrong_e4m3fn, stopping (as Ctrl-C would) at the call number _CALLS['stop_at']."""
    _CALLS["n"] += 1
    if _CALLS["stop_at"] is not None and _CALLS["n"] >= _CALLS["stop_at"]:
        raise KeyboardInterrupt
    return wrong_e4m3fn(x)


def test_planted_mismatches_are_reported_exactly():
    want = planted_indices()
    assert want.size > 30
    rep = sweep(wrong_e4m3fn, "e4m3fn", DOMAIN, chunk_size=7000, workers=1, examples=4)
    assert rep["mismatches"] == want.size and rep["compared"] == 60000
    assert rep["chunks"] == 9 and rep["excluded"]["count"] == 0
    shown = [e["index"] for e in rep["examples"]]
    assert shown == want[:4].tolist()
    for c, recs in rep["examples_by_class"].items():
        assert all(r["index"] in set(want.tolist()) and r["class"] == c for r in recs)
    assert sum(rep["by_class"].values()) == want.size
    assert rep["max_distance"] is not None and rep["max_distance"] >= 1
    json.dumps(rep, allow_nan=False)


def test_process_pool_gives_the_same_report():
    one = sweep(wrong_e4m3fn, "e4m3fn", DOMAIN, chunk_size=7000, workers=1)
    two = sweep(wrong_e4m3fn, "e4m3fn", DOMAIN, chunk_size=7000, workers=2)
    assert two["timing"]["workers"] == 2
    assert without_timing(one) == without_timing(two)


def test_interrupted_sweep_resumed_from_checkpoint_equals_uninterrupted(tmp_path):
    ck = tmp_path / "sweep.json"
    full = sweep(wrong_e4m3fn, "e4m3fn", DOMAIN, chunk_size=5000, workers=1)
    _CALLS.update(n=0, stop_at=5)
    with pytest.raises(KeyboardInterrupt):
        sweep(interrupted_e4m3fn, "e4m3fn", DOMAIN, chunk_size=5000, workers=1,
              checkpoint=ck)
    saved = json.loads(ck.read_text())
    assert sorted(int(i) for i in saved["parts"]) == [0, 1, 2, 3]
    _CALLS.update(n=0, stop_at=None)
    resumed = sweep(interrupted_e4m3fn, "e4m3fn", DOMAIN, chunk_size=5000, workers=1,
                    checkpoint=ck, resume=True)
    assert resumed["timing"]["resumed_chunks"] == 4 and _CALLS["n"] == 8
    full["candidate"] = resumed["candidate"]   # the two functions differ only by name
    assert without_timing(resumed) == without_timing(full)
    # a checkpoint of another sweep is refused
    with pytest.raises(ValueError, match="belongs to another sweep"):
        sweep(interrupted_e4m3fn, "e4m3fn", DOMAIN, chunk_size=4000, workers=1,
              checkpoint=ck, resume=True)


def test_local_engine_and_dask_local_cluster_agree():
    distributed = pytest.importorskip("distributed")
    # fp16 against NumPy: NaN payloads differ (refquant's default NaN is canonical), so
    # the two reports carry counts and examples, not just zeros
    kw = dict(chunk_size=25000)
    local = sweep("numpy", "fp16", "random:200000:5", workers=1, **kw)
    assert local["by_class"]["nan"] > 0
    with distributed.LocalCluster(n_workers=0, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        # a cluster without workers is an error after the timeout, not a hang
        with pytest.raises(ConnectionError, match="has no worker after the timeout of 0.5 s"):
            sweep("numpy", "fp16", "random:10:1", scheduler=client, scheduler_timeout=0.5)
        cluster.scale(2)
        client.wait_for_workers(2, timeout=60)
        remote = sweep("numpy", "fp16", "random:200000:5", scheduler=client, **kw)
    assert remote["timing"]["engine"] == "dask" and remote["timing"]["workers"] == 2
    assert without_timing(local) == without_timing(remote)


def test_peer_and_command_candidates():
    pytest.importorskip("ml_dtypes")
    rep = sweep("ml_dtypes", "e4m3fn", "random:3000:2", workers=1)
    assert rep["mismatches"] == 0 and rep["candidate"] == "ml_dtypes:float8_e4m3fn"
    script = textwrap.dedent("""
        import sys, numpy as np
        x = np.load(sys.argv[1])
        np.save(sys.argv[2], np.where(np.isnan(x), 0, x).astype(np.float16).view(np.uint16))
    """)
    rep = sweep([sys.executable, "-c", script], "fp16", "random:3000:2", workers=1,
                chunk_size=1500)
    assert rep["chunks"] == 2 and rep["mismatches"] == rep["by_class"]["nan"] > 0
    # NaN inputs of a format without NaN are left out and counted
    rep = sweep("ml_dtypes", "e2m1", "random:20000:2", workers=1)
    nans = np.isnan(parse_domain("random:20000:2").inputs(0, 20000)).sum()
    assert rep["excluded"]["count"] == nans > 0 and rep["compared"] == 20000 - nans
    assert rep["mismatches"] == 0


def test_presets_of_small_formats_and_posit32_checks():
    for name in ("e4m3fn-fraction", "posit8-fraction", "int4-fraction", "tent8-fraction"):
        rep = run_preset(name, workers=1)
        assert rep["mismatches"] == 0 and rep["compared"] == rep["inputs"], name
    c = np.r_[np.arange(0, 2000), np.arange(0x7FFFF000, 0x80001000),
              np.arange(0xFFFFF000, 0x100000000)].astype(np.uint32)
    assert np.array_equal(posit32_recode(c), c)
    ok = posit32_monotone(c).astype(bool) | nar_pairs(c)
    assert ok.all()


def wrong_shape(x):
    return x[:-1]


def wrong_dtype(x):
    return np.zeros(x.shape, dtype=bool)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="unknown format 'e9m9zz'"):
        sweep("ml_dtypes", "e9m9zz", "random:10:1", workers=1)
    with pytest.raises(ValueError, match="unknown domain 'every-code'"):
        sweep("ml_dtypes", "e4m3fn", "every-code", workers=1)
    with pytest.raises(ValueError, match="unknown candidate"):
        sweep("torch-ish", "e4m3fn", "random:10:1", workers=1)
    with pytest.raises(ValueError, match="has no type for posit16"):
        sweep("ml_dtypes", "posit16", "random:10:1", workers=1)
    with pytest.raises(CandidateError, match=r"shape \(9,\) for an input chunk of shape \(10,\)"):
        sweep(wrong_shape, "e4m3fn", "random:10:1", workers=1)
    with pytest.raises(CandidateError, match="dtype bool"):
        sweep(wrong_dtype, "e4m3fn", "random:10:1", workers=1)
    with pytest.raises(CandidateError, match="exited with status 3: boom"):
        sweep([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"],
              "e4m3fn", "random:10:1", workers=1)
    with pytest.raises(CandidateError, match="not found"):
        sweep(["/nonexistent/kernel-binary"], "e4m3fn", "random:10:1", workers=1)
    with pytest.raises(TypeError, match="cannot be sent to worker processes"):
        sweep(lambda x: x, "e4m3fn", "random:10:1", workers=2)
    with pytest.raises(ValueError, match="needs a domain of codes"):
        sweep("ml_dtypes", "e4m3fn", "random:10:1", op="decode", workers=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_names_address_and_timeout():
    pytest.importorskip("distributed")
    addr = f"tcp://127.0.0.1:{_free_port()}"
    code = ("import refquant.testing as T\n"
            "try:\n"
            f"    T.sweep('numpy', 'fp16', 'random:10:1', scheduler={addr!r}, "
            "scheduler_timeout=1)\n"
            "except ConnectionError as e:\n"
            "    print(e)\n")
    # a hang would run into the subprocess timeout and fail the test
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert f"cannot reach the Dask scheduler at {addr} within the timeout of 1 s" in r.stdout


def _cli(*args):
    out, err = io.StringIO(), io.StringIO()
    return main(["sweep", *args], out, err), out.getvalue(), err.getvalue()


def test_cli_sweep_exit_codes_and_json(tmp_path):
    pytest.importorskip("ml_dtypes")
    rc, out, err = _cli("--candidate", "ml_dtypes", "--format", "e4m3fn", "--domain",
                        "random:2000:4", "--workers", "1", "--json")
    assert rc == 0 and json.loads(out)["mismatches"] == 0
    ck = tmp_path / "c.json"
    rc, out, _ = _cli("--preset", "e4m3fn-fraction", "--workers", "1", "--checkpoint", str(ck))
    assert rc == 0 and "mismatches 0" in out and ck.exists()
    rc, out, _ = _cli("--preset", "e4m3fn-fraction", "--workers", "1", "--checkpoint", str(ck),
                      "--resume")
    assert rc == 0 and "1 chunks from the checkpoint" in out
    rc, out, _ = _cli("--candidate", "py:refquant.testing._presets:posit32_recode",
                      "--domain", "codes:posit8", "--op", "recode", "--format", "posit8",
                      "--workers", "1", "--json")
    rep = json.loads(out)   # posit32's round trip on the small codes 0..255: identity
    assert rc == 0 and rep["compared"] == 256 and rep["candidate"].endswith("posit32_recode")
    rc, out, _ = _cli("--list-presets")
    assert rc == 0 and "e8m0-ml_dtypes" in out and "posit32-monotone" in out
    for args, msg in [
        (["--candidate", "ml_dtypes", "--format", "e4m3fn", "--domain", "nope"],
         "unknown domain"),
        (["--candidate", "ml_dtypes", "--format", "e4m3fn", "--resume"], "--resume needs"),
        (["--candidate", "ml_dtypes", "--format", "e4m3fn", "--workers", "2", "--scheduler",
          "tcp://127.0.0.1:1"], "--workers applies"),
        (["--preset", "e8m0-ml_dtypes", "--format", "e4m3fn"], "--format does not apply"),
        (["--preset", "no-such"], "unknown preset"),
        (["--candidate", "py:no_such_module:f", "--format", "e4m3fn"], "cannot import"),
        (["--candidate", "cmd:false", "--format", "e4m3fn", "--domain", "random:5:1",
          "--workers", "1"], "exited with status 1"),
    ]:
        rc, out, err = _cli(*args)
        assert rc == 2 and msg in err and err.count("\n") == 1, (args, err)


def test_cli_reports_mismatches_with_exit_status_1():
    pytest.importorskip("ml_dtypes")
    # fp16: NumPy keeps the top bits of a NaN's payload, refquant's default NaN is canonical
    rc, out, _ = _cli("--candidate", "numpy", "--format", "fp16", "--domain",
                      "random:20000:1", "--workers", "1")
    assert rc == 1 and "nan" in out and "first mismatches" in out


def test_preset_conventions_on_a_slice():
    pytest.importorskip("ml_dtypes")
    from refquant.testing import PRESETS
    # 3.0 = 1.5 * 2^1 is an exact E8M0 tie: ml_dtypes rounds it up, refquant to the even
    # code; the ml_dtypes profile of refquant.floats.cast reproduces the peer
    plain = dict(PRESETS["e8m0-ml_dtypes"].arguments(), domain="float32:0x40400000:0x40400100")
    rep = sweep(**plain, workers=1)
    assert rep["mismatches"] == 1 and rep["by_class"]["ties"] == 1
    assert rep["examples"][0]["input"] == 3.0
    assert "ties" in PRESETS["e8m0-ml_dtypes"].convention
    cast = dict(PRESETS["e8m0-ml_dtypes-cast"].arguments(), domain="float32:0x40400000:0x40400100")
    assert sweep(**cast, workers=1)["mismatches"] == 0
    # formats without NaN: the plain preset leaves NaN out, the cast profile compares it
    nan_slice = "float32:0x7fbfff00:0x7fc00100"
    rep = sweep(**dict(PRESETS["e2m1-ml_dtypes"].arguments(), domain=nan_slice), workers=1)
    assert rep["excluded"]["count"] == 512 and rep["compared"] == 0
    rep = sweep(**dict(PRESETS["e2m1-ml_dtypes-cast"].arguments(), domain=nan_slice), workers=1)
    assert rep["excluded"]["count"] == 0 and rep["compared"] == 512 and rep["mismatches"] == 0
