"""Numba kernels of refquant (installed as ``refquant.kernels``).

Pure functions over NumPy arrays: no classes, no policy, no validation. Each writes
into an ``out`` array it is given and states its exact semantics in its docstring.
The validating public API lives in ``refquant``; call that unless you need the raw kernel.

Kernel cache. Kernels compile on first use and Numba caches the machine code on disk.
This package is imported before any kernel module, and decides once per process where
that cache goes, in this order:

1. wherever Numba itself would put it: ``NUMBA_CACHE_DIR`` when set (used as given),
   else ``__pycache__`` next to the kernel sources, else Numba's user cache folder
   (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``), each only if it can be written;
2. else (a read-only install without a writable home) a private folder
   ``refquant-numba-cache-<user>`` in the temporary directory (``tempfile.gettempdir()``),
   created with mode 0o700 and used only if it is a folder owned by this user that no one
   else may write to;
3. else a new folder from ``tempfile.mkdtemp()``, removed when the process exits;
4. else no cache: every kernel module is imported at once and its kernels compile in
   memory, in every process.

Steps 2 to 4 apply to refquant's kernels only; other code that Numba caches is left to
Numba. ``NUMBA_CACHE_LOCATOR_CLASSES``, when set, is left to Numba too, and under
``NUMBA_DISABLE_JIT=1`` nothing is compiled or cached. ``cache_dir`` is the folder the
kernels' cache files go to (below NUMBA_CACHE_DIR, the user cache folder or the folders of
steps 2 and 3, a subfolder named after the kernels' source folder), or None when they are
not cached.
"""
from __future__ import annotations

import os

_HERE = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))
_PREFIX = "refquant-numba-cache-"


def _numba_cache_path(caching, probe):
    """The folder Numba's own locators choose for a function defined in this folder, or None
    if none of them has a writable one."""
    try:
        locator = caching.CompileResultCacheImpl(probe).locator
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

    found = _numba_cache_path(caching, probe)
    if found is not None or config.CACHE_LOCATOR_CLASSES:
        return found

    base = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    for choose in (_private_temp_folder, _process_temp_folder):
        try:
            folder = choose()
        except OSError:
            continue
        locator = _fallback_locator(caching, folder)
        base._locator_classes.insert(0, locator)
        found = _numba_cache_path(caching, probe)
        if found is not None:
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


__all__ = ["cache_dir"]

cache_dir = _configure_cache()
