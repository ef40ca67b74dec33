"""Old public names that still work for one release, with a DeprecationWarning that
names the replacement (the glossary in docs/glossary.md lists every current name)."""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

__all__ = ["warn", "renamed_kwargs", "alias", "module_getattr"]

F = TypeVar("F", bound=Callable[..., Any])


def warn(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}",
                  DeprecationWarning, stacklevel=stacklevel)


def renamed_kwargs(**old_to_new: str) -> Callable[[F], F]:
    """Decorator: keyword ``old`` still works as ``new`` (with a warning); giving both is a
    TypeError."""
    def deco(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__qualname__}() got both {old}= (deprecated) "
                                        f"and {new}=")
                    warn(f"{func.__qualname__}({old}=...)", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return deco


def alias(func: F, old: str, new: str | None = None) -> F:
    """A function named ``old`` that warns and calls ``func``."""
    target = new or func.__name__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warn(old, target)
        return func(*args, **kwargs)
    wrapper.__name__ = old.rsplit(".", 1)[-1]
    wrapper.__doc__ = f"Deprecated alias of ``{target}``."
    return wrapper  # type: ignore[return-value]


def module_getattr(module: str, renamed: dict[str, tuple[str, Callable[[], Any]]]
                   ) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving deprecated names: ``renamed[old] = (new name,
    zero-argument getter of the new object)``."""
    def __getattr__(name: str) -> Any:
        if name in renamed:
            new, get = renamed[name]
            warn(f"{module}.{name}", new)
            return get()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__
