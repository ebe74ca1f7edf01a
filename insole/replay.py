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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from .analysis import summarise_session
from .core.pipeline import Pipeline, StepRecord
from .recording import RawRecording, read_raw_recording
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
    """

    time_s: float
    data: dict[int, bytes] = field(default_factory=dict)
    chunk_ends: dict[int, np.ndarray] = field(default_factory=dict)
    chunk_times: dict[int, np.ndarray] = field(default_factory=dict)
    last: bool = False


def iter_replay(
    source: str | os.PathLike[str] | RawRecording,
    *,
    speed: float = 1.0,
    window_s: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[ReplayTick]:
    """Yield a recording's bytes window by window at the recorded pace.

    Parameters
    ----------
    source : path-like or RawRecording
        The recording.
    speed : float
        Pace factor; ``math.inf`` replays as fast as possible (in 1 s windows).
    window_s : float
        Recording time handed over at once [s].
    clock, sleep : callable
        Time source and sleep function.

    Yields
    ------
    ReplayTick
        One per window that holds data, and a final one (``last=True``).
    """
    raw = source if isinstance(source, RawRecording) else read_raw_recording(source)
    times = {sid: s.chunk_time_s for sid, s in raw.streams.items()}
    ends = {sid: s.chunk_end for sid, s in raw.streams.items()}
    last = max((float(t[-1]) for t in times.values() if len(t)), default=0.0)
    if math.isinf(speed):
        window_s = max(window_s, 1.0)
    start = clock()
    pos = dict.fromkeys(raw.streams, 0)
    n_windows = int(last // window_s) + 1
    for w in range(n_windows):
        final = w == n_windows - 1
        tick = ReplayTick(time_s=last if final else (w + 1) * window_s, last=final)
        for sid, stream in raw.streams.items():
            upto = len(times[sid]) if final else int(np.searchsorted(times[sid], tick.time_s))
            if upto > pos[sid]:
                a = int(ends[sid][pos[sid] - 1]) if pos[sid] else 0
                tick.data[sid] = stream.data[a : int(ends[sid][upto - 1])]
                tick.chunk_ends[sid] = ends[sid][pos[sid] : upto] - a
                tick.chunk_times[sid] = times[sid][pos[sid] : upto]
                pos[sid] = upto
        if not tick.data and not final:
            continue
        if not math.isinf(speed):
            delay = start + tick.time_s / speed - clock()
            if delay > 0:
                sleep(delay)
        yield tick


class _Status:
    """Running metrics of a replay for the terminal: what arrived and what it showed."""

    def __init__(self) -> None:
        self.steps: dict[str, list[StepRecord]] = {}
        self.battery: dict[str, int] = {}
        self.samples: dict[str, int] = {}

    def line(self, t: float, pipe: Pipeline) -> str:
        stats = pipe.stats.values()
        lost = sum(s.lost_frames for s in stats)
        bad = sum(s.crc_errors + s.cobs_errors for s in stats)
        parts = [f"{t:7.1f} s"]
        for side in sorted(self.steps, key=lambda s: s != "left"):
            st = self.steps[side]
            b = f" {self.battery[side]}%" if side in self.battery else ""
            strides = [s.stride_s for s in st[-8:] if math.isfinite(s.stride_s)]
            cad = f"{120.0 / float(np.median(strides)):5.1f}/min" if strides else "    -    "
            ct = f"{1000 * st[-1].contact_s:4.0f} ms" if st else "   - ms"
            hp = f"heel {st[-1].load.heel_peak_n:5.0f}" if st else "heel     -"
            parts.append(f"{side[0].upper()} {len(st):4d} steps {cad} {ct} {hp}{b}")
        parts.append(f"lost {lost} bad {bad}")
        return "  ".join(parts)


def replay_to_terminal(
    path: str | os.PathLike[str],
    *,
    speed: float = 1.0,
    out: TextIO,
    every_s: float = 1.0,
    summary: bool = True,
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

    Returns
    -------
    dict
        The session summary.
    """
    raw = read_raw_recording(path)
    if raw.damage is not None:
        print(
            f"note: {path}: {raw.damage.reason} (at byte {raw.damage.offset}); "
            "replaying what precedes it",
            file=out,
        )
    pipe = Pipeline(raw.header)
    status = _Status()
    records: list[StepRecord] = []
    next_print = every_s
    for tick in iter_replay(raw, speed=speed, window_s=0.05):
        for sid, data in tick.data.items():
            update = pipe.feed(
                sid, data, tick.chunk_times[sid], chunk_ends=tick.chunk_ends[sid]
            )
            records += update.steps
            for s in update.steps:
                status.steps.setdefault(s.side, []).append(s)
            status.battery.update(update.battery_pct)
        if tick.last:
            for s in pipe.finish().steps:
                records.append(s)
                status.steps.setdefault(s.side, []).append(s)
        for side in pipe.sides.values():
            status.steps.setdefault(side.label, [])
        while tick.time_s >= next_print:
            print(status.line(next_print, pipe), file=out, flush=True)
            next_print += every_s
    if next_print - every_s < raw.duration_s - 0.5 * every_s:
        print(status.line(raw.duration_s, pipe), file=out)
    _, result = summarise_session(pipe, records, raw.header, damage=raw.damage, path=raw.path)
    if summary:
        print(file=out)
        print_summary(result, out=out)
    return result
