"""Replay a recording as if it were a live device: same bytes, same pipeline, recorded pace.

A recording stores the wire bytes each transport stream delivered with their host receive
times. Replay hands those bytes over window by window (e.g. 50 ms of recording time), paced
against an absolute schedule (``start + host_time / speed``) so that pacing never drifts however
long the replay. Because the decoder and the pipeline give the same results for any split of the
bytes, the window size changes latency only, never a result.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from .analysis import summarise_session
from .core.pipeline import Pipeline, StepRecord
from .core.summary import StepAccumulator
from .recording import KIND_DATA, Block, BlockReader, RawRecording
from .report_text import print_summary

__all__ = ["ReplayTick", "iter_replay", "replay_to_terminal"]


@dataclass
class ReplayTick:
    """The bytes that arrived during one window of recording time.

    Attributes
    ----------
    time_s : float
        Host time at the end of the window [s since the recording start].
    data : dict of int to bytes
        Bytes per stream id.
    chunk_ends, chunk_times : dict of int to ndarray
        Per stream, the end offsets in ``data`` of the recorded chunks it joins and their host
        times [s] (for clock sync: `insole.core.pipeline.Pipeline.feed`).
    last : bool
        Whether this is the final window.
    invalid_times : int
        Chunk host times so far that were not finite numbers (NaN, +-inf: a damaged chunk
        table whose block CRC still matched). Their chunks are handed over with the previous
        chunk's time of the same stream (0 for a stream's first chunk).
    """

    time_s: float
    data: dict[int, bytes] = field(default_factory=dict)
    chunk_ends: dict[int, np.ndarray] = field(default_factory=dict)
    chunk_times: dict[int, np.ndarray] = field(default_factory=dict)
    last: bool = False
    invalid_times: int = 0


def iter_replay(
    source: str | os.PathLike[str] | BlockReader | RawRecording,
    *,
    speed: float = 1.0,
    window_s: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    salvage: bool = True,
) -> Iterator[ReplayTick]:
    """Yield a recording's bytes window by window at the recorded pace.

    Parameters
    ----------
    source : path-like, BlockReader or RawRecording
        The recording. A file is read block by block (one pass per stream, plus one to find
        the end), so memory does not grow with its length.
    speed : float
        Pace factor; ``math.inf`` replays as fast as possible (in 1 s windows).
    window_s : float
        Recording time handed over at once [s].
    clock, sleep : callable
        Time source and sleep function.
    salvage : bool, default True
        For a path: read past damage (`insole.recording.BlockReader`). A `BlockReader` given
        as the source keeps its own setting.

    Yields
    ------
    ReplayTick
        One per window that holds data, and a final one (``last=True``).

    Notes
    -----
    A chunk host time that is not a finite number is damage the block CRC cannot catch (the
    writer never writes one): the chunk keeps its place in its stream and takes the previous
    chunk's time, and `ReplayTick.invalid_times` counts it. Windows without data are skipped
    without iterating over them, so a long gap costs nothing at ``speed=inf``.
    """
    invalid = [0]
    if isinstance(source, RawRecording):
        cursors = {
            sid: _Cursor(_finite_times(iter([(s.data, s.chunk_end, s.chunk_time_s)]), invalid))
            for sid, s in source.streams.items()
        }
        lasts = [float(s.chunk_time_s[-1]) for s in source.streams.values() if s.n_chunks]
    else:
        reader = (source if isinstance(source, BlockReader)
                  else BlockReader(source, salvage=salvage))
        if not reader.complete:
            reader.scan()
        cursors = {
            sid: _Cursor(_finite_times(_stream_blocks(reader, sid), invalid))
            for sid in reader.stream_ids
        }
        lasts = list(reader.last_chunk_time_s.values())
    last = max((t for t in lasts if math.isfinite(t)), default=0.0)
    if math.isinf(speed):
        window_s = max(window_s, 1.0)
    start = clock()
    n_windows = int(last // window_s) + 1
    w = 0  # the current window: it ends at (w + 1) * window_s
    while True:
        final = w >= n_windows - 1
        if not final:
            upcoming = [t for c in cursors.values() if (t := c.next_time()) is not None]
            if not upcoming:
                final = True  # every stream is exhausted: only the final tick is left
            else:  # skip empty windows; one early, in case of rounding in the products
                w = max(w, int(min(upcoming) // window_s) - 1)
                final = w >= n_windows - 1
        tick = ReplayTick(time_s=last if final else (w + 1) * window_s, last=final)
        for sid, cursor in cursors.items():
            got = cursor.take_until(tick.time_s, final=final)
            if got is not None:
                tick.data[sid], tick.chunk_ends[sid], tick.chunk_times[sid] = got
        tick.invalid_times = invalid[0]
        if final:
            tick.time_s = max([last, *(float(t.max()) for t in tick.chunk_times.values())])
        elif not tick.data:
            w += 1
            continue
        if not math.isinf(speed):
            delay = start + tick.time_s / speed - clock()
            while delay > 0:  # in pieces: sleep() overflows on absurd (corrupt) times
                sleep(min(delay, _MAX_SLEEP_S))
                delay = start + tick.time_s / speed - clock()
        yield tick
        if final:
            return
        w += 1


_MAX_SLEEP_S = 3600.0
"""Longest single sleep of a paced replay [s]."""


_Piece = tuple[bytes, np.ndarray, np.ndarray]  # bytes, chunk ends in them, chunk host times


def _stream_blocks(reader: BlockReader, stream_id: int) -> Iterator[_Piece]:
    """The data blocks of one stream, read by a pass of their own (bounded memory)."""
    own = BlockReader(reader.path, salvage=reader.salvage, read_bytes=reader.read_bytes)
    for block in own.blocks(stream_ids=(stream_id,)):
        if isinstance(block, Block) and block.kind == KIND_DATA:
            yield block.payload, block.chunk_end, block.chunk_time_s


def _finite_times(pieces: Iterator[_Piece], invalid: list[int]) -> Iterator[_Piece]:
    """One stream's pieces with every non-finite chunk time replaced by the previous time.

    ``invalid[0]`` counts the replaced times (shared by the streams of a replay).
    """
    previous = 0.0
    for data, chunk_end, chunk_time in pieces:
        ok = np.isfinite(chunk_time)
        if not ok.all():
            invalid[0] += int(chunk_time.size - np.count_nonzero(ok))
            source = np.maximum.accumulate(np.where(ok, np.arange(chunk_time.size), -1))
            chunk_time = np.where(
                source >= 0, chunk_time[np.maximum(source, 0)], previous
            ).astype(np.float64)
        if chunk_time.size:
            previous = float(chunk_time[-1])
        yield data, chunk_end, chunk_time


class _Cursor:
    """Hands out one stream's chunks up to a time, from its pieces in order."""

    def __init__(self, pieces: Iterator[_Piece]) -> None:
        self._pieces = pieces
        self._cur: _Piece | None = None
        self._pos = 0  # chunks of the current piece handed out

    def next_time(self) -> float | None:
        """Host time of the next chunk to hand out, or None when the stream is exhausted."""
        while self._cur is None or self._pos >= len(self._cur[2]):
            self._cur = next(self._pieces, None)
            self._pos = 0
            if self._cur is None:
                return None
        return float(self._cur[2][self._pos])

    def take_until(self, time_s: float, *, final: bool) -> _Piece | None:
        """Join the chunks received before ``time_s`` (all that are left if ``final``)."""
        parts: list[bytes] = []
        ends: list[np.ndarray] = []
        times: list[np.ndarray] = []
        total = 0
        while True:
            if self._cur is None:
                self._cur = next(self._pieces, None)
                self._pos = 0
                if self._cur is None:
                    break
            data, chunk_end, chunk_time = self._cur
            pos = self._pos
            upto = len(chunk_time) if final else int(np.searchsorted(chunk_time, time_s))
            if upto > pos:
                a = int(chunk_end[pos - 1]) if pos else 0
                b = int(chunk_end[upto - 1])
                parts.append(data[a:b])
                ends.append(chunk_end[pos:upto] - a + total)
                times.append(chunk_time[pos:upto])
                total += b - a
                self._pos = upto
            if self._pos < len(chunk_time):
                break  # the rest of this piece is later
            self._cur = None
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0], ends[0], times[0]
        return b"".join(parts), np.concatenate(ends), np.concatenate(times)


