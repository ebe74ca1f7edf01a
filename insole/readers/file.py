"""Replay a recording as a live source (``file:PATH``): the recorded chunks at recorded pace.

The reader hands out the raw chunks exactly as recorded (not decoded: the consumer decodes them
like live data), merged over streams in time order and paced on an absolute schedule
``start + host_time_s / speed``, so pacing never drifts. Recorded ``disconnect`` / ``reconnect``
events are replayed as ``disconnected`` / ``connected`` events at their place in the byte
stream, so a consumer feeds the decoder its 0x00 exactly where the live recorder did.
"""

from __future__ import annotations

import heapq
import math
import os
import time
from typing import Any

from insole.errors import RecordingError
from insole.recording import EVENT_STREAM_ID, read_raw_recording

from .base import Chunk, Reader, ReaderError, ReaderEvent, StreamInfo

__all__ = ["FileReader"]

_EVENT_KINDS = {"disconnect": "disconnected", "reconnect": "connected"}


class FileReader(Reader):
    """Replay of a recording (the ``file:`` source).

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    speed : float
        Pace factor (2 = twice as fast); ``math.inf`` hands out everything at once.

    Attributes
    ----------
    header : dict
        The recording header.
    devices : list of dict
        The header's device entries (layout and calibration as recorded).

    Raises
    ------
    ReaderError
        If the file cannot be read as a recording.

    Notes
    -----
    Chunks are stamped ``start + host_time_s / speed`` on ``time.monotonic()``
    (``start + host_time_s`` with ``speed=inf``, which runs ahead of the clock), so relative
    timing within the replay is the recorded one. A damaged tail is replayed up to the damage
    and reported as a ``damage`` event first. Streams keep their recorded ids and labels;
    their transport becomes ``"file"``.
    """

    def __init__(self, path: str | os.PathLike[str], *, speed: float = 1.0) -> None:
        super().__init__()
        if not speed > 0:
            raise ReaderError(f"file replay speed must be positive or 'max', got {speed!r}")
        self.path = os.fspath(path)
        self.speed = float(speed)
        try:
            self._raw = read_raw_recording(self.path)
        except RecordingError as exc:
            raise ReaderError(str(exc)) from None
        self.header: dict[str, Any] = self._raw.header
        self.devices: list[dict[str, Any]] = list(self.header.get("devices", []))
        labels = {s["stream_id"]: s.get("label", "") for s in self.header.get("streams", [])}
        self.streams = [
            StreamInfo(sid, "file", labels.get(sid, f"stream {sid}"))
            for sid in sorted(self._raw.streams)
        ]

    def _items(self) -> list[tuple[float, int, Chunk | ReaderEvent]]:
        """Everything to hand out, as (recorded time, order, item), sorted."""
        per_stream: list[list[tuple[float, int, Chunk | ReaderEvent]]] = []
        events_by_stream: dict[int, list[dict[str, Any]]] = {}
        global_events: list[tuple[float, int, Chunk | ReaderEvent]] = []
        order = 0
        for ev in self._raw.events:
            sid = int(ev.get("stream_id", EVENT_STREAM_ID))
            if sid == EVENT_STREAM_ID or sid not in self._raw.streams:
                global_events.append((float(ev["host_time_s"]), order, _event(ev)))
                order += 1
            else:
                events_by_stream.setdefault(sid, []).append(ev)
        for sid, stream in sorted(self._raw.streams.items()):
            items: list[tuple[float, int, Chunk | ReaderEvent]] = []
            evs = sorted(events_by_stream.get(sid, []), key=lambda e: e["stream_offset"])
            ends = stream.chunk_end.tolist()
            times = stream.chunk_time_s.tolist()
            e = 0
            begin = 0
            last_t = -math.inf
            for end, t in zip(ends, times, strict=True):
                while e < len(evs) and evs[e]["stream_offset"] <= begin:
                    te = max(float(evs[e]["host_time_s"]), last_t)
                    items.append((te, order, _event(evs[e])))
                    order += 1
                    last_t = te
                    e += 1
                t = max(float(t), last_t)
                items.append((t, order, Chunk(sid, stream.data[begin:end], t)))
                order += 1
                last_t = t
                begin = end
            for ev in evs[e:]:
                te = max(float(ev["host_time_s"]), last_t)
                items.append((te, order, _event(ev)))
                order += 1
            per_stream.append(items)
        return list(heapq.merge(*per_stream, sorted(global_events)))

    def _run(self) -> None:
        start = time.monotonic()
        if self._raw.damage is not None:
            d = self._raw.damage
            self._queue.put(
                ReaderEvent("damage", EVENT_STREAM_ID, start,
                            {"reason": d.reason, "offset": d.offset, "code": d.code})
            )
        fast = math.isinf(self.speed)
        for t, _, item in self._items():
            if self._stop.is_set():
                return
            due = start + (t if fast else t / self.speed)
            if not fast:
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            if isinstance(item, Chunk):
                self._queue.put(Chunk(item.stream_id, item.data, due, item.host_time_s))
            else:
                self._queue.put(ReaderEvent(item.kind, item.stream_id, due, item.detail))


def _event(ev: dict[str, Any]) -> ReaderEvent:
    """A recorded event as a reader event (time filled in when handed out)."""
    name = str(ev.get("event"))
    detail = {k: v for k, v in ev.items()
              if k not in ("event", "stream_id", "host_time_s", "stream_offset")}
    detail["recorded_event"] = name
    if name == "reconnect":
        detail.setdefault("reconnect", True)
        detail["flush_decoder"] = True
    kind = _EVENT_KINDS.get(name, name)
    return ReaderEvent(kind, int(ev.get("stream_id", EVENT_STREAM_ID)), 0.0, detail)
