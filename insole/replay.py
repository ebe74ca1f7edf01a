"""Replay a recording as if it were a live device: same bytes, same decoder, recorded pace.

A recording stores the wire bytes each transport stream delivered with their host receive
times. Replay merges the streams in time order and hands the bytes to one `StreamDecoder` per
stream, paced against an absolute schedule (``start + host_time / speed``) so that pacing never
drifts, however long the replay. Because the decoder gives the same frames for any split of the
bytes, replay can hand over bytes in windows (e.g. 50 ms) without changing any result.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from firmware_protocol import DecoderStats, Frame, SamplesFrame, StatusFrame, StreamDecoder

from .recording import RawRecording, read_raw_recording

__all__ = ["ReplayTick", "iter_replay", "replay_to_terminal"]


@dataclass
class ReplayTick:
    """What arrived during one window of recording time.

    Attributes
    ----------
    time_s : float
        Host time at the end of the window [s since the recording start].
    frames : dict of int to list of frames
        Decoded frames per stream id.
    stats : dict of int to DecoderStats
        Decoder counters per stream so far.
    """

    time_s: float
    frames: dict[int, list[Frame]] = field(default_factory=dict)
    stats: dict[int, DecoderStats] = field(default_factory=dict)


def iter_replay(
    source: str | os.PathLike[str] | RawRecording,
    *,
    speed: float = 1.0,
    window_s: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[ReplayTick]:
    """Replay a recording window by window through the live decoder.

    Parameters
    ----------
    source : path-like or RawRecording
        The recording.
    speed : float
        Pace factor; ``math.inf`` replays as fast as possible.
    window_s : float
        Recording time handed to the decoder at once [s].
    clock, sleep : callable
        Time source and sleep function (replaceable in tests).

    Yields
    ------
    ReplayTick
        One per window that contained data.
    """
    raw = source if isinstance(source, RawRecording) else read_raw_recording(source)
    decoders = {sid: StreamDecoder() for sid in raw.streams}
    ends = {sid: s.chunk_end for sid, s in raw.streams.items()}
    times = {sid: s.chunk_time_s for sid, s in raw.streams.items()}
    last = max((float(t[-1]) for t in times.values() if len(t)), default=0.0)
    if math.isinf(speed):
        window_s = max(window_s, 1.0)
    start = clock()
    pos = {sid: 0 for sid in raw.streams}  # next chunk per stream
    n_windows = int(last // window_s) + 1
    for w in range(n_windows):
        t_end = (w + 1) * window_s
        tick = ReplayTick(time_s=min(t_end, last))
        for sid, stream in raw.streams.items():
            upto = int(np.searchsorted(times[sid], t_end, side="left"))
            if w == n_windows - 1:
                upto = len(times[sid])
            if upto > pos[sid]:
                a = int(ends[sid][pos[sid] - 1]) if pos[sid] else 0
                b = int(ends[sid][upto - 1])
                tick.frames[sid] = decoders[sid].feed(stream.data[a:b])
                pos[sid] = upto
        if not tick.frames:
            continue
        if not math.isinf(speed):
            delay = start + tick.time_s / speed - clock()
            if delay > 0:
                sleep(delay)
        tick.stats = {sid: d.stats for sid, d in decoders.items()}
        yield tick
    # A recording that ends inside a frame: count the partial frame.
    final = ReplayTick(time_s=last)
    for sid, dec in decoders.items():
        frames = dec.flush_partial()
        if frames:
            final.frames[sid] = frames
    final.stats = {sid: d.stats for sid, d in decoders.items()}
    yield final


def replay_to_terminal(
    path: str | os.PathLike[str], *, speed: float = 1.0, out: TextIO, every_s: float = 1.0
) -> int:
    """Replay a recording and print what arrives, one line per ``every_s`` of recording time.

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

    Returns
    -------
    int
        Exit status (0).
    """
    raw = read_raw_recording(path)
    if raw.damage is not None:
        print(
            f"note: {path}: {raw.damage.reason} (at byte {raw.damage.offset}); "
            "replaying what precedes it",
            file=out,
        )
    samples: dict[str, int] = {}
    frames: dict[str, int] = {}
    battery: dict[str, int] = {}
    next_print = every_s
    stats: dict[int, DecoderStats] = {}

    def line(t: float) -> str:
        lost = sum(s.lost_frames for s in stats.values())
        crc = sum(s.crc_errors + s.cobs_errors for s in stats.values())
        parts = [f"{t:7.1f} s"]
        for side in sorted(samples):
            b = f" {battery[side]}%" if side in battery else ""
            parts.append(f"{side} {samples[side]:>7} samples {frames[side]:>6} frames{b}")
        parts.append(f"lost {lost}  bad {crc}")
        return "  ".join(parts)

    for tick in iter_replay(raw, speed=speed, window_s=0.05):
        stats = tick.stats
        for flist in tick.frames.values():
            for f in flist:
                side = f.side.label
                frames[side] = frames.get(side, 0) + 1
                samples.setdefault(side, 0)
                if isinstance(f, SamplesFrame):
                    samples[side] += f.n_samples
                elif isinstance(f, StatusFrame) and f.battery_pct <= 100:
                    battery[side] = f.battery_pct
        while tick.time_s >= next_print:
            print(line(next_print), file=out, flush=True)
            next_print += every_s
    if next_print - every_s < raw.duration_s - 1e-9:
        print(line(raw.duration_s), file=out)
    totals = DecoderStats()
    for s in stats.values():
        for name in (
            "frames",
            "lost_frames",
            "crc_errors",
            "cobs_errors",
            "discarded_bytes",
            "duplicate_frames",
        ):
            setattr(totals, name, getattr(totals, name) + getattr(s, name))
    print(
        f"replayed {raw.duration_s:.1f} s: {totals.frames} frames, {totals.lost_frames} lost, "
        f"{totals.crc_errors} CRC errors, {totals.cobs_errors} framing errors, "
        f"{totals.discarded_bytes} bytes discarded",
        file=out,
    )
    return 0
