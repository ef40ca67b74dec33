"""Writing generated sources: a file is rewritten only when its bytes change (so Sphinx
rebuilds only what changed) and files a generator no longer produces are removed."""
from __future__ import annotations

from pathlib import Path


def write_if_changed(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` unless the file already holds exactly these bytes."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == raw:
        return
    path.write_bytes(raw)


def prune(folder: Path, keep: set[Path]) -> None:
    """Remove the files of ``folder`` (recursively) that are not in ``keep``."""
    if not folder.exists():
        return
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_file() and p not in keep:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
