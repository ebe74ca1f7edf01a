"""The simulator as a live source: gait model → simulated firmware and link → wire bytes, paced.

`SimFeed` produces the byte stream of two simulated insoles for as long as wanted: it runs the
gait model (`insole.sources.sim.gait.simulate_gait`) and the firmware/link model
(`insole.sources.sim.transport.transmit`, with its fault injection) segment by segment and joins the
segments into one continuous stream (sequence numbers and device clocks run on across segment
boundaries). `SimReader` hands that stream out in real time on an absolute schedule
(``start + arrival_time / speed``), so pacing never drifts; the serial emulator
(`insole.sources.devices.serial_device`) writes the same feed to a pty.
"""

from __future__ import annotations

import itertools
import math
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from firmware_protocol import Side, cobs_decode, cobs_encode, crc16
from insole.sources.readers.base import CountReport, Reader, ReaderEvent, StreamInfo

__all__ = ["FeedChunk", "FeedReport", "SimFeed", "SimReader", "restamp_frame"]

_SEGMENT_S = 60.0  # transmit() is called for this much data at a time
_MAX_GAIT_BLOCK_S = 3600.0  # gait computed at once up to this; longer runs loop a 10-min block
_LOOP_GAIT_BLOCK_S = 600.0


def _parse_frame(wire: bytes) -> bytearray | None:
    """The raw frame of a chunk holding exactly one valid frame and its delimiter, else None."""
    if len(wire) < 3 or wire[-1] != 0 or 0 in wire[:-1]:
        return None
    try:
        raw = bytearray(cobs_decode(wire[:-1]))
    except ValueError:
        return None
    if len(raw) < 14 or raw[0] != 1:
        return None
    if crc16(raw[:-2]) != struct.unpack_from("<H", raw, len(raw) - 2)[0]:
        return None
    return raw


def restamp_frame(
    wire: bytes, *, seq: int | None = None, timestamp_us: int | None = None
) -> bytes | None:
    """Rewrite the ``seq`` and/or ``timestamp_us`` of one wire frame, with a new CRC.

    Parameters
    ----------
    wire : bytes
        One COBS frame followed by 0x00.
    seq : int, optional
        New sequence number (taken mod 65536).
    timestamp_us : int, optional
        New device time [µs] (taken mod 2**32).

    Returns
    -------
    bytes or None
        The new wire bytes, or None if ``wire`` is not exactly one valid frame (e.g. a frame
        deliberately corrupted by garbage).
    """
    raw = _parse_frame(wire)
    if raw is None:
        return None
    if seq is not None:
        struct.pack_into("<H", raw, 6, seq & 0xFFFF)
    if timestamp_us is not None:
        struct.pack_into("<I", raw, 8, timestamp_us & 0xFFFFFFFF)
    struct.pack_into("<H", raw, len(raw) - 2, crc16(raw[:-2]))
    return cobs_encode(bytes(raw)) + b"\x00"


# -- the feed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedChunk:
    """One delivery of the simulated link (normally one whole frame).

    Attributes
    ----------
    stream_id : int
        Stream (BLE: 0 left, 1 right; serial: 0).
    time_s : float
        Arrival time at the host [s since the start of the feed].
    data : bytes
        Wire bytes.
    side : int or None
        0 left / 1 right, or None when the chunk is a frame destroyed by injected garbage.
    seq : int or None
        Sequence number of the frame, None for a destroyed frame.
    """

    stream_id: int
    time_s: float
    data: bytes
    side: int | None
    seq: int | None


@dataclass
class FeedReport(CountReport):
    """Faults the feed injected, exactly, over the segments generated so far in this pass.

    Attributes
    ----------
    frames_sent : int
        Frames the insoles produced (all types).
    frames_dropped, frames_corrupted : int
        Frames dropped at random / in bursts, and frames destroyed by garbage.
    garbage_bytes : int
        Garbage bytes inserted.
    dropped_by_side, corrupted_by_side : dict of str to int
        The same by side label.
    """

    frames_sent: int = 0
    frames_dropped: int = 0
    frames_corrupted: int = 0
    garbage_bytes: int = 0
    dropped_by_side: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    corrupted_by_side: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})


