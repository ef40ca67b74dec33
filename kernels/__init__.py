"""Numba kernels of refquant (installed as ``refquant.kernels``).

Pure functions over NumPy arrays: no classes, no policy, no validation. Each writes
into an ``out`` array it is given and states its exact semantics in its docstring.
The validating public API lives in ``refquant``; call that unless you need the raw kernel.

Compilation. Kernel modules decorate with this package's ``njit``: Numba's ``njit``, except
that a call from one compiled kernel to another specialises the callee on the argument
types only, never on the constant values a call site passes (Numba would otherwise compile
one more copy of the callee for every distinct literal, such as ``pack(..., 52, False)``).
The machine code is the same up to constant propagation, which LLVM still does after
inlining; only the number of compilations drops. Nothing compiles at import.

Kernel cache. Kernels compile on first use and Numba caches the machine code on disk.
This package is imported before any kernel module, and decides once per process where
that cache goes, in this order:

1. ``NUMBA_CACHE_DIR`` when set (used as given), else ``__pycache__`` next to the kernel
   sources (as Numba does), each only if it can be written;
2. else (an install whose package folder is read-only) the user cache folder
   ``$XDG_CACHE_HOME/refquant``, or ``~/.cache/refquant`` when ``XDG_CACHE_HOME`` is unset
   or not an absolute path, if it can be created and written;
3. else (no writable home either) a private folder ``refquant-numba-cache-<user>`` in the
   temporary directory (``tempfile.gettempdir()``), created with mode 0o700 and used only
   if it is a folder owned by this user that no one else may write to;
4. else a new folder from ``tempfile.mkdtemp()``, removed when the process exits;
5. else no cache: every kernel module is imported at once and its kernels compile in
   memory, in every process.

Steps 2 to 5 apply to refquant's kernels only; other code that Numba caches is left to
Numba. ``NUMBA_CACHE_LOCATOR_CLASSES``, when set, is left to Numba too, and under
``NUMBA_DISABLE_JIT=1`` nothing is compiled or cached. ``cache_dir`` is the folder the
kernels' cache files go to (below NUMBA_CACHE_DIR, the folders of steps 2 to 4, a subfolder
named after the kernels' source folder), or None when they are not cached.

Compile notice. Kernels that are not in the cache compile on first use, which takes
seconds for a command's first kernels; once the compilations of a process have taken
``NOTICE_AFTER_S`` (1 s) together, ``NOTICE`` ("compiling kernels (first run only)") goes
to standard error, once per process (``NOTICE_NO_CACHE`` when nothing is cached beyond
the process, steps 4 and 5).
Nothing is printed when the kernels load from the cache, nor on standard output.
"""
from __future__ import annotations

import os

_HERE = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))
_PREFIX = "refquant-numba-cache-"


def njit(*args, **options):
    """``numba.njit`` with the same arguments, returning a dispatcher whose calls from other
    compiled code are typed with the arguments' types only (``numba.core.types.unliteral``
    of each), so one compiled specialisation serves every call site that passes the same
    types, whatever constants it passes. Python callers are unaffected (Numba never gives
    them literal types). Under ``NUMBA_DISABLE_JIT=1`` this is ``numba.njit`` unchanged."""
    import numba

    if len(args) == 1 and callable(args[0]) and not options:
        return _types_only(numba.njit(args[0]))
    decorate = numba.njit(*args, **options)
    return lambda func: _types_only(decorate(func))


