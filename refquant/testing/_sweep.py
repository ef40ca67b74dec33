"""``sweep``: a candidate against refquant over a whole domain, in chunks, on a local
process pool or a Dask cluster, with checkpoints and a JSON-able report."""
from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._progress import Progress
from .._validate import check_int, check_real
from ..protocol import Format
from ..registry import format as _format
from ._candidates import Candidate, as_candidate, check_output
from ._domains import Domain, parse_domain
from ._report import evaluate, finish, merge, side

__all__ = ["sweep", "SweepSpec", "run_chunk", "OPS", "DEFAULT_CHUNK", "connect",
           "without_timing"]

#: What the candidate computes from each input.
OPS = ("encode", "decode", "recode", "check")
DEFAULT_CHUNK = 1 << 22
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class SweepSpec:
    """Everything a worker needs to run one chunk (sent to it pickled)."""

    fmt: Format | None
    domain: Domain
    op: str
    candidate: Candidate
    reference: Any            # None: refquant's op; or a function of the inputs
    reference_options: tuple[tuple[str, Any], ...]
    exclude: Any              # None or a function inputs -> bool mask of inputs not compared
    chunk_size: int
    examples: int

    @property
    def chunks(self) -> int:
        return -(-self.domain.size // self.chunk_size)

    def describe_reference(self) -> str:
        if self.reference is not None:
            return Candidate("callable", self.reference).describe()
        name = self.fmt.name if self.fmt is not None else "?"
        opts = "".join(f", {k}={v!r}" for k, v in self.reference_options)
        return {"encode": f"refquant {name}.encode(x{opts})",
                "decode": f"refquant {name}.decode(codes)",
                "recode": "the input codes",
                "check": "1 (the property holds)"}[self.op]

    def _nan_rule(self) -> bool:
        from ..floats import FloatFormat
        return (self.op == "encode" and self.reference is None
                and isinstance(self.fmt, FloatFormat) and not self.fmt.has_nan)

    def exclusion(self) -> str | None:
        """Why inputs are left out, or None."""
        why = []
        if self._nan_rule():
            assert self.fmt is not None
            why.append(f"NaN inputs: {self.fmt.name} has no NaN code and refquant raises "
                       "ValueError for them")
        if self.exclude is not None:
            doc = (getattr(self.exclude, "__doc__", None) or "").strip().split("\n")[0]
            why.append(doc or Candidate("callable", self.exclude).describe())
        return "; ".join(why) if why else None

    def excluded_mask(self, x: np.ndarray) -> np.ndarray | None:
        """The inputs of ``x`` left out (None: none are)."""
        mask = np.isnan(x) if self._nan_rule() else None
        if self.exclude is not None:
            m = np.asarray(self.exclude(x), dtype=bool)
            if m.shape != x.shape:
                raise ValueError(f"exclude returned shape {m.shape} for inputs of shape "
                                 f"{x.shape}")
            mask = m if mask is None else mask | m
        return mask

    def key(self) -> dict[str, Any]:
        """What a checkpoint must agree on to be resumed by this sweep."""
        return {"format": None if self.fmt is None else self.fmt.name,
                "domain": self.domain.describe(), "op": self.op,
                "candidate": self.candidate.describe(), "reference": self.describe_reference(),
                "chunk_size": self.chunk_size, "examples": self.examples}


def _reference(spec: SweepSpec, x: np.ndarray) -> np.ndarray:
    if spec.reference is not None:
        return np.asarray(spec.reference(x))
    f = spec.fmt
    assert f is not None
    if spec.op == "encode":
        return f.encode(x, **dict(spec.reference_options))
    if spec.op == "decode":
        return f.decode(x)
    if spec.op == "recode":
        return x
    return np.ones(x.shape, dtype=np.uint8)


def run_chunk(spec: SweepSpec, i: int) -> dict[str, Any]:
    """The partial report of chunk ``i`` of ``spec`` (run in a worker)."""
    t0 = time.perf_counter()
    start = i * spec.chunk_size
    stop = min(start + spec.chunk_size, spec.domain.size)
    x = spec.domain.inputs(start, stop)
    index = None
    excluded = 0
    mask = spec.excluded_mask(x)
    if mask is not None:
        excluded = int(np.count_nonzero(mask))
        if excluded:
            keep = np.flatnonzero(~mask)
            index = keep + start
            x = x[keep]
    who = spec.candidate.describe()
    got = check_output(spec.candidate(x, spec.fmt, spec.op), x.size, x.shape, repr(who))
    want = _reference(spec, x)
    cmp_fmt = spec.fmt if spec.op in ("encode", "recode") else None
    sa = side(got, cmp_fmt, f"the output of candidate {who!r}")
    se = side(want, cmp_fmt, "the reference output")
    raw = None if cmp_fmt is not None else np.asarray(want).dtype
    xin = x if x.dtype.kind == "f" or spec.domain.is_codes else None
    part = evaluate(xin, sa, se, cmp_fmt, raw, spec.examples, index=index, base=start)
    part["chunk"] = i
    part["excluded"] = excluded
    part["seconds"] = time.perf_counter() - t0
    return part


# ----------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------

def _load_checkpoint(path: str, key: dict[str, Any]) -> dict[int, dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"checkpoint {path} is not a sweep checkpoint: {exc}") from None
    if not isinstance(data, dict) or data.get("refquant_sweep_checkpoint") != CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {path} is not a refquant sweep checkpoint (version "
                         f"{CHECKPOINT_VERSION})")
    for k, v in key.items():
        if data["key"].get(k) != v:
            raise ValueError(f"checkpoint {path} belongs to another sweep: its {k} is "
                             f"{data['key'].get(k)!r}, this sweep's is {v!r}")
    return {int(i): p for i, p in data["parts"].items()}


def _save_checkpoint(path: str, key: dict[str, Any], parts: dict[int, dict[str, Any]]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"refquant_sweep_checkpoint": CHECKPOINT_VERSION, "key": key,
                   "parts": {str(i): parts[i] for i in sorted(parts)}}, fh)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------
