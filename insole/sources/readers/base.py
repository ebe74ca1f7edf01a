"""The one interface every source implements: raw wire bytes with host receive times.

Readers know about threads, asyncio and devices; nothing after them does. A reader hands out
`Chunk` objects (the bytes exactly as the transport delivered them, stamped with the host's
monotonic clock) and `ReaderEvent` objects (connects, disconnects, gaps, errors). The decoder and
the pipeline downstream are the same for BLE, serial, file replay and the simulator.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from insole.errors import InsoleError, RecordingError

__all__ = [
    "Chunk", "CountReport", "Reader", "ReaderError", "ReaderEvent", "RecordingReaderError",
    "StreamInfo", "parse_flag",
]


class ReaderError(InsoleError, RuntimeError):
    """A source cannot be opened or has failed; the message says what to do."""


class RecordingReaderError(ReaderError, RecordingError):
    """A ``file:`` source whose recording cannot be read.

    A `ReaderError` that is also the `insole.errors.RecordingError` (a `FileError`, ``path``
    the recording) that reading it raised, as every error about one file is (docs/api.md).
    """


def parse_flag(value: Any) -> bool | None:
    """An on/off option as given in a source URL or by code; None if it is neither.

    Parameters
    ----------
    value : bool or str
        A bool, or (any case, spaces around ignored) ``1``, ``true``, ``yes``, ``on`` or ``0``,
        ``false``, ``no``, ``off``.

    Returns
    -------
    bool or None
        The flag, or None for any other value (the caller says what it accepts).
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return None


class CountReport:
    """Base of the dataclasses that report what a simulated source did (counts, by-side dicts).

    `as_dict` gives the report as JSON-able values, each dict field copied.
    """

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able values."""
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class StreamInfo:
    """One transport stream of a reader (a serial port, one BLE insole, ...).

    Attributes
    ----------
    stream_id : int
        Number used in chunks, events and recordings (0-254).
    transport : str
        ``"ble"``, ``"serial"``, ``"file"`` or ``"sim"``.
    label : str
        Human-readable name (port, device name or address).
    """

    stream_id: int
    transport: str
    label: str


@dataclass(frozen=True)
class Chunk:
    """Bytes as one transport delivered them.

    Attributes
    ----------
    stream_id : int
        Which stream (`StreamInfo.stream_id`).
    data : bytes
        Raw wire bytes (any split of the byte stream of SPEC §3).
    host_time_s : float
        Host receive time on ``time.monotonic()`` [s].
    source_time_s : float or None
        For replayed data, the host time recorded with these bytes [s] (what clock sync uses,
        so that a replay at any speed aligns the insoles as the offline analysis does); None
        for live data.
    """

    stream_id: int
    data: bytes
    host_time_s: float
    source_time_s: float | None = None


@dataclass(frozen=True)
class ReaderEvent:
    """Something that happened to a stream.

    Attributes
    ----------
    kind : str
        ``"connected"``, ``"disconnected"``, ``"reconnecting"``, ``"error"``, ``"battery"``,
        ``"status"``.
    stream_id : int
        Which stream (255 for the reader as a whole).
    host_time_s : float
        When, on ``time.monotonic()`` [s].
    detail : dict
        Event-specific fields (e.g. ``{"reason": ..., "attempt": 3}``); JSON-able.
    """

    kind: str
    stream_id: int
    host_time_s: float
    detail: dict[str, Any] = field(default_factory=dict)


class Reader(ABC):
    """Base class of all sources: a worker produces items, the caller pulls them.

    Subclasses implement `_run` (the worker body, run in a thread or an asyncio loop thread) and
    use `_put_chunk` / `_put_event` to hand items over; they set `streams` in ``__init__``.
    Errors raised by the worker are re-raised by `stop` (and by `read` once the worker ended).
    """

    streams: list[StreamInfo]

    def __init__(self) -> None:
        self.streams = []
        self._queue: queue.Queue[Chunk | ReaderEvent] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- caller side -------------------------------------------------------------------------

    def start(self) -> Reader:
        """Start the worker; return self."""
        if self._thread is not None:
            raise ReaderError("reader already started")
        self._thread = threading.Thread(target=self._worker, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def read(self, timeout_s: float | None = 0.1) -> list[Chunk | ReaderEvent]:
        """Return the items produced so far, waiting up to ``timeout_s`` for the first one.

        Returns an empty list on timeout. Raises the worker's error once the worker has ended
        with one and every item before it was read.
        """
        items: list[Chunk | ReaderEvent] = []
        try:
            items.append(
                self._queue.get(timeout=timeout_s) if timeout_s else self._queue.get_nowait()
            )
        except queue.Empty:
            if self._error is not None and not self.running:
                self._raise_error()
            return items
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    @property
    def running(self) -> bool:
        """Whether the worker is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the worker to stop, wait for it, and re-raise its error if it failed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._error is not None:
            self._raise_error()

    def __enter__(self) -> Reader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- worker side -------------------------------------------------------------------------

    @abstractmethod
    def _run(self) -> None:
        """Produce items until `_stop` is set (or the source ends)."""

    def _worker(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # re-raised in the caller's thread by stop()/read()
            self._error = exc
            self._put_event("error", 255, reason=str(exc))

    def _put_chunk(self, stream_id: int, data: bytes, host_time_s: float | None = None) -> None:
        self._queue.put(
            Chunk(stream_id, bytes(data), time.monotonic() if host_time_s is None else host_time_s)
        )

    def _put_event(self, kind: str, stream_id: int, **detail: Any) -> None:
        self._queue.put(ReaderEvent(kind, stream_id, time.monotonic(), detail))

    def _raise_error(self) -> None:
        err = self._error
        self._error = None
        assert err is not None
        if isinstance(err, InsoleError):
            raise err
        raise ReaderError(f"{type(self).__name__} failed: {err}") from err
