"""Progress with ETA for the command line, on stderr: a bar redrawn in place on a terminal, plain lines
otherwise (a log file or a batch scheduler's output), nothing with ``--quiet``.

Plain lines appear at most every ``interval`` seconds (default 10), so a short run writes none and a long one
leaves a readable log: ``compute: 120/1000 inputs (12 %), 4.1 inputs/s, ETA 3 min 35 s``."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def format_seconds(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN / inf: no rate yet
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class ProgressReporter:
    """Counts finished items of ``total`` and reports rate and ETA on ``stream``."""

    def __init__(self, total: int, *, label: str = "compute", unit: str = "inputs", stream: TextIO | None = None,
                 enabled: bool = True, tty: bool | None = None, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, width: int = 30) -> None:
        self.total, self.label, self.unit = int(total), label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.total > 0
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty, self.interval, self.clock, self.width = tty, interval, clock, width
        self.done = 0
        self.start = clock()
        self._last = self.start
        self._printed = False

    def line(self) -> str:
        elapsed = max(1e-9, self.clock() - self.start)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        percent = 100.0 * self.done / self.total if self.total else 100.0
        text = (f"{self.done}/{self.total} {self.unit} ({percent:.0f} %), {rate:.3g} {self.unit}/s, "
                f"ETA {format_seconds(left)}")
        if self.tty:
            filled = int(self.width * self.done / self.total) if self.total else self.width
            return f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {text}"
        return f"{self.label}: {text}"

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        now = self.clock()
        if self.tty:
            if now - self._last >= 0.1 or self.done >= self.total:
                self._last = now
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
                self._printed = True
        elif now - self._last >= self.interval:
            self._last = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._printed = True

    def clear(self) -> None:
        """Before printing a message on a terminal: end the bar's line so the message starts on its own."""
        if self.enabled and self.tty and self._printed:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def finish(self) -> None:
        """End the report: the bar's line is ended; a plain log gets a last line if it got any."""
        if not self.enabled or not self._printed:
            return
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
        else:
            elapsed = self.clock() - self.start
            self.stream.write(f"{self.label}: {self.done}/{self.total} {self.unit} in {format_seconds(elapsed)}\n")
        self.stream.flush()
