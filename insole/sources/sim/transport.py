"""Turn simulated insole samples into the wire bytes a host would receive, with faults on demand.

The gait model (`insole.sources.sim.gait`) gives ADC counts per foot; this module plays the two
insoles' firmware and the link between them and the host: it batches samples into SAMPLES frames,
sends DEVICE_INFO at start and STATUS every few seconds, stamps frames with each insole's own
drifting clock, and delivers the bytes at host times shaped by the link (BLE connection interval or
serial). Faults are injected on purpose and reported exactly, so tests can check that readers and
decoders count every one of them:

- random frame loss (``loss``) and burst loss (``burst_loss``, mean burst ``burst_len``);
- garbage bytes inserted into frames (``garbage_per_min``): each insertion destroys exactly the
  frame it lands in (``frames_corrupted``);
- clock drift of the right insole against the left (``drift_ppm``) and a fixed offset;
- link pauses (``pauses``): nothing arrives during a pause, then the backlog arrives at once.

The first frame (DEVICE_INFO) and the last (a final STATUS, as firmware sends on STOP) of each
insole are never dropped, so that every loss is visible in the sequence numbers: a decoder's
``lost_frames`` equals ``frames_dropped + frames_corrupted`` exactly.

`transmit` takes a run's samples at once. `Transmission` makes the same bytes a block of samples
at a time, for runs of any length: it draws every random choice first, in the same order, and
makes the frames as the samples arrive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from firmware_protocol import (
    DeviceInfoFrame,
    Side,
    StatusFrame,
    encode_samples_frames,
    to_wire,
)
from firmware_protocol.frames import CRC_SIZE, HEADER_SIZE
from insole.sources.sim.limits import MAX_DRIFT_PPM

__all__ = [
    "SimStream",
    "TimeMerge",
    "Transmission",
    "TransportConfig",
    "TransportReport",
    "transmit",
]

#: Device ids of the simulated left and right insoles.
DEFAULT_DEVICE_IDS = (0x1A01, 0x1A02)


@dataclass(frozen=True)
class TransportConfig:
    """How the simulated insoles send their data, and which faults to inject.

    Attributes
    ----------
    link : {"ble", "serial"}
        ``"ble"``: one stream per insole, one frame per notification (MTU 247), arrival on a
        7.5 ms connection-interval grid. ``"serial"``: both insoles share one stream (a receiver
        dongle), bytes arrive when their frame is complete.
    batch : int
        Samples per SAMPLES frame (SPEC §4.2: 6 fit one BLE notification with 16 sensors).
    loss : float
        Fraction of frames dropped at random (0-1).
    burst_loss : float
        Fraction of frames dropped in bursts (0-1).
    burst_len : float
        Mean length of a loss burst, in frames.
    garbage_per_min : float
        Garbage insertions per minute per stream; each destroys one frame.
    drift_ppm : float
        Right insole clock rate minus left, in parts per million (within ±`MAX_DRIFT_PPM`).
    clock_offset_s : float
        Right insole clock minus left at the start.
    pauses : tuple of (start_s, duration_s)
        Link stalls: frames due during a stall arrive when it ends.
    status_interval_s : float
        Time between STATUS frames (SPEC §1.3: at most 5 s).
    battery_pct : tuple of int
        Battery level of left and right at the start; it falls slowly.
    device_ids : tuple of int
        Device ids of left and right.
    seed : int
        Seed for the faults and the link timing.
    """

    link: Literal["ble", "serial"] = "ble"
    batch: int = 6
    loss: float = 0.0
    burst_loss: float = 0.0
    burst_len: float = 8.0
    garbage_per_min: float = 0.0
    drift_ppm: float = 0.0
    clock_offset_s: float = 0.0
    pauses: tuple[tuple[float, float], ...] = ()
    status_interval_s: float = 5.0
    battery_pct: tuple[int, int] = (96, 91)
    device_ids: tuple[int, int] = DEFAULT_DEVICE_IDS
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "burst_loss"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be a fraction in [0, 1), got {v}")
        if not (math.isfinite(self.garbage_per_min) and self.garbage_per_min >= 0):
            raise ValueError(f"garbage_per_min must be 0 or more, got {self.garbage_per_min}")
        if not (math.isfinite(self.drift_ppm) and abs(self.drift_ppm) <= MAX_DRIFT_PPM):
            raise ValueError(
                f"drift_ppm must be within ±{MAX_DRIFT_PPM:g} ppm (two Bluetooth sleep clocks "
                f"at ±500 ppm each), got {self.drift_ppm}")
        if not math.isfinite(self.clock_offset_s):
            raise ValueError(f"clock_offset_s must be a finite number, got {self.clock_offset_s}")
        if not (math.isfinite(self.burst_len) and self.burst_len >= 1):
            raise ValueError(f"burst_len must be 1 frame or more, got {self.burst_len}")
        if not (math.isfinite(self.status_interval_s) and self.status_interval_s > 0):
            raise ValueError(
                f"status_interval_s must be more than 0, got {self.status_interval_s}")
        if not 1 <= self.batch <= 32:
            raise ValueError(f"batch must be 1..32 samples, got {self.batch}")
        if self.link not in ("ble", "serial"):
            raise ValueError(f"link must be 'ble' or 'serial', got {self.link!r}")


@dataclass
class SimStream:
    """The bytes of one transport stream, as a host receives them.

    Attributes
    ----------
    stream_id : int
        Stream number (BLE: 0 left, 1 right; serial: 0).
    label : str
        Human-readable name of the stream.
    data : bytes
        All bytes, in arrival order.
    chunk_end : ndarray of int64
        Offset in ``data`` where each received chunk ends.
    chunk_time_s : ndarray of float64
        Host receive time of each chunk [s since the start].
    """

    stream_id: int
    label: str
    data: bytes
    chunk_end: np.ndarray
    chunk_time_s: np.ndarray


@dataclass
class TransportReport:
    """Exactly what the transport did, for checking readers and decoders.

    Attributes
    ----------
    frames_sent : int
        Frames the insoles produced (all types).
    frames_dropped : int
        Frames dropped by random and burst loss.
    frames_corrupted : int
        Frames destroyed by garbage insertions.
    garbage_bytes : int
        Garbage bytes inserted.
    dropped_by_side, corrupted_by_side : dict
        The same split by side label.
    drift_ppm, clock_offset_s : float
        Injected right-vs-left clock drift and offset.
    pauses : list
        Injected link stalls ``[start_s, duration_s]``.
    """

    frames_sent: int = 0
    frames_dropped: int = 0
    frames_corrupted: int = 0
    garbage_bytes: int = 0
    dropped_by_side: dict[str, int] = field(default_factory=dict)
    corrupted_by_side: dict[str, int] = field(default_factory=dict)
    drift_ppm: float = 0.0
    clock_offset_s: float = 0.0
    pauses: list[list[float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-able values."""
        return dict(self.__dict__)


