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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from firmware_protocol import (
    DeviceInfoFrame,
    Side,
    StatusFrame,
    encode_samples_frames,
    to_wire,
)

__all__ = ["SimStream", "TransportConfig", "TransportReport", "transmit"]

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
        Right insole clock rate minus left, in parts per million.
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
    sample_rate_hz : int
        Sampling rate.
    adc_bits : int
        ADC resolution announced in DEVICE_INFO.
    config : TransportConfig, optional
        Link and faults; defaults to a clean BLE link.

    Returns
    -------
    streams : list of SimStream
        What the host receives, per stream.
    report : TransportReport
        The faults injected.
    """
    cfg = config or TransportConfig()
    rng = np.random.default_rng(cfg.seed)
    report = TransportReport(
        drift_ppm=cfg.drift_ppm,
        clock_offset_s=cfg.clock_offset_s,
        pauses=[[float(a), float(b)] for a, b in cfg.pauses],
    )
    per_stream: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for side, side_counts in counts.items():
        side = Side(side)
        dev_id = cfg.device_ids[int(side)]
        n_samples, n_sensors = side_counts.shape
        n_frames = n_samples // cfg.batch
        frame_t0 = np.arange(n_frames) * cfg.batch / sample_rate_hz  # true time, first sample
        frame_t_end = frame_t0 + (cfg.batch - 1) / sample_rate_hz
        # STATUS every status_interval_s; one final STATUS at the end; DEVICE_INFO first.
        per_status = max(1, round(cfg.status_interval_s * sample_rate_hz / cfg.batch))
        n_status = n_frames // per_status
        samples_seq = 1 + np.arange(n_frames) + np.arange(n_frames) // per_status
        status_after = (np.arange(1, n_status + 1) * per_status) - 1  # last samples frame before
        status_seq = samples_seq[status_after] + 1
        final_seq = (
            (int(samples_seq[-1]) if n_frames else 0)
            + 1
            + (1 if n_status and status_after[-1] == n_frames - 1 else 0)
        )
        # Device clocks: left is the reference; right runs drift_ppm fast with an offset.
        rate = 1.0 + (cfg.drift_ppm * 1e-6 if side == Side.RIGHT else 0.0)
        offset_s = 5.0 + (cfg.clock_offset_s if side == Side.RIGHT else 0.0)

        def device_us(t: np.ndarray, rate: float = rate, offset_s: float = offset_s) -> np.ndarray:
            return np.round((t * rate + offset_s) * 1e6).astype(np.int64) & 0xFFFFFFFF

        wire_s, len_s = encode_samples_frames(
            device_id=dev_id,
            side=side,
            seq=samples_seq,
            timestamp_us=device_us(frame_t0),
            sample_rate_hz=sample_rate_hz,
            counts=side_counts[: n_frames * cfg.batch].reshape(n_frames, cfg.batch, n_sensors),
        )
        label = side.label
        name = f"insole-{label[0].upper()}-{dev_id:04x}"
        info = to_wire(
            DeviceInfoFrame(
                dev_id,
                side,
                0,
                int(device_us(np.zeros(1))[0]),
                (1, 0, 0),
                2,
                n_sensors,
                adc_bits,
                sample_rate_hz,
                name,
            )
        )
        end_t = float(frame_t_end[-1]) if n_frames else 0.0
        battery = cfg.battery_pct[int(side)]
        status_t = np.append(frame_t_end[status_after], end_t)
        status_seq = np.append(status_seq, final_seq)
        status_wires = [
            to_wire(
                StatusFrame(
                    dev_id,
                    side,
                    int(sq) & 0xFFFF,
                    int(device_us(np.array([t]))[0]),
                    max(0, battery - int(t // 600)),
                    0,
                    0,
                )
            )
            for sq, t in zip(status_seq, status_t, strict=True)
        ]
        # Assemble all frames in sending order: info, samples with STATUS interleaved, final.
        seqs = np.concatenate(([0], samples_seq, status_seq)).astype(np.int64)
        times = np.concatenate(([0.0], frame_t_end, status_t))
        st_bytes = np.frombuffer(b"".join(status_wires), np.uint8)
        wire_all = np.concatenate((np.frombuffer(info, np.uint8), wire_s, st_bytes))
        len_all = np.concatenate(([len(info)], len_s, [len(w) for w in status_wires]))
        order = np.argsort(seqs, kind="stable")
        wire_all, len_all = _concat_segments(wire_all, len_all, order)
        times = times[order]
        n_all = len(order)
        report.frames_sent += n_all
        # Loss: random and bursts; never the first or last frame (keeps every loss visible).
        dropped = rng.random(n_all) < cfg.loss
        if cfg.burst_loss > 0:
            n_bursts = rng.poisson(cfg.burst_loss * n_all / cfg.burst_len)
            starts = rng.integers(0, n_all, n_bursts)
            lens = rng.geometric(1.0 / cfg.burst_len, n_bursts)
            for s0, ln in zip(starts, lens, strict=True):
                dropped[s0 : s0 + ln] = True
        dropped[0] = dropped[-1] = False
        # Garbage: each insertion lands inside one surviving frame and destroys it.
        n_garbage = rng.poisson(cfg.garbage_per_min * (end_t / 60.0)) if cfg.garbage_per_min else 0
        candidates = np.flatnonzero(~dropped)[1:-1]
        hit = np.zeros(n_all, bool)
        garbage_at: dict[int, bytes] = {}
        if n_garbage and len(candidates):
            for i in rng.choice(candidates, size=min(n_garbage, len(candidates)), replace=False):
                junk = rng.integers(0, 256, int(rng.integers(1, 24))).astype(np.uint8).tobytes()
                garbage_at[int(i)] = junk
                hit[int(i)] = True
        report.frames_dropped += int(dropped.sum())
        report.frames_corrupted += int(hit.sum())
        report.dropped_by_side[label] = int(dropped.sum())
        report.corrupted_by_side[label] = int(hit.sum())
        keep = ~dropped
        starts = np.cumsum(len_all) - len_all
        pieces: list[bytes] = []
        seg_len = len_all.copy()
        if garbage_at:
            raw = wire_all.tobytes()
            for i, junk in sorted(garbage_at.items()):
                s0 = int(starts[i])
                cut = int(rng.integers(1, len_all[i] - 1))
                pieces.append(raw[s0 : s0 + cut] + junk + raw[s0 + cut : s0 + int(len_all[i])])
                seg_len[i] += len(junk)
                report.garbage_bytes += len(junk)
            # Rebuild the byte array with the garbage in place.
            parts = []
            prev = 0
            for (i, _), piece in zip(sorted(garbage_at.items()), pieces, strict=True):
                parts.append(raw[prev : int(starts[i])])
                parts.append(piece)
                prev = int(starts[i] + len_all[i])
            parts.append(raw[prev:])
            wire_all = np.frombuffer(b"".join(parts), np.uint8)
        kept_wire, kept_len = _concat_segments(wire_all, seg_len, np.flatnonzero(keep))
        t_kept = times[keep]
        per_stream.setdefault(0 if cfg.link == "serial" else int(side), []).append(
            (kept_wire, kept_len, t_kept)
        )
    streams = []
    for stream_id, pieces_of in sorted(per_stream.items()):
        wire = np.concatenate([p[0] for p in pieces_of])
        lens = np.concatenate([p[1] for p in pieces_of])
        t = np.concatenate([p[2] for p in pieces_of])
        # Frames of both insoles on one stream go out in the order they were completed.
        order = np.argsort(t, kind="stable")
        wire, lens = _concat_segments(wire, lens, order)
        t = t[order]
        host_t = _arrival_times(t, lens, cfg, rng)
        label = "serial" if cfg.link == "serial" else f"ble-{Side(stream_id).label}"
        streams.append(SimStream(stream_id, label, wire.tobytes(), np.cumsum(lens), host_t))
    return streams, report


def _arrival_times(
    t: np.ndarray, lengths: np.ndarray, cfg: TransportConfig, rng: np.random.Generator
) -> np.ndarray:
    """Host receive times for frames completed at true times ``t`` [s]."""
    if cfg.link == "ble":
        interval = 0.0075  # the shortest BLE connection interval (docs/domain.md "Hardware facts")
        host = (np.floor(t / interval) + 1) * interval + rng.uniform(0.0, 0.0015, len(t))
    else:
        host = t + lengths * 10 / 1_000_000 + rng.uniform(0.0, 0.001, len(t))  # 1 Mbaud, 8N1
    for start, dur in cfg.pauses:
        stalled = (host >= start) & (host < start + dur)
        host[stalled] = start + dur + np.arange(int(stalled.sum())) * 1e-5
    return np.maximum.accumulate(host)