_MAX_LINES_PER_TICK = 60
"""Status lines printed at most for the empty stretch before a tick; a longer gap gets one."""


class _Status:
    """Running metrics of a replay for the terminal: what arrived and what it showed."""

    def __init__(self) -> None:
        #: The last steps of each side (what a status line shows), and how many there were:
        #: a replay of any length keeps the same few.
        self.steps: dict[str, deque[StepRecord]] = {}
        self.counts: dict[str, int] = {}
        self.battery: dict[str, int] = {}
        self.samples: dict[str, int] = {}

    def add(self, step: StepRecord) -> None:
        self.steps.setdefault(step.side, deque(maxlen=8)).append(step)
        self.counts[step.side] = self.counts.get(step.side, 0) + 1

    def side(self, label: str) -> None:
        self.steps.setdefault(label, deque(maxlen=8))
        self.counts.setdefault(label, 0)

    def line(self, t: float, pipe: Pipeline) -> str:
        stats = pipe.stats.values()
        lost = sum(s.lost_frames for s in stats)
        bad = sum(s.crc_errors + s.cobs_errors for s in stats)
        parts = [f"{t:7.1f} s"]
        for side in sorted(self.steps, key=lambda s: s != "left"):
            st = self.steps[side]
            b = f" {self.battery[side]}%" if side in self.battery else ""
            strides = [s.stride_s for s in st if math.isfinite(s.stride_s)]
            cad = f"{120.0 / float(np.median(strides)):5.1f}/min" if strides else "    -    "
            ct = f"{1000 * st[-1].contact_s:4.0f} ms" if st else "   - ms"
            hp = f"heel {st[-1].load.heel_peak_n:5.0f}" if st else "heel     -"
            n = self.counts.get(side, 0)
            parts.append(f"{side[0].upper()} {n:4d} steps {cad} {ct} {hp}{b}")
        parts.append(f"lost {lost} bad {bad}")
        return "  ".join(parts)


