"""Deferred import of kernel modules, so that ``import refquant`` loads neither Numba nor
any kernel: a kernel module (and Numba with it) is imported on the first call into it.
Importing the first one runs ``refquant.kernels``, which decides where the compiled
kernels are cached (see its docstring) before any kernel is defined."""
from __future__ import annotations

import importlib
from typing import Any


class LazyKernels:
    """Stands in for ``refquant.kernels.<name>``; attribute access imports the module
    once and then serves its attributes directly (they are cached on the instance)."""

    def __init__(self, name: str) -> None:
        self.__dict__["_module_name"] = f"refquant.kernels.{name}"

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self.__dict__["_module_name"]), attr)
        self.__dict__[attr] = value
        return value


def kernels(name: str) -> LazyKernels:
    """The lazily imported kernel module ``refquant.kernels.<name>``."""
    return LazyKernels(name)


def kernel_cache_dir() -> str | None:
    """``refquant.kernels.cache_dir``: the folder the compiled kernels are cached in, or None
    when they are not cached (importing ``refquant.kernels`` decides it, and loads Numba)."""
    folder: str | None = importlib.import_module("refquant.kernels").cache_dir
    return folder
