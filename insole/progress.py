"""A small progress bar for long commands, drawn on stderr only when it is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Stage names and a percentage bar on one terminal line.

    Parameters
    ----------
    label : str
        Command name shown first.
    enabled : bool
        Draw at all (callers pass False for ``--json`` output).
    stream : text stream
        Where to draw; nothing is drawn unless it is a terminal, so logs and pipes stay clean.
    min_interval_s : float
        Shortest time between redraws.
    """

    def __init__(
        self,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        min_interval_s: float = 0.1,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._drawn = False

    def stage(self, name: str) -> None:
        """Show that a stage without measurable progress has started."""
        self._draw(f"{self.label}: {name}…", force=True)

    def update(self, name: str, fraction: float) -> None:
        """Show ``fraction`` (0-1) of stage ``name`` done."""
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.min_interval_s:
            return
        width = 30
        filled = int(round(width * max(0.0, min(1.0, fraction))))
        bar = "█" * filled + "·" * (width - filled)
        self._draw(f"{self.label}: {name} {bar} {100 * fraction:5.1f} %", force=True)

    def done(self) -> None:
        """Clear the line."""
        if self.enabled and self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        self._last = time.monotonic()
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self._drawn = True