def replay_to_terminal(
    path: str | os.PathLike[str],
    *,
    speed: float = 1.0,
    out: TextIO,
    every_s: float = 1.0,
    summary: bool = True,
    salvage: bool = True,
    strict: bool = False,
) -> dict[str, Any]:
    """Replay a recording through the live pipeline and print one status line per ``every_s``.

    Each line shows, per side, the steps so far, cadence, the last contact time and heel peak,
    battery, and the frames lost and bad pieces so far. The session summary follows.

    Parameters
    ----------
    path : path-like
        The recording.
    speed : float
        Pace factor (``math.inf`` for as fast as possible).
    out : text stream
        Where to print.
    every_s : float
        Recording time between lines [s].
    summary : bool
        Print the session summary at the end.
    salvage : bool, default True
        Replay past damage in the file (`insole.recording.BlockReader`); the summary reports
        it (``damage``, ``damaged_blocks``, ``damages``). False replays up to the first damage
        and prints a note saying so.
    strict : bool, default False
        Refuse a damaged file: raise `insole.errors.RecordingError` before replaying.

    Returns
    -------
    dict
        The session summary.
    """
    reader = BlockReader(path, salvage=salvage, strict=strict).scan()
    if reader.damage is not None and not reader.salvage:
        print(
            f"note: {path}: {reader.damage.reason} (at byte {reader.damage.offset}); "
            "replaying what precedes it",
            file=out,
        )
    pipe = Pipeline(reader.header)
    status = _Status()
    records = StepAccumulator()  # the steps' numbers only: memory stays bounded
    next_print = every_s
    end_s, invalid = 0.0, 0
    for tick in iter_replay(reader, speed=speed, window_s=0.05):
        for sid, data in tick.data.items():
            update = pipe.feed(
                sid, data, tick.chunk_times[sid], chunk_ends=tick.chunk_ends[sid]
            )
            records.add(update.steps)
            for s in update.steps:
                status.add(s)
            status.battery.update(update.battery_pct)
        if tick.last:
            last = pipe.finish().steps
            records.add(last)
            for s in last:
                status.add(s)
        for side in pipe.sides.values():
            status.side(side.label)
        if tick.time_s - next_print >= _MAX_LINES_PER_TICK * every_s:  # a long gap: one line
            next_print += every_s * math.floor((tick.time_s - next_print) / every_s)
            if next_print + every_s <= next_print:  # beyond float resolution (corrupt times)
                next_print = tick.time_s
        while tick.time_s >= next_print:
            print(status.line(next_print, pipe), file=out, flush=True)
            next_print = next_print + every_s if next_print + every_s > next_print else math.inf
        end_s = tick.time_s
        invalid = tick.invalid_times
    duration_s = reader.duration_s if math.isfinite(reader.duration_s) else end_s
    if next_print - every_s < duration_s - 0.5 * every_s:
        print(status.line(duration_s, pipe), file=out)
    if invalid:
        print(
            f"note: {path}: {invalid} chunk host "
            f"{'time was' if invalid == 1 else 'times were'} not a finite number (damaged "
            "chunk table); their bytes were replayed at the previous chunk's time",
            file=out,
        )
    _, result = summarise_session(
        pipe, records, reader.header, damage=reader.damage, path=reader.path,
        damages=reader.damages,
    )
    if summary:
        print(file=out)
        print_summary(result, out=out)
    return result