class SimFeed:
    """Endless (or finite) byte stream of two simulated insoles, with injected faults.

    Parameters
    ----------
    rate_hz : int
        Sampling rate.
    n_sensors : int
        Sensors per insole (4-64).
    batch : int
        Samples per SAMPLES frame.
    link : {"ble", "serial"}
        ``"ble"``: one stream per insole; ``"serial"``: both insoles on one stream.
    seed : int
        Seed of the gait model and of the faults.
    gait : {"run", "walk"}
        Gait.
    cadence_spm : float or None
        Steps per minute (None: the model's default).
    loss, burst_loss, burst_len, garbage_per_min, drift_ppm, clock_offset_s
        Faults, as in `insole.sources.sim.transport.TransportConfig`.
    pauses : tuple of (start_s, duration_s)
        Link stalls on the feed's time axis: what is due during a stall arrives when it ends.
    duration_s : float or None
        Length of the feed [s]; None for endless.
    stand_s : float
        The wearer stands still this long before the gait starts (`GaitConfig.stand_s`): the
        feed's first gait block holds the stand, the blocks looped after it do not.

    Notes
    -----
    `transmit` is called on segments of 60 s; segment ``k > 0`` loses its leading DEVICE_INFO
    frame and has its sequence numbers and device clocks shifted so that the stream runs on
    as if produced in one go (each segment still ends with a STATUS frame, as firmware may send
    at any time). The gait is simulated for the whole duration at once up to one hour; longer
    or endless feeds loop a 10-minute gait block (the calibration stays valid throughout).
    """

    def __init__(
        self,
        *,
        rate_hz: int = 200,
        n_sensors: int = 16,
        batch: int = 6,
        link: Literal["ble", "serial"] = "ble",
        seed: int = 0,
        gait: Literal["run", "walk"] = "run",
        cadence_spm: float | None = None,
        loss: float = 0.0,
        burst_loss: float = 0.0,
        burst_len: float = 8.0,
        garbage_per_min: float = 0.0,
        drift_ppm: float = 0.0,
        clock_offset_s: float = 0.0,
        pauses: tuple[tuple[float, float], ...] = (),
        duration_s: float | None = None,
        stand_s: float = 0.0,
    ) -> None:
        from insole.core.layouts import default_layout
        from insole.sources.sim.gait import GaitConfig
        from insole.sources.sim.transport import DEFAULT_DEVICE_IDS, TransportConfig

        self.rate_hz = int(rate_hz)
        self.batch = int(batch)
        self.link = link
        self.duration_s = duration_s
        self.pauses = tuple((float(a), float(b)) for a, b in pauses)
        frame_s = self.batch / self.rate_hz
        self._segment_samples = max(1, round(_SEGMENT_S / frame_s)) * self.batch
        if duration_s is not None and not math.isinf(duration_s):
            self._total_samples: int | None = int(duration_s * self.rate_hz) // self.batch * (
                self.batch
            )
            if self._total_samples < 2 * self.batch:
                raise ValueError(
                    f"duration_s={duration_s} is too short: need at least two frames "
                    f"({2 * frame_s:g} s)"
                )
        else:
            self._total_samples = None
        block_s = (
            self._total_samples / self.rate_hz
            if self._total_samples is not None
            and self._total_samples / self.rate_hz <= _MAX_GAIT_BLOCK_S
            else _LOOP_GAIT_BLOCK_S
        )
        block_samples = math.ceil(block_s * self.rate_hz / self._segment_samples) * (
            self._segment_samples
        )
        self._gait_config = GaitConfig(
            duration_s=block_samples / self.rate_hz,
            gait=gait,
            cadence_spm=cadence_spm,
            sample_rate_hz=float(self.rate_hz),
            layout=default_layout(int(n_sensors)),
            seed=int(seed),
            stand_s=float(stand_s),  # the first block's; the looped one has none
        )
        if stand_s >= self._gait_config.duration_s:
            raise ValueError(
                f"a stand of {stand_s:g} s does not fit before the gait "
                f"(the feed's gait block is {self._gait_config.duration_s:g} s): shorten it"
            )
        self._transport = TransportConfig(
            link=link,
            batch=self.batch,
            loss=loss,
            burst_loss=burst_loss,
            burst_len=burst_len,
            garbage_per_min=garbage_per_min,
            drift_ppm=drift_ppm,
            clock_offset_s=clock_offset_s,
            seed=int(seed),
        )
        self.device_ids = DEFAULT_DEVICE_IDS
        self.report = FeedReport()
        # The first gait block (with the stand, ``stand_s``), and the block looped after it
        # (without one; simulated only if the feed runs past the first block).
        self._counts: tuple[np.ndarray, np.ndarray] | None = None
        self._looped: tuple[np.ndarray, np.ndarray] | None = None
        self._gait_lock = threading.Lock()
        self._calibration: dict[str, dict[str, Any]] = {}
        self.layout = self._gait_config.layout
        if link == "serial":
            self.streams = [StreamInfo(0, "sim", "sim-serial")]
        else:
            self.streams = [
                StreamInfo(0, "sim", "sim-ble-left"),
                StreamInfo(1, "sim", "sim-ble-right"),
            ]

    # -- gait ----------------------------------------------------------------------------------

    def _gait(self) -> tuple[np.ndarray, np.ndarray]:
        with self._gait_lock:  # `devices` may be asked from another thread while streaming
            if self._counts is None:
                from insole.sources.sim.gait import simulate_gait

                sim = simulate_gait(self._gait_config)
                self._counts = (sim.left.counts, sim.right.counts)
                self._calibration = sim.calibration
            return self._counts

    def _loop_block(self) -> tuple[np.ndarray, np.ndarray]:
        """The gait block looped after the first: the first itself unless it holds a stand."""
        first = self._gait()
        if self._gait_config.stand_s == 0:
            return first
        with self._gait_lock:
            if self._looped is None:  # the same seed: the same insoles and calibration
                from dataclasses import replace

                from insole.sources.sim.gait import simulate_gait

                sim = simulate_gait(replace(self._gait_config, stand_s=0.0))
                self._looped = (sim.left.counts, sim.right.counts)
            return self._looped

    @property
    def devices(self) -> list[dict[str, Any]]:
        """Recording-header entries of the two insoles (with layout and calibration)."""
        self._gait()
        return [
            {
                "device_id": int(self.device_ids[i]),
                "side": side,
                "sample_rate_hz": float(self.rate_hz),
                "n_sensors": int(self.layout.n_sensors),
                "adc_bits": int(self._gait_config.adc_bits),
                "layout": self.layout.to_json(),
                "calibration": self._calibration[side],
            }
            for i, side in enumerate(("left", "right"))
        ]

    # -- stream --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[FeedChunk]:
        """Yield the chunks of all streams in arrival order."""
        from dataclasses import replace

        left, right = self._gait()
        self.report = FeedReport()  # counts of this pass over the feed
        block = len(left)
        seg_n = self._segment_samples
        next_seq = [0, 0]
        k = 0
        start_sample = 0
        last_time = 0.0
        while self._total_samples is None or start_sample < self._total_samples:
            n = seg_n
            if self._total_samples is not None:
                n = min(seg_n, self._total_samples - start_sample)
            at = start_sample % block
            lb, rb = (left, right) if start_sample < block else self._loop_block()
            counts = {Side.LEFT: lb[at : at + n], Side.RIGHT: rb[at : at + n]}
            seg_t0 = start_sample / self.rate_hz
            drain = int(seg_t0 // 600)  # battery falls 1 % per 10 min, as in transmit()
            b_left, b_right = self._transport.battery_pct
            cfg = replace(
                self._transport,
                seed=self._transport.seed * 100_003 + k,
                battery_pct=(max(0, b_left - drain), max(0, b_right - drain)),
            )
            streams = self._transmit(counts, cfg, first=k == 0)
            seg_chunks: list[FeedChunk] = []
            max_seq = [-1, -1]
            for s in streams:
                ends = s.chunk_end.tolist()
                times = (s.chunk_time_s + seg_t0).tolist()
                begin = 0
                for end, t in zip(ends, times, strict=True):
                    wire = s.data[begin:end]
                    begin = end
                    raw = _parse_frame(wire)
                    if raw is None:
                        seg_chunks.append(FeedChunk(s.stream_id, t, wire, None, None))
                        continue
                    side = raw[2] & 1
                    seq0, ts0 = struct.unpack_from("<HI", raw, 6)
                    max_seq[side] = max(max_seq[side], seq0)
                    if k == 0:
                        seg_chunks.append(FeedChunk(s.stream_id, t, wire, side, seq0))
                        continue
                    if seq0 == 0:  # the segment's DEVICE_INFO: already sent at the start
                        continue
                    rate = 1.0 + (cfg.drift_ppm * 1e-6 if side == 1 else 0.0)
                    seq = next_seq[side] + seq0 - 1
                    ts = ts0 + round(seg_t0 * rate * 1e6)
                    new = restamp_frame(wire, seq=seq, timestamp_us=ts)
                    assert new is not None
                    seg_chunks.append(FeedChunk(s.stream_id, t, new, side, seq & 0xFFFF))
            for side in (0, 1):
                next_seq[side] += max_seq[side] + (1 if k == 0 else 0)
            seg_chunks.sort(key=lambda c: c.time_s)
            for c in seg_chunks:
                t = self._stall(c.time_s)
                t = max(t, last_time)
                last_time = t
                yield FeedChunk(c.stream_id, t, c.data, c.side, c.seq)
            start_sample += n
            k += 1

    def _stall(self, t: float) -> float:
        for start, dur in self.pauses:
            if start <= t < start + dur:
                return start + dur
        return t

    def _transmit(
        self, counts: dict[Side, np.ndarray], cfg: Any, *, first: bool
    ) -> list[Any]:
        """Run `transmit` on one segment; return its streams (serial: one, both insoles)."""
        from dataclasses import replace

        from insole.sources.sim.transport import SimStream, transmit

        def run(c: dict[Side, np.ndarray], config: Any) -> list[SimStream]:
            streams, rep = transmit(
                c, sample_rate_hz=self.rate_hz, adc_bits=self._gait_config.adc_bits,
                config=config,
            )
            self._account(rep, removed=0 if first else len(c))
            return streams

        if self.link != "serial":
            return run(counts, cfg)
        # Serial: one transmit() per insole, merged here by arrival time. (transmit() with two
        # insoles on link="serial" makes its arrival times monotonic before merging the two
        # insoles, which delays every right frame to the end of the segment.)
        parts = [
            run({side: c}, replace(cfg, seed=cfg.seed * 2 + int(side),
                                   garbage_per_min=cfg.garbage_per_min / 2))[0]
            for side, c in counts.items()
        ]
        data = b"".join(p.data for p in parts)
        lengths = np.concatenate([np.diff(p.chunk_end, prepend=0) for p in parts])
        starts = np.cumsum(lengths) - lengths
        times = np.concatenate([p.chunk_time_s for p in parts])
        order = np.argsort(times, kind="stable")
        merged = b"".join(data[a : a + n] for a, n in zip(starts[order].tolist(),
                                                          lengths[order].tolist(), strict=True))
        return [SimStream(0, "serial", merged, np.cumsum(lengths[order]), times[order])]

    def _account(self, rep: Any, *, removed: int) -> None:
        r = self.report
        r.frames_sent += rep.frames_sent - removed  # segment DEVICE_INFOs removed
        r.frames_dropped += rep.frames_dropped
        r.frames_corrupted += rep.frames_corrupted
        r.garbage_bytes += rep.garbage_bytes
        for side, n in rep.dropped_by_side.items():
            r.dropped_by_side[side] = r.dropped_by_side.get(side, 0) + int(n)
        for side, n in rep.corrupted_by_side.items():
            r.corrupted_by_side[side] = r.corrupted_by_side.get(side, 0) + int(n)


# -- the reader ------------------------------------------------------------------------------


class SimReader(Reader):
    """Simulated insoles streaming in real time (the ``sim:`` source).

    Parameters
    ----------
    speed : float
        Pace factor; ``math.inf`` hands out everything as fast as possible.
    **feed_options
        Passed to `SimFeed` (rate_hz, n_sensors, batch, link, seed, gait, cadence_spm, loss,
        burst_loss, garbage_per_min, drift_ppm, clock_offset_s, pauses, duration_s).

    Attributes
    ----------
    feed : SimFeed
        The byte stream; ``feed.report`` counts the faults injected so far.
    devices : list of dict
        Recording-header entries of the two insoles (layout and calibration included).

    Notes
    -----
    Chunks are stamped with their scheduled arrival time ``start + time_s / speed`` on
    ``time.monotonic()`` (with ``speed=inf``: ``start + time_s``, which runs ahead of the
    clock), so the link's simulated jitter is preserved exactly, whatever the thread
    scheduling. A finite feed ends the worker; `running` then turns false.
    """

    def __init__(self, *, speed: float = 1.0, **feed_options: Any) -> None:
        super().__init__()
        if not speed > 0:
            raise ValueError(f"speed must be positive (or inf), got {speed!r}")
        self.speed = float(speed)
        self.feed = SimFeed(**feed_options)
        self.streams = list(self.feed.streams)

    @property
    def devices(self) -> list[dict[str, Any]]:
        """Recording-header entries of the simulated insoles."""
        return self.feed.devices

    def _run(self) -> None:
        import time

        chunks = iter(self.feed)
        first = next(chunks, None)  # simulate the first segment before the clock starts
        start = time.monotonic()
        for s in self.streams:
            self._queue.put(ReaderEvent("connected", s.stream_id, start, {"source": "sim"}))
        fast = math.isinf(self.speed)
        for chunk in itertools.chain([first] if first is not None else [], chunks):
            if self._stop.is_set():
                return
            if fast:
                due = start + chunk.time_s
            else:
                due = start + chunk.time_s / self.speed
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            self._put_chunk(chunk.stream_id, chunk.data, due)
