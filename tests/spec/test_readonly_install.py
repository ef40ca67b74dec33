"""Kernels work from a read-only install (no writable package folder, no writable HOME).

Each test copies ``refquant/`` and ``kernels/`` (as ``refquant/kernels``) into a temporary
folder, makes the copy read-only and runs a few kernels in a fresh interpreter whose HOME
is read-only and whose NUMBA_CACHE_DIR is unset, so that the compiled-kernel cache cannot go
to either of the places Numba tries by default (``__pycache__`` next to the source, then
``~/.cache/numba``). The results must be exact, and the cache must go where
``refquant.kernels``' docstring says: NUMBA_CACHE_DIR when set, else the user cache folder
``$XDG_CACHE_HOME/refquant`` or ``~/.cache/refquant``, else a private folder in the
temporary directory, else nowhere (compiled in memory, every process). The one-line compile
notice says which: "first run only" where the cache lasts, every run where it does not.

Permission bits do not stop root, so "not writable" is produced in one of two ways:

* ``unprivileged``: the interpreter runs as a user that the bits apply to: the current user
  when it is not root; when it is root, the user ``nobody`` (dropping privileges with
  ``subprocess.run(user=..., group=...)``), using the first interpreter of the same Python
  version that ``nobody`` can execute, with this environment's site-packages on PYTHONPATH.
  Skipped, with the reason, when no such user or interpreter is found.
* ``simulated`` (runs everywhere, as root too): before anything else, the child replaces
  ``os.mkdir`` and ``os.open`` with versions that raise PermissionError for folder creation
  or opening for writing below the listed folders. Numba's check of a cache folder
  (``os.makedirs`` and ``tempfile.TemporaryFile`` in it), the temporary-directory lookup of
  ``tempfile`` and refquant's own checks all go through these two functions, so they see
  exactly what they would see on a read-only file system. Afterwards the test also checks
  that no cache file was written below those folders by any other route.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Run first in the child: makes writes below $RQTEST_DENY_WRITE (os.pathsep-separated
# folders) fail as on a read-only file system.
PRELUDE = r'''
import os
_deny = [os.path.realpath(p) for p in os.environ.get("RQTEST_DENY_WRITE", "").split(os.pathsep) if p]

def _denied(path):
    try:
        path = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in _deny)

if _deny:
    _mkdir, _open = os.mkdir, os.open
    _WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def mkdir(path, mode=0o777, *, dir_fd=None):
        if dir_fd is None and _denied(path):
            raise PermissionError(13, "Permission denied (simulated read-only)", path)
        return _mkdir(path, mode, dir_fd=dir_fd)

    def open(path, flags, mode=0o777, *, dir_fd=None):
        if dir_fd is None and flags & _WRITE and _denied(path):
            raise PermissionError(13, "Permission denied (simulated read-only)", path)
        return _open(path, flags, mode, dir_fd=dir_fd)

    os.mkdir, os.open = mkdir, open
    del mkdir, open
'''

# The work itself: three kernel families, and what the cache did.
SCRIPT = r'''
import json, sys
import numba  # imported before refquant, as a user's program may do
import numpy as np
import refquant
import refquant.kernels as kernels
from numba.core.dispatcher import Dispatcher

result = {
    "refquant": refquant.__file__,
    "kernels": kernels.__file__,
    "cache_dir": kernels.cache_dir,
    "int8": refquant.format("int8").encode(np.array([0.4, -1.5, 2.5, 126.5])).tolist(),
    "e4m3fn": refquant.format("e4m3fn").encode(np.array([1.0, 448.0, -2.0, 0.3])).tolist(),
    "posit16_1": [float(v).hex() for v in refquant.format("posit16_1").decode(
        np.array([0x4000, 0x0000, 0x8000, 0x5000, 0x3000], dtype=np.uint16))],
}
hits = misses = 0
for name, module in list(sys.modules.items()):
    if name.startswith("refquant.kernels."):
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                hits += sum(value.stats.cache_hits.values())
                misses += sum(value.stats.cache_misses.values())
result["cache_hits"], result["cache_misses"] = hits, misses
print("RESULT " + json.dumps(result))
'''

EXPECTED = {
    "int8": [0, -2, 2, 126],
    "e4m3fn": [0x38, 0x7E, 0xC0, 0x2A],
    "posit16_1": [float(v).hex() for v in (1.0, 0.0, float("nan"), 2.0, 0.5)],
}


def _site_packages():
    paths = list(site.getsitepackages())
    user = site.getusersitepackages()
    if isinstance(user, str) and os.path.isdir(user):
        paths.append(user)
    return [p for p in paths if os.path.isdir(p)]


def _interpreters():
    """Interpreters of this Python version: this one, then those named pythonX.Y / python3 on
    PATH and in the usual system folders (distinct real files only)."""
    names = [f"python{sys.version_info[0]}.{sys.version_info[1]}", f"python{sys.version_info[0]}"]
    folders = os.environ.get("PATH", "").split(os.pathsep) + ["/usr/local/bin", "/usr/bin", "/bin"]
    seen, found = set(), []
    for candidate in [sys.executable] + [os.path.join(d, n) for d in folders if d for n in names]:
        real = os.path.realpath(candidate)
        if real not in seen and os.path.isfile(real):
            seen.add(real)
            found.append(candidate)
    return found


@functools.lru_cache(maxsize=None)
def _unprivileged_runner():
    """(interpreter, user keywords for subprocess.run) or a reason it is unavailable."""
    if os.name != "posix":
        return None, "permission bits are a POSIX test"
    if os.geteuid() != 0:
        return (sys.executable, {}), None
    import pwd
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None, "running as root and there is no user 'nobody' to drop privileges to"
    who = dict(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "PYTHONPATH": os.pathsep.join(_site_packages())}
    check = ("import sys, numpy, numba, scipy; "
             f"sys.exit(0 if sys.version_info[:2] == {tuple(sys.version_info[:2])} else 3)")
    for exe in _interpreters():
        try:
            done = subprocess.run([exe, "-c", check], env=env, capture_output=True, cwd="/",
                                  timeout=120, **who)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return (exe, who), None
    return None, ("running as root and no interpreter of this Python version with numpy and "
                  "numba is usable by the user 'nobody'")


class Sandbox:
    """A read-only copy of the package, a read-only HOME and a writable TMPDIR, in a
    temporary folder that other users can enter."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="rq-readonly-"))
        self.root.chmod(0o755)
        self.pkg = self.root / "site"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
        shutil.copytree(REPO / "refquant", self.pkg / "refquant", ignore=ignore)
        shutil.copytree(REPO / "kernels", self.pkg / "refquant" / "kernels", ignore=ignore)
        self.home = self.root / "home"
        self.home.mkdir()
        self.tmp = self.root / "tmp"
        self.tmp.mkdir()
        self.tmp.chmod(0o1777)
        for path in [self.home, *self.pkg.rglob("*"), self.pkg]:
            mode = path.stat().st_mode
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    def writable_dir(self, name):
        path = self.root / name
        path.mkdir()
        path.chmod(0o777)
        return path

    def run(self, mode, deny=(), extra_env=None):
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("NUMBA_") or k in ("XDG_CACHE_HOME", "PYTHONPATH", "TMPDIR"))}
        env.update(HOME=str(self.home), TMPDIR=str(self.tmp), PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=str(self.pkg))
        kwargs = {}
        exe = sys.executable
        if mode == "unprivileged":
            (exe, kwargs), reason = _unprivileged_runner()
            env["PYTHONPATH"] = os.pathsep.join([str(self.pkg), *_site_packages()])
        else:
            env["RQTEST_DENY_WRITE"] = os.pathsep.join(str(p) for p in deny)
        env.update(extra_env or {})
        done = subprocess.run([exe, "-c", PRELUDE + SCRIPT], env=env, cwd=str(self.root),
                              capture_output=True, text=True, timeout=900, **kwargs)
        assert done.returncode == 0, done.stdout + done.stderr
        (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        result = json.loads(line[len("RESULT "):])
        result["stderr"] = done.stderr
        # The copy was imported, not the checkout.
        assert result["refquant"].startswith(str(self.pkg))
        assert result["kernels"].startswith(str(self.pkg / "refquant" / "kernels"))
        for key, value in EXPECTED.items():
            assert result[key] == value, key
        return result

    def cache_files(self, below):
        return sorted(p for p in Path(below).rglob("*") if p.suffix in (".nbi", ".nbc"))

    def close(self):
        for path in [self.root, *self.root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def sandbox():
    box = Sandbox()
    yield box
    box.close()


MODES = ["simulated", "unprivileged"]
NOTICE = "compiling kernels (first run only)"
NOTICE_NO_CACHE = "compiling kernels (no lasting cache folder could be written"


def _need(mode):
    if mode == "unprivileged":
        runner, reason = _unprivileged_runner()
        if runner is None:
            pytest.skip(reason)


@pytest.mark.parametrize("mode", MODES)
def test_read_only_install_caches_in_private_temp_folder(sandbox, mode):
    _need(mode)
    deny = [sandbox.pkg, sandbox.home]
    first = sandbox.run(mode, deny)
    cache = Path(first["cache_dir"])
    assert cache.parent.parent == sandbox.tmp
    assert cache.parent.name.startswith("refquant-numba-cache-")
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert sandbox.cache_files(cache)
    assert first["cache_misses"] > 0
    assert not sandbox.cache_files(sandbox.pkg) and not sandbox.cache_files(sandbox.home)
    # A second process finds the compiled kernels there.
    second = sandbox.run(mode, deny)
    assert second["cache_dir"] == first["cache_dir"]
    assert second["cache_hits"] > 0 and second["cache_misses"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_read_only_install_caches_in_user_cache_folder(sandbox, mode):
    # The package folder is read-only, the home folder is not: ~/.cache/refquant, created
    # as needed, holds the kernels (not Numba's own ~/.cache/numba, not the temp folder).
    _need(mode)
    home = sandbox.writable_dir("home-w")
    first = sandbox.run(mode, [sandbox.pkg], extra_env={"HOME": str(home)})
    cache = Path(first["cache_dir"])
    assert cache.parent == home / ".cache" / "refquant"
    assert sandbox.cache_files(cache) and first["cache_misses"] > 0
    assert NOTICE in first["stderr"]
    assert not sandbox.cache_files(sandbox.pkg) and not sandbox.cache_files(sandbox.tmp)
    assert not (home / ".cache" / "numba").exists()
    second = sandbox.run(mode, [sandbox.pkg], extra_env={"HOME": str(home)})
    assert second["cache_dir"] == first["cache_dir"]
    assert second["cache_hits"] > 0 and second["cache_misses"] == 0
    assert NOTICE not in second["stderr"]


@pytest.mark.parametrize("mode", MODES)
def test_xdg_cache_home_is_followed(sandbox, mode):
    # XDG_CACHE_HOME (an absolute path) replaces ~/.cache; a relative one is ignored.
    _need(mode)
    xdg = sandbox.writable_dir("xdg")
    result = sandbox.run(mode, [sandbox.pkg, sandbox.home],
                         extra_env={"XDG_CACHE_HOME": str(xdg)})
    assert Path(result["cache_dir"]).parent == xdg / "refquant"
    assert sandbox.cache_files(xdg) and not sandbox.cache_files(sandbox.tmp)
    relative = sandbox.run(mode, [sandbox.pkg, sandbox.home],
                           extra_env={"XDG_CACHE_HOME": "relative/cache"})
    assert Path(relative["cache_dir"]).parent.parent == sandbox.tmp


@pytest.mark.parametrize("mode", MODES)
def test_numba_cache_dir_is_used_as_given(sandbox, mode):
    _need(mode)
    user_cache = sandbox.writable_dir("numba-cache")
    result = sandbox.run(mode, [sandbox.pkg, sandbox.home],
                         extra_env={"NUMBA_CACHE_DIR": str(user_cache)})
    assert Path(result["cache_dir"]).parent == user_cache
    assert sandbox.cache_files(user_cache)
    assert not sandbox.cache_files(sandbox.tmp)
    assert not sandbox.cache_files(sandbox.pkg) and not sandbox.cache_files(sandbox.home)


def test_nothing_writable_compiles_without_cache(sandbox):
    # No folder at all can be written (not even a temporary one): kernels still run.
    result = sandbox.run("simulated", ["/"])
    assert result["cache_dir"] is None
    assert NOTICE_NO_CACHE in result["stderr"] and NOTICE not in result["stderr"]
    assert result["cache_hits"] == 0
    assert not sandbox.cache_files(sandbox.root)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="folder ownership is a POSIX test")
def test_shared_temp_folder_is_not_trusted(sandbox):
    # Someone made <tmp>/refquant-numba-cache-<uid> writable by everyone (cache files are
    # loaded as code): it is not used; a new private folder, removed at exit, is.
    shared = sandbox.tmp / f"refquant-numba-cache-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)
    result = sandbox.run("simulated", [sandbox.pkg, sandbox.home])
    folder = Path(result["cache_dir"]).parent
    assert folder.parent == sandbox.tmp and folder != shared
    assert NOTICE_NO_CACHE in result["stderr"]  # removed at exit: every run compiles
    assert folder.name.startswith("refquant-numba-cache-")
    assert not folder.exists()
    assert not sandbox.cache_files(shared)


def test_unwritable_numba_cache_dir_falls_back(sandbox):
    # A NUMBA_CACHE_DIR that cannot be written is skipped, as Numba itself skips it.
    unwritable = sandbox.root / "ro-cache"
    unwritable.mkdir()
    result = sandbox.run("simulated", [sandbox.pkg, sandbox.home, unwritable],
                         extra_env={"NUMBA_CACHE_DIR": str(unwritable)})
    assert Path(result["cache_dir"]).parent.parent == sandbox.tmp
    assert not sandbox.cache_files(unwritable)


def test_every_package_folder_is_installed():
    # setup.py installs every package setuptools finds under refquant/ plus kernels/ as
    # refquant.kernels: a folder of modules without __init__.py would be left out of a
    # wheel while working from the checkout.
    from setuptools import find_packages
    found = set(find_packages(str(REPO), include=["refquant", "refquant.*"]))
    folders = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "refquant").rglob("*.py") if "__pycache__" not in p.parts}
    assert folders <= found, f"module folders without __init__.py: {sorted(folders - found)}"
    assert (REPO / "kernels" / "__init__.py").exists()