def _concat_segments(
    wire: np.ndarray, lengths: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder variable-length segments of ``wire``; return the bytes and new segment lengths."""
    starts = np.cumsum(lengths) - lengths
    new_len = lengths[order]
    total = int(new_len.sum())
    src = np.repeat(starts[order] - (np.cumsum(new_len) - new_len), new_len) + np.arange(total)
    return wire[src], new_len


#: Values drawn at a time when a random stream is skipped through or replayed.
_DRAW_BLOCK = 1 << 16
#: Counts (samples × sensors) made into frames at a time by `Transmission.feed`.
_PART_VALUES = 1 << 20


def _skip(rng: np.random.Generator, n: int) -> None:
    """Move `rng` past `n` uniform draws (one 64-bit word each, as ``random`` and ``uniform``)."""
    for done in range(0, n, _DRAW_BLOCK):
        rng.random(min(_DRAW_BLOCK, n - done))


def _generator_at(state: Any) -> np.random.Generator:
    """A generator in a state taken earlier from ``bit_generator.state``."""
    bits = np.random.PCG64()
    bits.state = state
    return np.random.Generator(bits)


def _no_frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(0, np.uint8), np.empty(0, np.int64), np.empty(0, np.float64)


class _Insole:
    """One insole's firmware: its frames in sending order, made as its samples arrive.

    DEVICE_INFO first; SAMPLES frames of ``batch`` samples, a STATUS after every
    ``per_status``-th; a final STATUS after the last (as firmware sends on STOP). A frame's
    place in this order is its sequence number (before the wrap at 65536).
    """

    def __init__(
        self, side: Side, *, n_samples: int, n_sensors: int, sample_rate_hz: int,
        adc_bits: int, config: TransportConfig,
    ) -> None:
        self.side = Side(side)
        self.cfg = config
        self.dev_id = config.device_ids[int(self.side)]
        self.n_sensors = int(n_sensors)
        self.rate = sample_rate_hz
        self.adc_bits = adc_bits
        self.n_frames = int(n_samples) // config.batch
        # STATUS every status_interval_s; one final STATUS at the end; DEVICE_INFO first.
        self.per_status = max(1, round(config.status_interval_s * sample_rate_hz / config.batch))
        self.n_status = self.n_frames // self.per_status
        self.n_all = self.n_frames + self.n_status + 2
        last = np.arange(self.n_frames - 1, self.n_frames)
        self.end_t = float(self._t_end(last)[0]) if self.n_frames else 0.0
        # Device clocks: left is the reference; right runs drift_ppm fast with an offset.
        right = self.side == Side.RIGHT
        self._clock_rate = 1.0 + (config.drift_ppm * 1e-6 if right else 0.0)
        self._clock_offset_s = 5.0 + (config.clock_offset_s if right else 0.0)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._next = 0  # the next SAMPLES frame
        self._started = False

    def _t0(self, f: np.ndarray) -> np.ndarray:
        """True time of the first sample of SAMPLES frames `f` [s]."""
        return f * self.cfg.batch / self.rate

    def _t_end(self, f: np.ndarray) -> np.ndarray:
        """True time of the last sample of SAMPLES frames `f` [s]: when they are complete."""
        return self._t0(f) + (self.cfg.batch - 1) / self.rate

    def device_us(self, t: np.ndarray) -> np.ndarray:
        """The insole's clock [µs, mod 2**32] at true times `t`."""
        return np.round((t * self._clock_rate + self._clock_offset_s) * 1e6).astype(
            np.int64) & 0xFFFFFFFF

    def push(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Take the next samples; return the frames now complete: wire, lengths, true times."""
        if counts.shape[0]:
            self._pending.append(counts)
            self._n_pending += counts.shape[0]
        n = min(self._n_pending // self.cfg.batch, self.n_frames - self._next)
        if n <= 0:
            return _no_frames()
        held = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        used = n * self.cfg.batch
        self._pending = [held[used:]] if held.shape[0] > used else []
        self._n_pending = held.shape[0] - used
        f0 = self._next
        self._next += n
        return self._frames(f0, self._next, held[:used])

    def close(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The frames still due once all samples are in (with no SAMPLES frame: all of them)."""
        if self._next < self.n_frames:
            raise ValueError(
                f"the {self.side.label} insole got {self._next * self.cfg.batch + self._n_pending}"
                f" samples of {self.n_frames * self.cfg.batch}")
        if self._started:
            return _no_frames()
        return self._frames(0, 0, np.empty((0, self.n_sensors), np.uint16))

    def _frames(
        self, f0: int, f1: int, counts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SAMPLES frames f0 .. f1-1 with the STATUS frames after them, in sending order."""
        cfg, per = self.cfg, self.per_status
        f = np.arange(f0, f1)
        samples_seq = 1 + f + f // per
        t0 = self._t0(f)
        t_end = t0 + (cfg.batch - 1) / self.rate
        if f1 > f0:
            wire_s, len_s = encode_samples_frames(
                device_id=self.dev_id,
                side=self.side,
                seq=samples_seq,
                timestamp_us=self.device_us(t0),
                sample_rate_hz=self.rate,
                counts=counts.reshape(f1 - f0, cfg.batch, self.n_sensors),
            )
        else:
            wire_s, len_s = np.empty(0, np.uint8), np.empty(0, np.int64)
        # A STATUS after SAMPLES frame (m + 1)·per - 1, m = 0 .. n_status - 1; the final last.
        after = np.arange(-(-(f0 + 1) // per), f1 // per + 1) * per - 1
        status_seq = samples_seq[after - f0] + 1
        status_t = t_end[after - f0]
        if f1 == self.n_frames:
            status_seq = np.append(status_seq, self.n_all - 1)
            status_t = np.append(status_t, self.end_t)
        battery = cfg.battery_pct[int(self.side)]
        status_wires = [
            to_wire(
                StatusFrame(
                    self.dev_id,
                    self.side,
                    int(sq) & 0xFFFF,
                    int(self.device_us(np.array([t]))[0]),
                    max(0, battery - int(t // 600)),
                    0,
                    0,
                )
            )
            for sq, t in zip(status_seq, status_t, strict=True)
        ]
        heads: list[bytes] = []
        if not self._started:
            label = self.side.label
            name = f"insole-{label[0].upper()}-{self.dev_id:04x}"
            heads.append(to_wire(
                DeviceInfoFrame(
                    self.dev_id,
                    self.side,
                    0,
                    int(self.device_us(np.zeros(1))[0]),
                    (1, 0, 0),
                    2,
                    self.n_sensors,
                    self.adc_bits,
                    self.rate,
                    name,
                )
            ))
            self._started = True
        # Assemble in sending order: info, samples with STATUS interleaved, final.
        seqs = np.concatenate((np.zeros(len(heads), np.int64), samples_seq,
                               status_seq)).astype(np.int64)
        times = np.concatenate((np.zeros(len(heads)), t_end, status_t))
        wire = np.concatenate((np.frombuffer(b"".join(heads), np.uint8), wire_s,
                               np.frombuffer(b"".join(status_wires), np.uint8)))
        lengths = np.concatenate((np.array([len(h) for h in heads], np.int64), len_s,
                                  np.array([len(w) for w in status_wires], np.int64)))
        order = np.argsort(seqs, kind="stable")
        wire, lengths = _concat_segments(wire, lengths, order)
        return wire, lengths, times[order]


@dataclass
class _Faults:
    """What the link does to one insole's frames, decided before the first frame is sent."""

    n_all: int
    loss: float
    drop_state: Any  # the generator's state at the random-loss draws (`_generator_at`)
    burst_start: np.ndarray  # loss bursts, sorted by their first frame
    burst_end: np.ndarray
    dropped: int = 0
    garbage_frame: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    garbage_junk: list[bytes] = field(default_factory=list)  # per garbage frame, in order
    garbage_cut: list[int] = field(default_factory=list)  # where the junk goes in the frame


class _Drops:
    """The frames of one insole the link drops, frame block by frame block, in order."""

    def __init__(self, faults: _Faults) -> None:
        self._faults = faults
        self._rng = _generator_at(faults.drop_state)
        self._next = 0  # the next frame
        self._burst = 0  # the next burst (by first frame)
        self._reach = 0  # end of the bursts begun so far

    def next(self, n: int) -> np.ndarray:
        """Whether each of the next `n` frames is dropped."""
        f = self._faults
        k0, k1 = self._next, self._next + n
        dropped = self._rng.random(n) < f.loss if f.loss > 0 else np.zeros(n, bool)
        q = int(np.searchsorted(f.burst_start, k1))
        if q > self._burst or self._reach > k0:
            reach = np.zeros(n, np.int64)
            np.maximum.at(reach, f.burst_start[self._burst:q] - k0, f.burst_end[self._burst:q])
            reach[:1] = np.maximum(reach[:1], self._reach)
            reach = np.maximum.accumulate(reach)
            dropped |= reach > np.arange(k0, k1)
            self._reach = max(self._reach, int(reach[-1])) if n else self._reach
            self._burst = q
        # Never the first or last frame (keeps every loss visible in the sequence numbers).
        if k0 == 0 and n:
            dropped[0] = False
        if k0 <= f.n_all - 1 < k1:
            dropped[f.n_all - 1 - k0] = False
        self._next = k1
        return dropped


class _ArrivalClock:
    """Host receive times of one stream's frames, frame block by frame block."""

    def __init__(self, config: TransportConfig, state: Any) -> None:
        self._cfg = config
        self._rng = _generator_at(state)
        self._stalled = [0] * len(config.pauses)  # frames held by each pause so far
        self._last = -np.inf

    def times(self, t: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Host receive times for frames completed at true times ``t`` [s]."""
        cfg = self._cfg
        if cfg.link == "ble":
            interval = 0.0075  # the shortest BLE connection interval (docs/domain.md)
            host = (np.floor(t / interval) + 1) * interval + self._rng.uniform(0.0, 0.0015, len(t))
        else:
            host = t + lengths * 10 / 1_000_000 + self._rng.uniform(0.0, 0.001, len(t))  # 8N1
        for i, (start, dur) in enumerate(cfg.pauses):
            stalled = (host >= start) & (host < start + dur)
            n = int(stalled.sum())
            host[stalled] = start + dur + np.arange(self._stalled[i], self._stalled[i] + n) * 1e-5
            self._stalled[i] += n
        host = np.maximum(np.maximum.accumulate(host), self._last)
        if host.size:
            self._last = float(host[-1])
        return host


class TimeMerge:
    """Merge sources of time-ordered frames into one time order, block by block.

    The order is that of one stable sort by time of all the sources' frames, the first source's
    before the second's: frames with equal times keep the order of their sources. A frame is
    handed out once no source can still bring an earlier one (each source's times never
    decrease), so a block at a time is held.

    Parameters
    ----------
    n_sources : int
        How many sources there are (numbered 0 .. n_sources - 1).
    """

    def __init__(self, n_sources: int) -> None:
        self._held: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [
            [] for _ in range(n_sources)]
        self._last = [-np.inf] * n_sources
        self._seen = [False] * n_sources

    def add(self, source: int, times: np.ndarray, lengths: np.ndarray, wire: np.ndarray) -> None:
        """Add frames of one source: their times, wire lengths and concatenated wire bytes."""
        if len(times):
            self._held[source].append((times, lengths, wire))
            self._last[source] = float(times[-1])
            self._seen[source] = True

    def pop(self, *, final: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The frames that can go now (all of them when `final`), in order.

        Returns
        -------
        times, lengths, wire, source : ndarray
            Times, wire lengths, concatenated wire bytes and source of each frame.
        """
        if final:
            cutoff = np.inf
        elif all(self._seen):
            cutoff = min(self._last)
        else:
            cutoff = -np.inf
        parts = []
        for i, held in enumerate(self._held):
            if not held:
                continue
            t = np.concatenate([h[0] for h in held])
            lengths = np.concatenate([h[1] for h in held])
            wire = np.concatenate([h[2] for h in held])
            n = int(np.searchsorted(t, cutoff, side="left"))
            n_bytes = int(lengths[:n].sum())
            parts.append((t[:n], lengths[:n], wire[:n_bytes], np.full(n, i)))
            self._held[i] = [(t[n:], lengths[n:], wire[n_bytes:])] if n < len(t) else []
        if not parts:
            wire, lengths, times = _no_frames()
            return times, lengths, wire, np.empty(0, np.int64)
        t = np.concatenate([p[0] for p in parts])
        lengths = np.concatenate([p[1] for p in parts])
        wire = np.concatenate([p[2] for p in parts])
        source = np.concatenate([p[3] for p in parts])
        order = np.argsort(t, kind="stable")
        wire, lengths = _concat_segments(wire, lengths, order)
        return t[order], lengths, wire, source[order]


class Transmission:
    """`transmit` a block of samples at a time, in memory bounded independently of the duration.

    Every random choice of the link (which frames are lost, where garbage lands and what it
    is) is made in the constructor, in the same order and with the same numbers as `transmit`
    makes it for the whole run; `report` is therefore complete before the first byte. The
    frames themselves are made as the samples arrive (`feed`), so the bytes, times and report
    are exactly those of `transmit` with all samples at once, whatever the blocks.

    Parameters
    ----------
    shapes : dict of Side to (int, int)
        The insoles and their number of samples and sensors, in the order of `transmit`'s
        ``counts``.
    sample_rate_hz : int
        Sampling rate.
    adc_bits : int
        ADC resolution announced in DEVICE_INFO.
    config : TransportConfig, optional
        Link and faults; defaults to a clean BLE link.
    counts_of : callable, optional
        ``counts_of(side)`` gives that insole's samples again from the start, as an iterable
        of arrays ``(n, n_sensors)``. Needed only with garbage (``garbage_per_min > 0``) in
        SAMPLES frames of 254 bytes or more (e.g. 64 sensors): where an insertion goes depends
        on the length of the frame it lands in, and COBS makes that depend on the counts.

    Attributes
    ----------
    streams : list of (int, str)
        Stream id and label of each stream, in order.
    report : TransportReport
        The faults injected (all of them, known from the start).

    Notes
    -----
    Memory: a block of frames, plus 16 bytes per loss burst and about 40 per garbage
    insertion. The garbage is placed as in `transmit` with numpy's ``choice`` without
    replacement, which holds 8 bytes per frame of the run when it hits more than 2 % of the
    frames.
    """

    def __init__(
        self,
        shapes: Mapping[Side, tuple[int, int]],
        *,
        sample_rate_hz: int,
        adc_bits: int = 12,
        config: TransportConfig | None = None,
        counts_of: Callable[[Side], Iterable[np.ndarray]] | None = None,
    ) -> None:
        cfg = config or TransportConfig()
        self._cfg = cfg
        self._rate, self._adc_bits = sample_rate_hz, adc_bits
        self._shapes = {Side(side): (int(n), int(m)) for side, (n, m) in shapes.items()}
        self._counts_of = counts_of
        self._insoles = {side: self._insole(side) for side in self._shapes}
        rng = np.random.default_rng(cfg.seed)
        self.report = TransportReport(
            drift_ppm=cfg.drift_ppm,
            clock_offset_s=cfg.clock_offset_s,
            pauses=[[float(a), float(b)] for a, b in cfg.pauses],
        )
        self._faults = {side: self._plan(side, rng) for side in self._insoles}
        # Streams: BLE one per insole, serial one for both (its frames merged by time).
        by_stream: dict[int, list[Side]] = {}
        for side in self._insoles:
            by_stream.setdefault(0 if cfg.link == "serial" else int(side), []).append(side)
        self._stream_of = {side: (0 if cfg.link == "serial" else int(side))
                           for side in self._insoles}
        self.streams = [(sid, "serial" if cfg.link == "serial" else f"ble-{Side(sid).label}")
                        for sid in sorted(by_stream)]
        self._clocks = {}
        for sid, _ in self.streams:  # each stream's link timing, in the order of `transmit`
            self._clocks[sid] = _ArrivalClock(cfg, rng.bit_generator.state)
            _skip(rng, sum(self._insoles[s].n_all - self._faults[s].dropped
                           for s in by_stream[sid]))
        self._serial_sides = by_stream[0] if cfg.link == "serial" and by_stream else []
        self._serial = TimeMerge(len(self._serial_sides))
        self._drops = {side: _Drops(f) for side, f in self._faults.items()}
        self._sent = dict.fromkeys(self._insoles, 0)
        self._garbage_done = dict.fromkeys(self._insoles, 0)

    def _insole(self, side: Side) -> _Insole:
        n_samples, n_sensors = self._shapes[side]
        return _Insole(side, n_samples=n_samples, n_sensors=n_sensors,
                       sample_rate_hz=self._rate, adc_bits=self._adc_bits, config=self._cfg)

    def _plan(self, side: Side, rng: np.random.Generator) -> _Faults:
        """Draw the faults of one insole's frames (`transmit`'s draws, in its order)."""
        cfg, insole, report = self._cfg, self._insoles[side], self.report
        n_all = insole.n_all
        report.frames_sent += n_all
        # Loss: random and bursts; never the first or last frame (keeps every loss visible).
        drop_state = rng.bit_generator.state
        _skip(rng, n_all)
        starts = ends = np.empty(0, np.int64)
        if cfg.burst_loss > 0:
            n_bursts = rng.poisson(cfg.burst_loss * n_all / cfg.burst_len)
            starts = rng.integers(0, n_all, n_bursts)
            ends = starts + rng.geometric(1.0 / cfg.burst_len, n_bursts)
            order = np.argsort(starts, kind="stable")
            starts, ends = starts[order], ends[order]
        faults = _Faults(n_all, cfg.loss, drop_state, starts, ends)
        drops = _Drops(faults)
        for done in range(0, n_all, _DRAW_BLOCK):
            faults.dropped += int(drops.next(min(_DRAW_BLOCK, n_all - done)).sum())
        # Garbage: each insertion lands inside one surviving frame (not the first or last) and
        # destroys it.
        n_garbage = rng.poisson(cfg.garbage_per_min * (insole.end_t / 60.0)) if (
            cfg.garbage_per_min) else 0
        n_candidates = n_all - faults.dropped - 2
        hits = np.empty(0, np.int64)
        junk: list[bytes] = []
        if n_garbage and n_candidates > 0:
            hits = rng.choice(n_candidates, size=min(n_garbage, n_candidates), replace=False)
            junk = [rng.integers(0, 256, int(rng.integers(1, 24))).astype(np.uint8).tobytes()
                    for _ in hits]
        label = side.label
        report.frames_dropped += faults.dropped
        report.frames_corrupted += len(hits)
        report.dropped_by_side[label] = faults.dropped
        report.corrupted_by_side[label] = len(hits)
        if len(hits):
            order = np.argsort(hits)
            faults.garbage_frame = self._candidates(faults, hits[order])
            faults.garbage_junk = [junk[i] for i in order]
            for length, piece in zip(self._lengths(side, faults.garbage_frame),
                                     faults.garbage_junk, strict=True):
                faults.garbage_cut.append(int(rng.integers(1, int(length) - 1)))
                report.garbage_bytes += len(piece)
        return faults

    @staticmethod
    def _candidates(faults: _Faults, ranks: np.ndarray) -> np.ndarray:
        """The frames that are the `ranks`-th (sorted) of those garbage may land in."""
        drops, out, seen, at = _Drops(faults), [], 0, 0
        for k0 in range(0, faults.n_all, _DRAW_BLOCK):
            k = np.arange(k0, min(k0 + _DRAW_BLOCK, faults.n_all))
            kept = k[~drops.next(len(k)) & (k >= 1) & (k <= faults.n_all - 2)]
            upto = int(np.searchsorted(ranks, seen + len(kept)))
            out.append(kept[ranks[at:upto] - seen])
            at, seen = upto, seen + len(kept)
            if at == len(ranks):
                break
        return np.concatenate(out)

    def _lengths(self, side: Side, frames: np.ndarray) -> np.ndarray:
        """Wire lengths of one insole's `frames` (sorted): its frames are made once more.

        COBS adds one byte to a frame without a run of 254 non-zero bytes, so SAMPLES frames
        shorter than that have one length whatever the counts: zeros stand in for them.
        Longer frames need the counts again (`counts_of`).
        """
        n_samples, n_sensors = self._shapes[side]
        insole = self._insole(side)
        counts: Iterable[np.ndarray]
        if HEADER_SIZE + 4 + 2 * self._cfg.batch * n_sensors + CRC_SIZE < 254:
            zeros = np.zeros((min(n_samples, 1 << 16), n_sensors), np.uint16)
            counts = (zeros[: n_samples - done] for done in range(0, n_samples, len(zeros)))
        elif self._counts_of is None:
            raise ValueError("garbage in frames of 254 bytes or more needs counts_of: where it "
                             "lands depends on their length")
        else:
            counts = self._counts_of(side)
        lengths = np.empty(len(frames), np.int64)
        seen = at = 0

        def take(frame_lengths: np.ndarray) -> None:
            nonlocal seen, at
            upto = int(np.searchsorted(frames, seen + len(frame_lengths)))
            lengths[at:upto] = frame_lengths[frames[at:upto] - seen]
            at, seen = upto, seen + len(frame_lengths)

        for block in counts:
            take(insole.push(np.asarray(block))[1])
            if at == len(frames):
                return lengths
        take(insole.close()[1])
        return lengths

    def feed(
        self, counts: Mapping[Side, np.ndarray]
    ) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Send the next samples of the insoles; return what the host receives so far.

        Parameters
        ----------
        counts : dict of Side to ndarray of uint16, shape (n, n_sensors)
            The next samples of each insole (any number, also none).

        Returns
        -------
        list of (int, ndarray, ndarray, ndarray)
            Stream id, concatenated wire bytes (uint8), wire length of each delivery and its
            host receive time [s]; in order within each stream.
        """
        out: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for side, insole in self._insoles.items():
            block = counts.get(side)
            if block is None:
                continue
            block = np.asarray(block)
            # Frames are made `part` samples at a time: encoding takes several times the
            # frames' bytes in temporaries.
            part = max(self._cfg.batch, _PART_VALUES // max(1, self._shapes[side][1]))
            for start in range(0, block.shape[0], part):
                self._send(side, *insole.push(block[start:start + part]), out)
        self._deliver_serial(out, final=False)
        return out

    def close(self) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Send the last frames once every sample was fed; return the rest the host receives."""
        out: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for side, insole in self._insoles.items():
            self._send(side, *insole.close(), out)
        self._deliver_serial(out, final=True)
        return out

    def _send(
        self, side: Side, wire: np.ndarray, lengths: np.ndarray, times: np.ndarray,
        out: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]],
    ) -> None:
        """Put frames of one insole (in sending order) through the link's faults."""
        n = len(lengths)
        if not n:
            return
        k0 = self._sent[side]
        self._sent[side] += n
        keep = ~self._drops[side].next(n)
        faults = self._faults[side]
        at = self._garbage_done[side]
        upto = int(np.searchsorted(faults.garbage_frame, k0 + n))
        if upto > at:  # garbage in place
            self._garbage_done[side] = upto
            starts = np.cumsum(lengths) - lengths
            raw = wire.tobytes()
            parts = []
            prev = 0
            lengths = lengths.copy()
            for g in range(at, upto):
                i = int(faults.garbage_frame[g]) - k0
                s0, cut, junk = int(starts[i]), faults.garbage_cut[g], faults.garbage_junk[g]
                parts += [raw[prev:s0 + cut], junk]
                prev = s0 + cut
                lengths[i] += len(junk)
            parts.append(raw[prev:])
            wire = np.frombuffer(b"".join(parts), np.uint8)
        wire, lengths = _concat_segments(wire, lengths, np.flatnonzero(keep))
        times = times[keep]
        if self._cfg.link == "serial":
            self._serial.add(self._serial_sides.index(side), times, lengths, wire)
            return
        sid = self._stream_of[side]
        out.append((sid, wire, lengths, self._clocks[sid].times(times, lengths)))

    def _deliver_serial(
        self, out: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], *, final: bool
    ) -> None:
        """Frames of both insoles on one stream go out in the order they were completed."""
        if self._cfg.link != "serial" or not self._serial_sides:
            return
        times, lengths, wire, _ = self._serial.pop(final=final)
        if len(times):
            out.append((0, wire, lengths, self._clocks[0].times(times, lengths)))


def transmit(
    counts: dict[Side, np.ndarray],
    *,
    sample_rate_hz: int,
    adc_bits: int = 12,
    config: TransportConfig | None = None,
) -> tuple[list[SimStream], TransportReport]:
    """Send two insoles' samples through simulated firmware and link.

    Parameters
    ----------
    counts : dict of Side to ndarray of uint16, shape (n_samples, n_sensors)
        Raw ADC counts per foot, sampled at ``sample_rate_hz`` from time 0.
    sample_rate_hz, adc_bits, config
        As in `Transmission` (the rate; the ADC resolution announced in DEVICE_INFO; link
        and faults, default a clean BLE link).

    Returns
    -------
    streams : list of SimStream
        What the host receives, per stream.
    report : TransportReport
        The faults injected.

    See Also
    --------
    Transmission : the same a block of samples at a time, for runs of any length.
    """
    arrays = {Side(side): np.asarray(c) for side, c in counts.items()}
    link = Transmission(
        {side: (a.shape[0], a.shape[1]) for side, a in arrays.items()},
        sample_rate_hz=sample_rate_hz,
        adc_bits=adc_bits,
        config=config,
        counts_of=lambda side: [arrays[side]],
    )
    parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
        sid: [] for sid, _ in link.streams}
    for sid, wire, lengths, host in link.feed(arrays) + link.close():
        parts[sid].append((wire, lengths, host))
    streams = []
    for sid, label in link.streams:
        got = parts[sid]
        wire = np.concatenate([np.empty(0, np.uint8)] + [g[0] for g in got])
        lengths = np.concatenate([np.empty(0, np.int64)] + [g[1] for g in got])
        host = np.concatenate([np.empty(0)] + [g[2] for g in got])
        streams.append(SimStream(sid, label, wire.tobytes(), np.cumsum(lengths), host))
    return streams, link.report
