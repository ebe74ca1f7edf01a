"""Progress bars for long commands: tqdm on stderr, drawn only when stderr is a terminal.

Every ``insole`` command that can take more than a second shows one (``analyze``, ``info``,
``report``, ``import ...``, ``simulate``; ``--quiet`` turns it off), and nothing is drawn when
stderr is a file or a pipe, so logs and scripts stay clean. tqdm is imported only when a bar is
drawn; without tqdm, nothing is drawn.

`Progress` shows named stages and a fraction of a known total (``simulate``: simulated seconds).
`FileProgress` shows how far a file has been read without a hook in the reader: a background
thread reads the position of the file's open descriptor (``/proc/self/fdinfo`` on Linux; on
other systems the bar shows the stage and elapsed time only).
"""

from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

__all__ = ["FileProgress", "Progress", "terminal_bar", "wanted"]


def wanted(args: Any) -> bool:
    """Whether a command's arguments allow a progress bar: not with ``--quiet`` or ``--json``."""
    return not (getattr(args, "quiet", False) or getattr(args, "json", False))


def _on_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _tqdm(stream: TextIO, desc: str, total: float | None, unit: str, **kw: Any) -> Any:
    """A tqdm bar on `stream`, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        width = 0
    # A terminal of unknown size (0 x 0, e.g. a fresh pty) would get an empty bar from tqdm.
    size: dict[str, Any] = {"dynamic_ncols": True} if width else {"ncols": 80, "nrows": 24}
    return tqdm(total=total, desc=desc, unit=unit, file=stream, leave=False, mininterval=0.1,
                **size, **kw)


def terminal_bar(stream: TextIO, desc: str, total: float | None, unit: str, **kw: Any) -> Any:
    """A tqdm bar on `stream` if it is a terminal and tqdm is installed, else None."""
    return _tqdm(stream, desc, total, unit, **kw) if _on_terminal(stream) else None


class Progress:
    """Stage names and a bar over a known total, on one terminal line.

    Parameters
    ----------
    label : str
        Command name shown first.
    enabled : bool
        Draw at all (callers pass False for ``--quiet`` and ``--json``).
    stream : text stream
        Where to draw (default stderr); nothing is drawn unless it is a terminal.
    min_interval_s : float
        Shortest time between redraws.
    total : float, optional
        What a fraction of 1 stands for, e.g. the simulated duration in seconds (default 100:
        percent).
    unit : str
        Unit of `total` (default ``"%"``).
    """

    def __init__(
        self,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        min_interval_s: float = 0.1,
        total: float | None = None,
        unit: str = "%",
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and _on_terminal(self.stream)
        self.min_interval_s = min_interval_s
        self.total = float(total) if total is not None else 100.0
        self.unit = unit
        self._bar: Any = None
        self._stage = ""

    def stage(self, name: str) -> None:
        """Show that a stage without measurable progress has started."""
        bar = self._get()
        if bar is None:
            return
        self._stage = name
        bar.set_description_str(f"{self.label}: {name}", refresh=False)
        bar.reset(total=None)
        bar.refresh()

    def update(self, name: str, fraction: float) -> None:
        """Show ``fraction`` (0-1) of stage ``name`` done."""
        bar = self._get()
        if bar is None:
            return
        if name != self._stage or bar.total is None:
            self._stage = name
            bar.set_description_str(f"{self.label}: {name}", refresh=False)
            # Whole seconds or percent are counted in whole numbers (no "556.9986/600.0").
            bar.reset(total=int(self.total) if self.total.is_integer() else self.total)
        value: float = self.total * max(0.0, min(1.0, fraction))
        if self.total.is_integer():
            value = math.floor(value)
        bar.update(value - bar.n)

    def done(self) -> None:
        """Clear the line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _get(self) -> Any:
        if not self.enabled:
            return None
        if self._bar is None:
            self._bar = _tqdm(self.stream, self.label, None, self.unit)
            if self._bar is None:
                self.enabled = False
            else:
                self._bar.mininterval = self.min_interval_s
        return self._bar


class FileProgress:
    """A bar of the bytes of a file read so far, while a library call reads it.

    Use as a context manager around the call; `stage` renames the bar (and starts counting
    again, for a second pass over the file).

    Parameters
    ----------
    label : str
        Command name shown first, e.g. ``"insole analyze"``.
    path : path-like
        The file being read.
    enabled : bool
        Draw at all (callers pass `wanted` of their arguments).
    stream : text stream
        Where to draw (default stderr); nothing is drawn unless it is a terminal.
    interval_s : float
        How often the read position is looked at.
    """

    def __init__(
        self,
        label: str,
        path: str | os.PathLike[str],
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval_s: float = 0.2,
    ) -> None:
        self.label = label
        self.path = Path(path)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and _on_terminal(self.stream)
        self.interval_s = interval_s
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._target = ""
        self._lock = threading.Lock()
        self._high = 0

    def __enter__(self) -> FileProgress:
        if not self.enabled:
            return self
        try:
            size = self.path.stat().st_size
            self._target = os.path.realpath(self.path)
        except OSError:
            self.enabled = False  # the reader reports the missing file
            return self
        self._bar = _tqdm(self.stream, f"{self.label}: reading", size or None, "B",
                          unit_scale=True, unit_divisor=1024)
        if self._bar is None:
            self.enabled = False
            return self
        self._thread = threading.Thread(target=self._watch, name="insole-progress", daemon=True)
        self._thread.start()
        return self

    def stage(self, name: str) -> None:
        """Rename the bar; the count starts again (a new pass over the file)."""
        if self._bar is None:
            return
        with self._lock:
            self._high = 0
            self._bar.set_description_str(f"{self.label}: {name}", refresh=False)
            self._bar.reset(total=self._bar.total)
            self._bar.refresh()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            pos = self._position()
            with self._lock:
                if self._bar is None:
                    return
                if pos is not None and pos > self._high:
                    self._high = pos
                    self._bar.update(pos - self._bar.n)
                else:
                    self._bar.refresh()  # the elapsed time moves on

    def _position(self) -> int | None:
        """Read position of this process's open descriptor on the file, if one is open."""
        if self._fd is not None:
            pos = _fd_position(self._fd, self._target)
            if pos is not None:
                return pos
            self._fd = None
        try:
            fds = os.listdir("/proc/self/fd")
        except OSError:
            return None
        for name in fds:
            try:
                if os.readlink(f"/proc/self/fd/{name}") != self._target:
                    continue
            except OSError:
                continue
            pos = _fd_position(int(name), self._target)
            if pos is not None:
                self._fd = int(name)
                return pos
        return None


def _fd_position(fd: int, target: str) -> int | None:
    try:
        if os.readlink(f"/proc/self/fd/{fd}") != target:
            return None
        with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as f:
            for line in f:
                if line.startswith("pos:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
