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

from insole.core.alerts import AlertMonitor
from insole.core.pipeline import Pipeline, StepRecord
from insole.core.summary import StepAccumulator
from insole.live.loadwatch import RecentMax, SessionWatch, WatchEvent
from insole.live.terminal import StatusState, TerminalView
from insole.recordings.container import BlockReader, RawRecording, StreamRun
from insole.session.analysis import summarise_session
from insole.session.tables import is_plate
from insole.session.text import print_summary

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
        For a path: read past damage (`insole.recordings.container.BlockReader`). A `BlockReader`
        given as the source keeps its own setting.

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
            sid: _Cursor(_finite_times(_raw_pieces(source, sid), invalid))
            for sid in source.streams
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
    """One stream's bytes, read by a pass of their own (`BlockReader.runs`, bounded memory).

    A 0x00 of its own follows the bytes before each of the stream's reconnects, with the time
    of the chunk before it: it ends a frame cut by the disconnect (SPEC §4.2), as offline
    analysis feeds it (`insole.session.analysis.SessionAnalysis.run`), so a replay counts the
    frames lost at a reconnect as `insole analyze` does.
    """
    own = BlockReader(reader.path, salvage=reader.salvage, read_bytes=reader.read_bytes)
    last = 0.0
    for item in own.runs(stream_ids=(stream_id,)):
        if isinstance(item, StreamRun):
            if item.chunk_time_s.size:
                last = float(item.chunk_time_s[-1])
            yield item.data, item.chunk_end, item.chunk_time_s
        elif (isinstance(item, dict) and item.get("event") == "reconnect"
              and item.get("stream_id") == stream_id):
            yield _FLUSH, np.ones(1, np.int64), np.full(1, last)


def _raw_pieces(raw: RawRecording, stream_id: int) -> Iterator[_Piece]:
    """`_stream_blocks` for a recording in memory (`RawRecording.timed_pieces`)."""
    last = 0.0
    for data, ends, times in raw.timed_pieces(stream_id):
        if ends is None or times is None:  # the 0x00 at a reconnect
            yield _FLUSH, np.ones(1, np.int64), np.full(1, last)
            continue
        if times.size:
            last = float(times[-1])
        yield data, ends, times


#: The byte that ends a frame cut by a disconnect (SPEC §4.2).
_FLUSH = b"\x00"



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
#: Most status lines of an as-fast-as-possible replay (3,600 lines for an hour would scroll
#: the events and the summary away; the progress bar shows the position).
MAX_SPEED_LINES = 100
"""Status lines printed at most for the empty stretch before a tick; a longer gap gets one."""


class _Status:
    """Running metrics of a replay for the terminal view (`insole.live.terminal`)."""

    def __init__(self, *, plate: bool = False) -> None:
        #: One force plate under both feet (`insole.session.tables.is_plate`): its consecutive
        #: contacts are one step apart (not a stride), and it has no heel.
        self.plate = plate
        #: The last steps of each side (what a status line shows), and how many there were:
        #: a replay of any length keeps the same few.
        self.steps: dict[str, deque[StepRecord]] = {}
        self.counts: dict[str, int] = {}
        self.battery: dict[str, int] = {}

    def add(self, step: StepRecord) -> None:
        self.steps.setdefault(step.side, deque(maxlen=8)).append(step)
        self.counts[step.side] = self.counts.get(step.side, 0) + 1

    def side(self, label: str) -> None:
        self.steps.setdefault(label, deque(maxlen=8))
        self.counts.setdefault(label, 0)

    def state(self, t: float, pipe: Pipeline, progress: str = "") -> StatusState:
        """The status line's values at recording time `t` (as the live runtime shows them)."""
        stats = pipe.stats.values()
        strides = [s.stride_s for st in self.steps.values() for s in st
                   if math.isfinite(s.stride_s)]
        return StatusState(
            time_s=t,
            steps=dict(self.counts),
            cadence_spm=(60.0 if self.plate else 120.0) / float(np.median(strides))
            if strides else float("nan"),
            contact_ms={k: 1000.0 * float(np.median([s.contact_s for s in st])) if st
                        else float("nan") for k, st in self.steps.items()},
            heel_peak_n={k: st[-1].load.heel_peak_n if st and not self.plate else float("nan")
                         for k, st in self.steps.items()},
            battery_pct=dict(self.battery),
            frames_lost=sum(s.lost_frames for s in stats),
            unreadable=sum(s.crc_errors + s.cobs_errors + s.short_frames + s.malformed_frames
                           for s in stats),
            progress=progress,
            force_unit={side.label: side.unit for side in pipe.sides.values()},
            plate=self.plate,
            peak_force_n={k: st[-1].load.peak_force_n if st else float("nan")
                          for k, st in self.steps.items()},
        )


