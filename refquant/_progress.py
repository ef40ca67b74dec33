"""Progress bars for long library runs and commands, drawn by tqdm on a terminal only."""
from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["Progress", "PROGRESS_DELAY", "is_terminal"]

PROGRESS_DELAY = 0.5  # seconds of work before the progress bar appears


def is_terminal(stream: Any) -> bool:
    """True when ``stream`` is an interactive terminal (``stream.isatty()``)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """A tqdm progress bar of ``total`` steps on ``stream`` (stderr by default).

    It is drawn only when ``enabled`` and ``stream`` is a terminal (``force=True`` draws
    on any stream, for a user who asked for it), and only after ``delay`` seconds of
    work, so quick runs and captured or redirected output stay clean. ``step`` counts one
    step and shows its label; ``close`` removes the bar. A run that draws nothing imports
    no tqdm.
    """

    def __init__(self, total: int, stream: IO[str] | None = None, enabled: bool = True,
                 delay: float = PROGRESS_DELAY, *, force: bool = False) -> None:
        self.total = max(int(total), 1)
        self.stream = sys.stderr if stream is None else stream
        self.done = 0
        self._bar: Any = None
        self._start, self._delay = time.monotonic(), float(delay)
        if enabled and (force or is_terminal(self.stream)):
            from tqdm import tqdm
            self._bar = tqdm(total=self.total, file=self.stream, delay=float(delay),
                             leave=False, dynamic_ncols=True, unit="step")

    @property
    def drawing(self) -> bool:
        """True when this bar draws (enabled, and on a terminal or forced)."""
        return self._bar is not None

    def step(self, label: str = "") -> None:
        """Count one step done; the bar (if drawn) shows ``label``."""
        self.done = min(self.done + 1, self.total)
        if self._bar is not None:
            if label:
                self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
            # steps are coarse: show every label (not only tqdm's sampled ones) once the
            # bar's delay has passed
            if label and time.monotonic() - self._start >= self._delay:
                self._bar.refresh()

    def close(self) -> None:
        """Remove the bar (if drawn)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
