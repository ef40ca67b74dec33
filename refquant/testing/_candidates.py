"""Sweep candidates: a Python function, a peer library's conversion, or a command that
reads and writes ``.npy`` chunks."""
from __future__ import annotations

import functools
import importlib
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..protocol import Format
from ._report import PEER_DTYPES, native_dtype, peer_type

__all__ = ["Candidate", "CandidateError", "as_candidate", "PEERS"]

#: Peer libraries a candidate may name.
PEERS = ("ml_dtypes", "numpy")


class CandidateError(ValueError):
    """A candidate failed: it returned the wrong shape or dtype, or its command could not
    run or exited with a non-zero status. The message names the candidate."""


@dataclass(frozen=True)
class Candidate:
    """What a sweep tests. kind "callable": ``target(inputs) -> outputs``; kind "peer":
    ``target`` = (library, type name), the conversion ``inputs.astype(type)`` (encode) or
    ``codes.view(type).astype(float64)`` (decode); kind "command": ``target`` = argv,
    run once per chunk with the input chunk saved as ``.npy`` and the output read back
    from ``.npy`` (the placeholders ``{input}`` and ``{output}`` in argv become the two
    paths; without them the two paths are appended), each run limited to ``timeout``
    seconds."""

    kind: str
    target: Any
    timeout: float | None = None

    def describe(self) -> str:
        """A short name: the function's qualified name, "ml_dtypes:float8_e4m3fn", or the
        command line."""
        if self.kind == "callable":
            f = self.target
            if isinstance(f, functools.partial):
                args = [repr(a) for a in f.args] + [f"{k}={v!r}" for k, v in f.keywords.items()]
                return f"{Candidate('callable', f.func).describe()}(x, {', '.join(args)})"
            mod = getattr(f, "__module__", None) or ""
            name = getattr(f, "__qualname__", None) or type(f).__name__
            return f"{mod}.{name}" if mod else name
        if self.kind == "peer":
            return ":".join(self.target)
        return shlex.join(self.target)

    def __call__(self, x: np.ndarray, fmt: Format | None, op: str) -> np.ndarray:
        if self.kind == "callable":
            return np.asarray(self.target(x))
        if self.kind == "peer":
            dt = np.dtype(peer_type(*self.target))
            with np.errstate(invalid="ignore", over="ignore"):   # NaN and overflow are inputs
                if op == "encode":
                    return x.astype(dt).view(f"uint{8 * dt.itemsize}")
                return x.astype(f"uint{8 * dt.itemsize}").view(dt).astype(np.float64)
        return self._run_command(x)

    def _run_command(self, x: np.ndarray) -> np.ndarray:
        name = self.describe()
        with tempfile.TemporaryDirectory(prefix="refquant-sweep-") as tmp:
            src, dst = os.path.join(tmp, "input.npy"), os.path.join(tmp, "output.npy")
            np.save(src, x)
            argv = [a.replace("{input}", src).replace("{output}", dst) for a in self.target]
            if not any("{input}" in a or "{output}" in a for a in self.target):
                argv += [src, dst]
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout,
                                   stdin=subprocess.DEVNULL)
            except FileNotFoundError:
                raise CandidateError(f"candidate command {name!r}: {argv[0]!r} not found") \
                    from None
            except subprocess.TimeoutExpired:
                raise CandidateError(f"candidate command {name!r} ran past its timeout of "
                                     f"{self.timeout} s on a chunk") from None
            if r.returncode != 0:
                tail = " ".join((r.stderr or r.stdout or "").split())[-300:]
                raise CandidateError(f"candidate command {name!r} exited with status "
                                     f"{r.returncode}" + (f": {tail}" if tail else ""))
            if not os.path.exists(dst):
                raise CandidateError(f"candidate command {name!r} exited with status 0 but "
                                     f"wrote no output file {{output}}")
            try:
                return np.load(dst, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise CandidateError(f"candidate command {name!r} wrote an output that is "
                                     f"not a .npy array: {exc}") from None


def _peer(library: str, name: str | None, fmt: Format | None) -> Candidate:
    if fmt is None:
        raise ValueError(f"candidate {library!r} (a peer library) needs a format")
    if name is None:
        lib = native_dtype(fmt)
        if lib is None or (library == "numpy" and lib[0] != "numpy"):
            have = ", ".join(k for k, v in PEER_DTYPES.items()
                             if v[0] == library or library == "ml_dtypes")
            raise ValueError(f"{library} has no type for {fmt.name}; formats with a peer "
                             f"type: {have}")
        return Candidate("peer", lib)
    try:
        dt = peer_type(library, name)
        np.dtype(dt)
    except (AttributeError, TypeError):
        raise ValueError(f"{library} has no type {name!r}") from None
    return Candidate("peer", (library, name))


def as_candidate(candidate: Any, fmt: Format | None = None,
                 command_timeout: float | None = 600.0) -> Candidate:
    """The candidate ``candidate`` names: a ``Candidate``; a callable, or
    "py:MODULE:FUNCTION" (that function, imported); "ml_dtypes" or
    "numpy" (that library's type for ``fmt``, from ``PEER_DTYPES``; ml_dtypes has no
    float16 or float32, so "ml_dtypes" for fp16 and fp32 is NumPy's type), "ml_dtypes:TYPE" or
    "numpy:TYPE"; "cmd:COMMAND LINE" or a list of argv strings (a command). Anything
    else raises ValueError (unknown names) or TypeError."""
    if isinstance(candidate, Candidate):
        return candidate
    if isinstance(candidate, (list, tuple)):
        if not candidate or not all(isinstance(a, str) for a in candidate):
            raise TypeError("a command candidate is a non-empty list of str (argv)")
        return Candidate("command", tuple(candidate), command_timeout)
    if isinstance(candidate, str):
        s = candidate.strip()
        if s.startswith("cmd:"):
            argv = shlex.split(s[4:])
            if not argv:
                raise ValueError("candidate 'cmd:' names no command")
            return Candidate("command", tuple(argv), command_timeout)
        if s.startswith("py:"):
            return Candidate("callable", _import_function(s[3:]))
        lib, _, name = s.partition(":")
        if lib in PEERS:
            return _peer(lib, name or None, fmt)
        raise ValueError(f"unknown candidate {candidate!r}; a candidate is a Python function "
                         f"(py:MODULE:FUNCTION), a peer ({', '.join(PEERS)}, or LIBRARY:TYPE), "
                         "or a command (cmd:COMMAND LINE, or a list of argv)")
    if callable(candidate):
        return Candidate("callable", candidate)
    raise TypeError(f"candidate must be a function, a peer name or a command, got "
                    f"{type(candidate).__name__}")


def _import_function(spec: str) -> Any:
    """The function ``MODULE:NAME`` (NAME may be dotted: ``pkg.mod:Class.method``)."""
    mod, sep, name = spec.partition(":")
    if not sep or not mod or not name:
        raise ValueError(f"candidate 'py:{spec}': give py:MODULE:FUNCTION")
    try:
        obj: Any = importlib.import_module(mod)
    except ImportError as exc:
        raise ValueError(f"candidate 'py:{spec}': cannot import {mod!r} ({exc})") from None
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"candidate 'py:{spec}': {mod} has no {name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"candidate 'py:{spec}' is not callable")
    return obj


def check_output(out: Any, n: int, shape: tuple[int, ...], who: str) -> np.ndarray:
    """The candidate's output as an array of ``shape``; CandidateError otherwise."""
    a = np.asarray(out)
    if a.shape != shape:
        raise CandidateError(f"candidate {who} returned shape {a.shape} for an input chunk "
                             f"of shape {shape}")
    dt = a.dtype
    if dt.kind in "bcOSUMm" or (dt.kind == "V" and not _floatish(dt)):
        raise CandidateError(f"candidate {who} returned dtype {dt}; expected integer codes or "
                             "float values")
    return a


def _floatish(dt: np.dtype) -> bool:
    from ._report import _is_ml_float
    return _is_ml_float(dt)