# engines
# ----------------------------------------------------------------------------------------

def _init_worker() -> None:
    # one thread per worker process: the pool already uses every core
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def _local(spec: SweepSpec, todo: list[int], workers: int,
           done: Callable[[dict[str, Any]], None]) -> None:
    if workers == 1:
        for i in todo:
            done(run_chunk(spec, i))
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)
    pending: set[Future[dict[str, Any]]] = set()
    it = iter(todo)
    try:
        for i in it:
            pending.add(ex.submit(run_chunk, spec, i))
            if len(pending) >= 2 * workers:
                break
        while pending:
            fin, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in fin:
                done(f.result())
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(ex.submit(run_chunk, spec, nxt))
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


def connect(scheduler: str, timeout: float) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``scheduler``; ConnectionError
    naming the address and the timeout when it cannot be reached in ``timeout`` s."""
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("a Dask scheduler needs dask.distributed (pip install "
                          "'refquant[dask]')") from None
    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler} within the "
                              f"timeout of {timeout:g} s ({type(exc).__name__})") from None


def _dask(spec: SweepSpec, todo: list[int], client: Any,
          done: Callable[[dict[str, Any]], None]) -> None:
    from distributed import as_completed
    futures = [client.submit(run_chunk, spec, i, pure=False) for i in todo]
    try:
        for f in as_completed(futures):
            done(f.result())
    except BaseException:
        client.cancel(futures)
        raise


def _workers(workers: int | None) -> int:
    if workers is None:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:
            return os.cpu_count() or 1
    return check_int(workers, "workers", 1, 4096)


# ----------------------------------------------------------------------------------------
# sweep
# ----------------------------------------------------------------------------------------

def _default_op(domain: Domain, op: str | None) -> str:
    if op is None:
        return "decode" if domain.is_codes else "encode"
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; known: {', '.join(OPS)}")
    if op == "encode" and domain.is_codes:
        raise ValueError("op 'encode' needs real inputs; the domain holds codes")
    if op in ("decode", "recode") and not domain.is_codes:
        raise ValueError(f"op {op!r} needs a domain of codes (codes:FORMAT)")
    return op


def sweep(candidate: Any, fmt: Format | str | None = None, domain: str | Domain = "float32",
          *, op: str | None = None, reference: Callable[[np.ndarray], Any] | None = None,
          reference_options: dict[str, Any] | None = None,
          exclude: Callable[[np.ndarray], Any] | None = None,
          chunk_size: int | None = None, workers: int | None = None,
          scheduler: Any = None, scheduler_timeout: float = 10.0,
          checkpoint: str | os.PathLike[str] | None = None, resume: bool = False,
          progress: bool | None = None, examples: int = 5,
          command_timeout: float | None = 600.0) -> dict[str, Any]:
    """Run ``candidate`` against refquant over every input of ``domain`` and return the
    report (JSON-able data).

    Domain (``parse_domain``): "float32" (every float32 bit pattern, 2^32 inputs),
    "codes" / "codes:FORMAT" (every code), "random:N:SEED[:float64]" (N SplitMix64 bit
    patterns from SEED). ``fmt``: the format (name or instance); for "codes:FORMAT" it
    defaults to FORMAT. ``op``: "encode" (inputs are real values, outputs codes of
    ``fmt``; the default for float domains), "decode" (inputs codes, outputs float64
    values compared bit for bit; the default for code domains), "recode" (codes in,
    codes of ``fmt`` out, the reference is the input itself), "check" (the candidate
    returns 1 where a property holds, the reference is 1). ``reference``: a function of
    the inputs replacing refquant's op; ``reference_options``: keyword arguments of
    ``fmt.encode`` (rounding, overflow, ...). ``exclude``: a function of the inputs
    giving a mask of inputs not compared (its docstring's first line is the report's
    reason). In "encode" sweeps of a float format without a NaN code, NaN inputs are
    left out (refquant raises for them) and counted under ``excluded``.

    ``candidate``: a function (inputs chunk -> outputs of the same shape), a peer name
    ("ml_dtypes", "numpy", "ml_dtypes:TYPE"), or a command ("cmd:LINE" or a list of
    argv) reading the chunk from ``{input}`` and writing ``{output}`` as ``.npy``
    (``command_timeout`` seconds per chunk). Outputs are compared as ``compare`` does.

    Engines: the local machine by default, a process pool of ``workers`` processes
    (default: every core; 1 runs in this process, and then the candidate need not be
    picklable); with ``scheduler`` (an address such as "tcp://host:8786", or a
    ``dask.distributed.Client``) the chunks are Dask futures on that cluster, gathered
    with ``as_completed``. An address that cannot be reached in ``scheduler_timeout``
    seconds raises ConnectionError naming it.

    ``chunk_size`` inputs per task (default 2^22). ``checkpoint``: a JSON file written
    as chunks finish (and when the sweep stops on an error or an interrupt);
    ``resume=True`` reads it first and runs only the chunks it lacks (the file must
    belong to the same sweep: ValueError otherwise). ``progress``: a progress bar on
    stderr (None: when stderr is a terminal).

    The report: format, domain, op, candidate, reference, ``inputs`` (domain size),
    ``compared``, ``excluded`` {count, reason}, ``mismatches``, ``share``, ``by_class``,
    ``max_distance``, ``examples`` and ``examples_by_class`` (as ``compare``, indices
    are input numbers of the domain), ``chunks``, ``chunk_size`` and ``timing``
    {seconds, inputs_per_s, busy_seconds (the chunks' own run times, summed over workers),
    chunk_seconds_median, engine, workers, resumed_chunks}. Everything but ``timing``
    depends only on the sweep, not on the engine, the order chunks finish in, or
    interruptions. A candidate that fails raises ``CandidateError``."""
    f = None if fmt is None else _format(fmt)
    dom = parse_domain(domain, f)
    if f is None and dom.fmt is not None:
        f = dom.fmt
    if dom.is_codes and f is not None and dom.fmt is not None and dom.fmt != f:
        raise ValueError(f"domain {dom.describe()} and format {f.name} differ")
    op_ = _default_op(dom, op)
    if f is None and reference is None and op_ != "check":
        raise ValueError(f"op {op_!r} needs a format (fmt, or a domain codes:FORMAT)")
    if reference is not None and not callable(reference):
        raise TypeError("reference must be a function of the inputs")
    cand = as_candidate(candidate, f, command_timeout)
    cs = DEFAULT_CHUNK if chunk_size is None else check_int(chunk_size, "chunk_size", 1, 1 << 28)
    cs = min(cs, dom.size)
    examples = check_int(examples, "examples", 0, 1000)
    opts = tuple(sorted((reference_options or {}).items()))
    spec = SweepSpec(f, dom, op_, cand, reference, opts, exclude, cs, examples)
    if scheduler_timeout is not None:
        scheduler_timeout = check_real(scheduler_timeout, "scheduler_timeout", finite=True)
    key = spec.key()

    parts: dict[int, dict[str, Any]] = {}
    path = None if checkpoint is None else os.fspath(checkpoint)
    if resume:
        if path is None:
            raise ValueError("resume=True needs a checkpoint file")
        parts = _load_checkpoint(path, key)
    resumed = len(parts)
    todo = [i for i in range(spec.chunks) if i not in parts]

    client = None
    own_client = False
    if scheduler is not None:
        if isinstance(scheduler, str):
            client, own_client = connect(scheduler, scheduler_timeout), True
        elif hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
            client = scheduler
        else:
            raise TypeError("scheduler must be an address (str) or a dask.distributed.Client")
        if not client.scheduler_info().get("workers"):
            try:   # a cluster with no worker would never run a chunk
                client.wait_for_workers(1, timeout=scheduler_timeout)
            except (OSError, TimeoutError):
                if own_client:
                    client.close()
                where = scheduler if isinstance(scheduler, str) else "the given client"
                raise ConnectionError(f"the Dask cluster at {where} has no worker after the "
                                      f"timeout of {scheduler_timeout:g} s") from None
        engine, nworkers = "dask", len(client.scheduler_info().get("workers", {}))
    else:
        engine, nworkers = "local", _workers(workers)
        if nworkers > 1 and todo:
            try:
                pickle.dumps(spec)
            except Exception as exc:
                raise TypeError(f"candidate {cand.describe()!r} cannot be sent to worker "
                                f"processes ({type(exc).__name__}: {exc}); pass a "
                                "module-level function, or workers=1") from None

    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = Progress(len(todo), enabled=show)
    t0 = time.perf_counter()
    last_save = [t0]
    ran = [0]
    busy: list[float] = []

    def done(part: dict[str, Any]) -> None:
        parts[part["chunk"]] = part
        ran[0] += part["count"] + part["excluded"]
        busy.append(part["seconds"])
        el = time.perf_counter() - t0
        bar.step(f"{ran[0] / max(el, 1e-9):.3g} inputs/s")
        if path is not None and time.perf_counter() - last_save[0] >= 1.0:
            _save_checkpoint(path, key, parts)
            last_save[0] = time.perf_counter()

    try:
        if todo:
            if client is not None:
                _dask(spec, todo, client, done)
            else:
                _local(spec, todo, nworkers, done)
    finally:
        bar.close()
        if path is not None:
            _save_checkpoint(path, key, parts)
        if own_client and client is not None:
            client.close()
    seconds = time.perf_counter() - t0

    merged = merge([parts[i] for i in sorted(parts)], examples)
    rep = finish(merged, examples)
    excluded = sum(p["excluded"] for p in parts.values())
    report: dict[str, Any] = {
        "format": None if f is None else f.name,
        "domain": dom.describe(),
        "op": op_,
        "candidate": cand.describe(),
        "reference": spec.describe_reference(),
        "inputs": dom.size,
        "compared": rep["count"],
        "excluded": {"count": excluded, "reason": spec.exclusion() if excluded else None},
        "mismatches": rep["mismatches"],
        "share": rep["share"],
        "by_class": rep["by_class"],
        "max_distance": rep["max_distance"],
        "examples": rep["examples"],
        "examples_by_class": rep["examples_by_class"],
        "chunks": spec.chunks,
        "chunk_size": cs,
        "timing": {"seconds": seconds,
                   "inputs_per_s": ran[0] / seconds if seconds > 0 else None,
                   "busy_seconds": float(sum(busy)),
                   "chunk_seconds_median": float(np.median(busy)) if busy else None,
                   "engine": engine, "workers": nworkers, "resumed_chunks": resumed},
    }
    return report


def without_timing(report: dict[str, Any]) -> dict[str, Any]:
    """The report less its ``timing`` (what two runs of one sweep agree on)."""
    return {k: v for k, v in report.items() if k != "timing"}
