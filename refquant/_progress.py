"""A one-line progress bar for long library runs and commands."""
from __future__ import annotations

import sys
import time

__all__ = ["Progress", "PROGRESS_DELAY"]

PROGRESS_DELAY = 0.5  # seconds of work before the progress bar appears


class Progress:
    """A one-line progress bar on ``stream`` (stderr by default).

    It stays invisible until ``delay`` seconds have passed since it was created, so quick
    runs print nothing; then each ``step`` redraws ``\\r[#####.....] k/n label``.
    ``close`` erases the line if anything was drawn. ``enabled=False`` draws nothing.
    """

    def __init__(self, total, stream=None, enabled=True, delay=PROGRESS_DELAY, width=24,
                 clock=time.monotonic):
        self.total = max(int(total), 1)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled)
        self.delay = float(delay)
        self.width = int(width)
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.drawn_len = 0

    def step(self, label: str = "") -> None:
        """Count one unit of work done and redraw if the bar is due."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled or self.clock() - self.start < self.delay:
            return
        filled = self.width * self.done // self.total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {label}"
        pad = " " * max(self.drawn_len - len(line), 0)
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self.drawn_len = len(line)

    def close(self) -> None:
        """Erase the bar (if drawn)."""
        if self.drawn_len:
            self.stream.write("\r" + " " * self.drawn_len + "\r")
            self.stream.flush()
            self.drawn_len = 0