def _types_only(dispatcher):
    """Make ``dispatcher`` (a Numba dispatcher, or the plain function NUMBA_DISABLE_JIT
    leaves) resolve calls from compiled code on unliteral argument types."""
    resolve = getattr(dispatcher, "get_call_template", None)
    if resolve is None:
        return dispatcher
    from numba.core.types import unliteral

    def get_call_template(args, kws):
        return resolve(tuple(unliteral(a) for a in args),
                       {k: unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


def _user_cache_folder():
    """``$XDG_CACHE_HOME/refquant`` (an absolute XDG_CACHE_HOME), else ``~/.cache/refquant``;
    OSError when there is no home folder to name."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if home == "~" or not os.path.isabs(home):
            raise FileNotFoundError("no home folder")
        base = os.path.join(home, ".cache")
    return os.path.join(base, "refquant")


def _numba_cache_path(caching, probe, accept=None):
    """The folder Numba's locators choose for a function defined in this folder, or None if
    none of them has a writable one, or (``accept`` given: a tuple of locator classes) the
    chosen locator is of none of those classes."""
    try:
        locator = caching.CompileResultCacheImpl(probe).locator
        if accept is not None and not isinstance(locator, accept):
            return None
        locator.ensure_cache_path()
        return locator.get_cache_path()
    except (RuntimeError, OSError):
        return None


def _user_tag():
    if hasattr(os, "getuid"):
        return str(os.getuid())
    import getpass
    return "".join(c if c.isalnum() else "_" for c in getpass.getuser())


def _private_temp_folder():
    """``<tmp>/refquant-numba-cache-<user>``, created if absent; OSError if it cannot be
    created, or exists but is not a folder of this user that only this user may write."""
    import stat
    import tempfile

    path = os.path.join(tempfile.gettempdir(), _PREFIX + _user_tag())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(path)
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        raise PermissionError(f"{path} is shared with other users")
    return path


def _process_temp_folder():
    """A new private folder, removed at exit; OSError if there is no usable temporary
    directory."""
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix=_PREFIX)
    atexit.register(shutil.rmtree, path, True)
    return path


def _fallback_locator(caching, folder):
    """A Numba cache locator for the files of this folder only: caches them below ``folder``,
    or, when ``folder`` is None, points at a location that is never read or written (the
    caches are then replaced by Numba's NullCache right after import)."""

    class RefquantKernelCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            if folder is None:
                self._cache_path = os.path.join(os.devnull, "no-cache")
            else:
                self._cache_path = os.path.join(folder, self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

        def ensure_cache_path(self):
            if folder is not None:
                super().ensure_cache_path()

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.normcase(os.path.dirname(os.path.abspath(py_file))) != _HERE:
                return None
            return super().from_function(py_func, py_file)

    return RefquantKernelCacheLocator


def _configure_cache():
    """Choose the kernels' cache location (see the module docstring); returns ``cache_dir``."""
    from numba.core import caching, config

    if config.DISABLE_JIT:
        return None
    namespace = {}
    exec(compile("def probe():\n    pass\n", os.path.abspath(__file__), "exec"), namespace)
    probe = namespace["probe"]

    base = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    if not config.CACHE_LOCATOR_CLASSES:
        # The user cache folder comes right after NUMBA_CACHE_DIR and __pycache__, before
        # Numba's own user-wide folder.
        numba_own = [getattr(caching, n, None) for n in (
            "UserProvidedCacheLocator", "_UserProvidedCacheLocator",
            "InTreeCacheLocator", "_InTreeCacheLocator")]
        at = max([i + 1 for i, c in enumerate(base._locator_classes) if c in numba_own] or [0])
        accept = tuple(c for c in numba_own if c is not None)
        try:
            user = _fallback_locator(caching, _user_cache_folder())
        except OSError:
            pass
        else:
            base._locator_classes.insert(at, user)
            accept += (user,)
    else:
        return _numba_cache_path(caching, probe)

    # Numba's later locators (its own user-wide folder, ...) are passed over for the kernels.
    found = _numba_cache_path(caching, probe, accept)
    if found is not None:
        return found

    for choose in (_private_temp_folder, _process_temp_folder):
        try:
            folder = choose()
        except OSError:
            continue
        locator = _fallback_locator(caching, folder)
        base._locator_classes.insert(0, locator)
        found = _numba_cache_path(caching, probe)
        if found is not None:
            global _per_process
            _per_process = choose is _process_temp_folder
            return found
        base._locator_classes.remove(locator)

    # No writable folder anywhere: compile every kernel in memory.
    import importlib
    import pkgutil

    from numba.core.dispatcher import Dispatcher

    base._locator_classes.insert(0, _fallback_locator(caching, None))
    for info in pkgutil.iter_modules([_HERE]):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher):
                value._cache = caching.NullCache()
    return None


NOTICE = "compiling kernels (first run only)"
NOTICE_NO_CACHE = ("compiling kernels (no lasting cache folder could be written, so every "
                   "run compiles them; set NUMBA_CACHE_DIR to a writable folder)")
NOTICE_AFTER_S = 1.0


class _CompileNotice:
    """Listener of Numba's "numba:compile" events (sent after a cache miss, just before a
    compilation) that prints ``NOTICE`` (``NOTICE_NO_CACHE`` when nothing is cached) on
    standard error once per process, as soon as the compilations of refquant's kernels in
    this process have taken ``NOTICE_AFTER_S`` seconds together: a timer runs while one
    compiles (nested compilations count once) and stops when it ends."""

    def __init__(self):
        import threading

        self.depth = 0
        self.spent = 0.0
        self.started = 0.0
        self.timer = None
        self.shown = False
        self._lock = threading.Lock()

    @staticmethod
    def _ours(event):
        code = getattr(getattr(event.data.get("dispatcher"), "py_func", None), "__code__", None)
        return code is not None and os.path.normcase(
            os.path.dirname(os.path.abspath(code.co_filename))) == _HERE

    def on_start(self, event):
        if self.shown or not self._ours(event):
            return
        self.depth += 1
        if self.depth == 1:
            import threading
            import time

            self.started = time.perf_counter()
            self.timer = threading.Timer(max(0.0, NOTICE_AFTER_S - self.spent), self.show)
            self.timer.daemon = True
            self.timer.start()

    def on_end(self, event):
        if self.shown or not self._ours(event) or self.depth == 0:
            return
        self.depth -= 1
        if self.depth == 0:
            import time

            self.timer.cancel()
            self.spent += time.perf_counter() - self.started

    def show(self):
        import sys

        with self._lock:
            if self.shown:
                return
            self.shown = True
        try:
            # one line on stderr, never stdout (which may carry --json)
            sys.stderr.write((NOTICE if cache_dir is not None and not _per_process
                              else NOTICE_NO_CACHE) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # no usable stderr (closed, detached)
            pass


def _listen_to_compilations():
    """Register the compile notice with Numba's event API; None where Numba has none."""
    try:
        from numba.core import config, event
    except ImportError:
        return None
    if config.DISABLE_JIT:
        return None
    notice = _CompileNotice()

    class Listener(event.Listener):
        def on_start(self, ev):
            notice.on_start(ev)

        def on_end(self, ev):
            notice.on_end(ev)

    event.register("numba:compile", Listener())
    return notice


__all__ = ["cache_dir", "njit", "NOTICE", "NOTICE_NO_CACHE", "NOTICE_AFTER_S"]

_per_process = False  # the cache folder is removed at exit (step 4)
cache_dir = _configure_cache()
_compile_notice = _listen_to_compilations()