def replay_to_terminal(
    path: str | os.PathLike[str],
    *,
    speed: float = 1.0,
    out: TextIO,
    every_s: float | None = None,
    summary: bool = True,
    salvage: bool = True,
    strict: bool = False,
    lsl: bool = False,
    db: str | os.PathLike[str] | None = None,
    use_history: bool = False,
    save: bool = False,
    verbose: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Replay a recording through the live pipeline and print one status line per ``every_s``.

    The terminal view is the one of ``insole live --no-gui`` (`insole.live.terminal`): a
    status line per ``every_s`` of recording time, and one line when an alert starts or ends or
    a band of "too much, too soon" is crossed. The session summary follows.

    Parameters
    ----------
    path : path-like
        The recording.
    speed : float
        Pace factor (``math.inf`` for as fast as possible).
    out : text stream
        Where to print.
    every_s : float, optional
        Recording time between status lines [s]. Default: 1 s at a finite pace; as fast as
        possible (``speed=inf``), a whole number of seconds giving about `MAX_SPEED_LINES`
        lines at most (1 s up to 100 s of recording, 36 s for an hour), with a
        progress bar on stderr when it is a terminal. Events (alerts, band crossings) are
        printed when they happen either way.
    summary : bool
        Print the session summary at the end.
    salvage : bool, default True
        Replay past damage in the file (`insole.recordings.container.BlockReader`); the summary
        reports it (``damage``, ``damaged_blocks``, ``damages``). False replays up to the first
        damage and prints a note saying so.
    strict : bool, default False
        Refuse a damaged file: raise `insole.errors.RecordingError` before replaying.
    lsl : bool, default False
        Also publish the insoles and step events on the Lab Streaming Layer
        (`insole.live.lsl.LslPublisher`, stamped with the time each window is handed over).
    db : path-like, optional
        History database: compare the run with the largest session of the previous 30 days
        while it runs (`insole.live.loadwatch`).
    use_history : bool
        Use the default database when `db` is not given.
    save : bool
        Store the session in the history at the end (as ``insole analyze FILE --save``).
    verbose : bool
        Code names in the saved-session lines.
    progress : bool
        At ``speed=inf``, a progress bar on stderr when it is a terminal (False: never).

    Returns
    -------
    dict
        The session summary, with ``too_much_too_soon`` (ratios and bands crossed, with a
        history), ``events``, ``stopped`` (True when Ctrl-C or SIGTERM stopped the replay:
        the summary is of what was replayed, and it is not saved) and ``saved`` (the lines of
        the save, with `save`).
    """
    reader = BlockReader(path, salvage=salvage, strict=strict).scan()
    total_s = reader.duration_s if math.isfinite(reader.duration_s) else 0.0
    if every_s is None:
        every_s = (1.0 if math.isfinite(speed)
                   else max(1.0, math.ceil(math.floor(total_s) / MAX_SPEED_LINES)))
    from insole.commands.progress import Progress

    bar = Progress("insole replay", enabled=progress and not math.isfinite(speed),
                   total=math.ceil(total_s), unit="s")
    if reader.damage is not None and not reader.salvage:
        print(
            f"note: {path}: {reader.damage.reason} (at byte {reader.damage.offset}); "
            "replaying what precedes it",
            file=out,
        )
    publisher = None
    if lsl:
        from insole.live.lsl import LslPublisher

        publisher = LslPublisher(source=f"file:{path}", realtime=speed == 1.0,
                                 devices=reader.header.get("devices"))
    recent = None
    if use_history or save or db is not None:
        start = reader.header.get("start_time")
        from datetime import datetime

        recent = RecentMax.from_db(db, now=datetime.fromisoformat(start) if start else None)
    view = TerminalView(out, profile=recent.profile if recent is not None else None)
    view.intro(recent)
    monitor = AlertMonitor()
    plate = is_plate(reader.header)
    watch = SessionWatch(monitor, recent, plate=plate)
    pipe = Pipeline(reader.header, emit_samples=lsl)
    status = _Status(plate=plate)
    records = StepAccumulator()  # the steps' numbers only: memory stays bounded
    next_print = every_s
    end_s, invalid = 0.0, 0
    stopped = False
    from insole.commands.common import stop_on_signals

    with stop_on_signals() as stop:
        for tick in iter_replay(reader, speed=speed, window_s=0.05):
            for sid, data in tick.data.items():
                update = pipe.feed(
                    sid, data, tick.chunk_times[sid], chunk_ends=tick.chunk_ends[sid]
                )
                if publisher is not None:
                    publisher.publish(update, pipe, time.monotonic())
                records.add(update.steps)
                for s in update.steps:
                    status.add(s)
                status.battery.update(update.battery_pct)
                now = _now(pipe)
                monitor.feed_update(update, time_s=now, stats=pipe.stats)
                watch.update(update.steps, now)
            if tick.last or stop.is_set():  # the end, or Ctrl-C / SIGTERM: what was replayed
                stopped = not tick.last
                final = pipe.finish()
                if publisher is not None:
                    publisher.publish(final, pipe)
                    publisher.close()
                    print(publisher.line(), file=out)
                last = final.steps
                records.add(last)
                for s in last:
                    status.add(s)
                monitor.feed_update(final, time_s=_now(pipe), stats=pipe.stats)
                watch.update(last, _now(pipe))
            for side in pipe.sides.values():
                status.side(side.label)
            if tick.time_s - next_print >= _MAX_LINES_PER_TICK * every_s:  # a long gap: one line
                next_print += every_s * math.floor((tick.time_s - next_print) / every_s)
                if next_print + every_s <= next_print:  # beyond float resolution (corrupt times)
                    next_print = tick.time_s
            while tick.time_s >= next_print:
                view.show(status.state(next_print, pipe, watch.progress_text()),
                          _due(watch.events, view, next_print))
                next_print = next_print + every_s if next_print + every_s > next_print else math.inf
            end_s = tick.time_s
            if total_s > 0:
                bar.update("replaying", tick.time_s / total_s)
            invalid = tick.invalid_times
            if stopped:
                break
    bar.done()
    duration_s = reader.duration_s if math.isfinite(reader.duration_s) and not stopped else end_s
    if next_print - every_s < duration_s - 0.5 * every_s:
        view.show(status.state(duration_s, pipe, watch.progress_text()),
                  _due(watch.events, view, math.inf))
    view.show(None, _due(watch.events, view, math.inf))
    if invalid:
        print(
            f"note: {path}: {invalid} chunk host "
            f"{'time was' if invalid == 1 else 'times were'} not a finite number (damaged "
            "chunk table); their bytes were replayed at the previous chunk's time",
            file=out,
        )
    rows, result = summarise_session(
        pipe, records, reader.header, damage=reader.damage, path=reader.path,
        damages=reader.damages,
    )
    result["too_much_too_soon"] = watch.figures()
    result["events"] = [vars(e) for e in watch.events]
    result["stopped"] = stopped
    if summary:
        print(file=out)
        print_summary(result, out=out, profile=view.profile)
    if stopped:
        # A replay cut short is not the recording's session: the history keeps whole ones.
        print(f"\nstopped at {end_s:.1f} s of {total_s:.1f} s (Ctrl-C): the summary above is "
              "of what was replayed"
              + ("; not saved: 'insole analyze FILE --save' saves the whole recording"
                 if save else ""), file=out)
        save = False
    if save:
        from insole.commands.history import save_summary

        lines = save_summary(reader.path, result, rows, db=db, verbose=verbose,
                             command="replay")
        result["saved"] = lines
        print(file=out)
        print(lines, file=out)
    return result


def _now(pipe: Pipeline) -> float:
    """Recording time of the newest sample the pipeline has [s]."""
    return max((s.n / s.fs for s in pipe.sides.values()), default=0.0)


def _due(events: list[WatchEvent], view: TerminalView, until_s: float) -> list[WatchEvent]:
    """The events not printed yet that happened by `until_s` (in order)."""
    new = events[view.events_printed:]
    due = []
    for e in new:
        if e.time_s > until_s:
            break
        due.append(e)
    return due
