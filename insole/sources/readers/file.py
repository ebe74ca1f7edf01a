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
from collections.abc import Iterator
from typing import Any

from insole.errors import RecordingError
from insole.recordings.container import EVENT_STREAM_ID, KIND_DATA, KIND_EVENT, Block, BlockReader
from insole.sources.readers.base import (
    Chunk,
    Reader,
    ReaderError,
    ReaderEvent,
    RecordingReaderError,
    StreamInfo,
)

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
    salvage : bool, default True
        Replay past damage in the file (`insole.recordings.container.BlockReader`): the bytes of a
        block whose CRC fails are handed out when its structure is intact, unreadable regions are
        skipped. False replays up to the first damage.
    strict : bool, default False
        Refuse a damaged file (a `ReaderError` from the constructor).

    Attributes
    ----------
    header : dict
        The recording header.
    devices : list of dict
        The header's device entries (layout and calibration as recorded).

    Raises
    ------
    ReaderError
        If the file cannot be read as a recording, or (``strict``) is damaged.

    Notes
    -----
    Chunks are stamped ``start + host_time_s / speed`` on ``time.monotonic()``
    (``start + host_time_s`` with ``speed=inf``, which runs ahead of the clock), so relative
    timing within the replay is the recorded one. Damage in the file is reported first, as one
    ``damage`` event (the first damage's ``reason``, ``offset`` and ``code``, with
    ``damaged_blocks``, ``bytes_skipped`` and ``bytes_kept`` over all of it); with salvage the
    replay goes on past it, otherwise it stops there. Streams keep their recorded ids and
    labels; their transport becomes ``"file"``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, speed: float = 1.0, salvage: bool = True,
        strict: bool = False,
    ) -> None:
        super().__init__()
        if not speed > 0:
            raise ReaderError(f"file replay speed must be positive or 'max', got {speed!r}")
        self.path = os.fspath(path)
        self.speed = float(speed)
        self.salvage = bool(salvage)
        try:
            # One pass to check the file and learn its streams, events, damage and length.
            self._raw = BlockReader(self.path, salvage=salvage, strict=strict).scan()
        except RecordingError as exc:
            raise RecordingReaderError(str(exc), path=exc.path, offset=exc.offset) from None
        self.header: dict[str, Any] = self._raw.header
        self.devices: list[dict[str, Any]] = list(self.header.get("devices", []))
        labels = {s["stream_id"]: s.get("label", "") for s in self.header.get("streams", [])}
        self._stream_ids = sorted(self._raw.stream_ids)
        # A stream of datagrams (transport "moticon-udp", insole.core.moticon) keeps its transport:
        # it names how the bytes are parsed, so a re-recording must carry it on.
        kinds = {s["stream_id"]: s.get("transport") for s in self.header.get("streams", [])}
        self.streams = [
            StreamInfo(sid, "moticon-udp" if kinds.get(sid) == "moticon-udp" else "file",
                       labels.get(sid, f"stream {sid}"))
            for sid in self._stream_ids
        ]

    def timeline(self) -> Iterator[tuple[float, tuple[int, int], Chunk | ReaderEvent]]:
        """Everything to hand out, as (recorded time, order, item), in time order.

        Each stream is read by a pass of its own and the passes are merged by time, so memory
        stays bounded whatever the recording's length. At equal times, recording-wide events
        come first, then the streams by id.
        """
        global_events = sorted(
            (float(ev["host_time_s"]), (0, i), _event(ev))
            for i, ev in enumerate(
                ev for ev in self._raw.events
                if int(ev.get("stream_id", EVENT_STREAM_ID)) not in self._stream_ids
            )
        )
        per_stream = [
            self._stream_items(sid, rank) for rank, sid in enumerate(self._stream_ids, 1)
        ]
        return heapq.merge(*per_stream, global_events)

    def _stream_items(
        self, sid: int, rank: int
    ) -> Iterator[tuple[float, tuple[int, int], Chunk | ReaderEvent]]:
        """One stream's chunks and events in byte order; times never decrease."""
        last_t = -math.inf
        seq = 0
        for block in BlockReader(self.path, salvage=self.salvage).blocks(stream_ids=(sid,)):
            if not isinstance(block, Block):
                continue
            if block.kind == KIND_EVENT:
                ev = block.event
                assert ev is not None
                last_t = max(float(ev["host_time_s"]), last_t)
                yield last_t, (rank, seq), _event(ev)
                seq += 1
            elif block.kind == KIND_DATA:
                for t, data in block.chunks():
                    last_t = max(float(t), last_t)
                    yield last_t, (rank, seq), Chunk(sid, data, last_t)
                    seq += 1

    def _run(self) -> None:
        start = time.monotonic()
        if self._raw.damage is not None:
            d, all_damage = self._raw.damage, self._raw.damages
            self._queue.put(
                ReaderEvent("damage", EVENT_STREAM_ID, start,
                            {"reason": d.reason, "offset": d.offset, "code": d.code,
                             "damaged_blocks": len(all_damage),
                             "bytes_skipped": sum(x.bytes_after for x in all_damage),
                             "bytes_kept": sum(x.bytes_kept for x in all_damage)})
            )
        fast = math.isinf(self.speed)
        for t, _, item in self.timeline():
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
