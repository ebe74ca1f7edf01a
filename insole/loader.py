"""Load a recording into arrays through the same decoder that live readers use.

`load_recording` reads the container (`insole.recording`), feeds each stream's raw bytes once
to `firmware_protocol.StreamDecoder` and gathers, per insole, the raw counts with their device
and host times, the sequence gaps, and every decoder counter. Nothing is hidden: frames lost,
CRC errors and damage in the file are all reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from firmware_protocol import (
    DecoderStats,
    DeviceInfoFrame,
    FrameTable,
    FrameType,
    Side,
    StatusFrame,
    StreamDecoder,
)

from .recording import BlockReader, Damage, StreamRun

__all__ = ["DeviceData", "Recording", "load_recording"]


@dataclass(eq=False)
class DeviceData:
    """Everything one insole sent, decoded.

    Attributes
    ----------
    device_id : int
        Device id from the frames.
    side : str
        ``"left"`` or ``"right"``.
    sample_rate_hz : float
        Sampling rate (from the frames).
    counts : ndarray of uint16, shape (n_samples, n_sensors)
        Raw ADC counts, in order; samples of lost frames are missing (see ``gap_before``).
    device_time_s : ndarray of float64, shape (n_samples,)
        Sample times on the insole's own clock [s], unwrapped, relative to its first sample.
    host_time_s : ndarray of float64, shape (n_samples,)
        Host receive time of the frame that carried each sample [s since the recording start].
    gap_before : ndarray of int64, shape (n_frames,)
        Frames lost just before each received SAMPLES frame (by sequence numbers).
    frame_start : ndarray of int64, shape (n_frames,)
        Index of each received SAMPLES frame's first sample in ``counts``.
    frames : int
        Frames of all types received from this insole.
    frames_lost : int
        Frames of all types lost, by sequence numbers.
    imu : ndarray of int16, shape (n_samples, 6), or None
        IMU data when present.
    info : DeviceInfoFrame or None
        The last DEVICE_INFO frame received.
    status : list of StatusFrame
        STATUS frames received.
    header : dict
        This device's entry in the recording header (layout, calibration), or empty.
    device_t0_us : int
        The device clock at the first sample [µs, unwrapped]: ``device_time_s`` is relative to it.
    """

    device_id: int
    side: str
    sample_rate_hz: float
    counts: np.ndarray
    device_time_s: np.ndarray
    host_time_s: np.ndarray
    gap_before: np.ndarray
    frame_start: np.ndarray
    frames: int
    frames_lost: int
    imu: np.ndarray | None = None
    device_t0_us: int = 0
    info: DeviceInfoFrame | None = None
    status: list[StatusFrame] = field(default_factory=list)
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of samples received."""
        return int(self.counts.shape[0])

    @property
    def n_sensors(self) -> int:
        """Number of pressure sensors."""
        return int(self.counts.shape[1]) if self.counts.ndim == 2 else 0

    @property
    def duration_s(self) -> float:
        """Span of the device clock from the first sample to one sample past the last [s]."""
        if self.n_samples == 0:
            return 0.0
        return float(self.device_time_s[-1] - self.device_time_s[0]) + 1.0 / self.sample_rate_hz

    @property
    def battery_pct(self) -> int | None:
        """Last battery level reported, or None."""
        for s in reversed(self.status):
            if s.battery_pct <= 100:
                return int(s.battery_pct)
        return None


@dataclass(eq=False)
class Recording:
    """A decoded recording.

    Attributes
    ----------
    path : Path
        The file.
    header : dict
        The recording header.
    devices : list of DeviceData
        One entry per insole, left first.
    stream_stats : dict of int to DecoderStats
        Decoder counters per transport stream.
    events : list of dict
        Events written during recording (disconnects, notes, ...).
    damage : Damage or None
        The first damage met in the file (where reading stopped, unless salvaged), if any.
    file_size : int
        Size of the file in bytes.
    damages : list of Damage
        Every damage met: blocks kept despite a bad CRC and regions skipped (salvage).
    """

    path: Path
    header: dict[str, Any]
    devices: list[DeviceData]
    stream_stats: dict[int, DecoderStats]
    events: list[dict[str, Any]]
    damage: Damage | None
    file_size: int
    damages: list[Damage] = field(default_factory=list)

    def side(self, side: str) -> DeviceData:
        """The insole on ``side`` (``"left"`` or ``"right"``).

        Raises
        ------
        KeyError
            If the recording has no insole on that side.
        """
        for d in self.devices:
            if d.side == side:
                return d
        raise KeyError(f"{self.path} has no {side} insole")

    @property
    def start_time(self) -> datetime:
        """Wall-clock start of the recording (host time 0)."""
        return datetime.fromisoformat(self.header["start_time"])

    @property
    def duration_s(self) -> float:
        """Longest span of samples over the insoles [s]."""
        return max((d.duration_s for d in self.devices), default=0.0)

    @property
    def frames(self) -> int:
        """Valid frames received, all insoles and types."""
        return sum(s.frames for s in self.stream_stats.values())

    @property
    def frames_lost(self) -> int:
        """Frames lost according to sequence numbers, all insoles."""
        return sum(s.lost_frames for s in self.stream_stats.values())

    def counter(self, name: str) -> int:
        """Sum a `DecoderStats` counter over all streams."""
        return sum(int(getattr(s, name)) for s in self.stream_stats.values())

    def clocks(self) -> dict[str, Any]:
        """Each insole's clock against the host clock, and the left/right alignment.

        Uses `insole.core.clock.fit_clock` (minimum-latency windows, Theil–Sen fit) on the
        device time and host receive time of every sample. Insoles whose data span fewer than
        two windows are left out.
        """
        from .core.clock import align_clocks, fit_clock

        fits = {}
        out: dict[str, Any] = {}
        for d in self.devices:
            if d.n_samples == 0:
                continue
            try:
                fit = fit_clock(d.device_time_s * 1e6 + d.device_t0_us, d.host_time_s)
            except ValueError:
                continue
            fits[d.side] = fit
            out[d.side] = {
                "drift_ppm": round(fit.drift_ppm, 2),
                "residual_ms": round(fit.residual_ms, 3),
            }
        if "left" in fits and "right" in fits:
            al = align_clocks(fits["left"], fits["right"])
            out["right_vs_left"] = {
                "offset_ms": round(al.offset_ms, 3),
                "drift_ppm": round(al.drift_ppm, 2),
            }
        return out

    def info(self) -> dict[str, Any]:
        """A JSON-able summary (what ``insole info --json`` prints).

        ``sample_rate_hz`` and ``sensors_per_side`` are one number when all insoles agree, a
        sorted list when they differ, and None when the recording holds no insole.
        ``frames_lost`` includes the frames lost to damage in the file; ``damaged_blocks``
        counts the damaged places (a kept block, or a skipped region, which may span several
        blocks), ``bytes_skipped`` and ``bytes_kept`` their bytes, ``damages`` lists them.
        """
        rates = sorted({d.sample_rate_hz for d in self.devices})
        sensors = sorted({d.n_sensors for d in self.devices})
        return {
            "path": str(self.path),
            "format_version": self.header.get("format_version"),
            "source": self.header.get("source"),
            "start": self.header.get("start_time"),
            "duration_s": round(self.duration_s, 6),
            "sides": [d.side for d in self.devices],
            "sample_rate_hz": rates[0] if len(rates) == 1 else rates or None,
            "sensors_per_side": sensors[0] if len(sensors) == 1 else sensors or None,
            "frames": self.frames,
            "frames_lost": self.frames_lost,
            "crc_errors": self.counter("crc_errors"),
            "cobs_errors": self.counter("cobs_errors"),
            "discarded_bytes": self.counter("discarded_bytes"),
            "duplicate_frames": self.counter("duplicate_frames"),
            "devices": [
                {
                    "side": d.side,
                    "device_id": d.device_id,
                    "name": d.info.name if d.info else None,
                    "samples": d.n_samples,
                    "frames": d.frames,
                    "frames_lost": d.frames_lost,
                    "duration_s": round(d.duration_s, 6),
                    "battery_pct": d.battery_pct,
                }
                for d in self.devices
            ],
            "clocks": self.clocks(),
            "events": len(self.events),
            "damage": None
            if self.damage is None
            else {"offset": self.damage.offset, "reason": self.damage.reason},
            "damaged_blocks": len(self.damages),
            "bytes_skipped": sum(d.bytes_after for d in self.damages),
            "bytes_kept": sum(d.bytes_kept for d in self.damages),
            "damages": [d.as_dict() for d in self.damages],
            "file_size": self.file_size,
        }



def _unwrap_us(ts: np.ndarray) -> np.ndarray:
    """Unwrap a u32 microsecond clock into int64."""
    if len(ts) == 0:
        return ts.astype(np.int64)
    step = np.diff(ts) & 0xFFFFFFFF
    step = np.where(step > 0x80000000, step - 0x100000000, step)  # small backward steps stay
    return ts[0] + np.concatenate(([0], np.cumsum(step)))


def load_recording(
    path: str | os.PathLike[str], *, salvage: bool = True, strict: bool = False
) -> Recording:
    """Read and decode a recording.

    Parameters
    ----------
    path : path-like
        The recording file.
    salvage : bool, default True
        Read past damage in the file: keep the bytes of a block whose CRC fails but whose
        structure is intact, skip to the next valid block otherwise (see
        `insole.recording.BlockReader`). The decoder drops the corrupt frames and counts the
        frames lost from the sequence numbers on both sides. False stops at the first damage.
    strict : bool, default False
        Refuse a damaged file: raise `RecordingError` at the first damage.

    Returns
    -------
    Recording
        Decoded data per insole with all counters; ``damages`` lists the damage met.

    Raises
    ------
    RecordingError
        If the file is missing or is not a readable recording, or (``strict``) is damaged.
    """
    reader = BlockReader(path, salvage=salvage, strict=strict)
    tables: list[tuple[FrameTable, np.ndarray]] = []
    stream_stats: dict[int, DecoderStats] = {}
    decoders: dict[int, _StreamDecoding] = {}
    # Streams of UDP datagrams as received (insole.moticon): parsed by their own decoder.
    datagram_ids = {int(s["stream_id"]) for s in reader.header.get("streams", [])
                    if isinstance(s, dict) and s.get("transport") == "moticon-udp"}
    datagram_runs: dict[int, list[StreamRun]] = {}
    for item in reader.runs():
        if isinstance(item, StreamRun) and item.stream_id in datagram_ids:
            datagram_runs.setdefault(item.stream_id, []).append(item)
        elif isinstance(item, StreamRun):
            dec = decoders.get(item.stream_id)
            if dec is None:
                dec = decoders[item.stream_id] = _StreamDecoding()
            dec.feed_run(item)
        elif isinstance(item, dict):
            sid = item.get("stream_id")
            if item.get("event") == "reconnect" and sid in reader.stream_bytes:
                # Reconnects end cut frames (SPEC §4.2).
                decoders.setdefault(sid, _StreamDecoding()).feed_zero()
    for sid in sorted(reader.stream_ids):
        if sid in datagram_ids:
            continue
        dec = decoders.get(sid) or _StreamDecoding()
        dec.feed_zero(final=True)  # a file cut inside a frame: count the partial frame
        stream_stats[sid] = dec.decoder.stats
        tables.append(dec.result())
    header_devices = {
        (int(d.get("device_id", -1)), str(d.get("side"))): d
        for d in reader.header.get("devices", [])
    }
    devices: list[DeviceData] = []
    for table, host in tables:
        for dev_id, side in table.devices():
            devices.append(_device_data(table, host, dev_id, side, header_devices, stream_stats))
    for sid in sorted(datagram_ids & set(reader.stream_ids)):
        stream_stats[sid], found = _datagram_devices(
            datagram_runs.get(sid, []), reader.header, sid, header_devices)
        devices += found
    devices.sort(key=lambda d: (d.side != "left", d.device_id))
    return Recording(
        path=Path(path),
        header=reader.header,
        devices=devices,
        stream_stats=stream_stats,
        events=reader.events,
        damage=reader.damage,
        file_size=reader.file_size,
        damages=list(reader.damages),
    )


def _datagram_devices(
    runs: list[StreamRun],
    header: dict[str, Any],
    stream_id: int,
    header_devices: dict[tuple[int, str], dict[str, Any]],
) -> tuple[DecoderStats, list[DeviceData]]:
    """Parse a stream of Moticon datagrams (`insole.moticon`): one sample per datagram."""
    from .moticon import decoder_for_header

    dec = decoder_for_header(header, stream_id)
    got: dict[tuple[int, str], list[tuple[Any, float]]] = {}
    for run in runs:
        start = 0
        for end, t in zip(run.chunk_end.tolist(), run.chunk_time_s.tolist(), strict=True):
            for part in dec.feed(run.data[start:end]):
                got.setdefault((part.device_id, part.side), []).append((part, t))
            start = end
    devices = []
    for (dev_id, label), parts in got.items():
        index = np.concatenate([p.index for p, _ in parts])
        host = np.concatenate([np.full(len(p.index), t) for p, t in parts])
        t0 = float(parts[0][0].time_s[0])
        gap = np.diff(index, prepend=index[0]) - 1
        gap[0] = 0
        devices.append(DeviceData(
            device_id=dev_id,
            side=label,
            sample_rate_hz=dec.sampling_rate_hz,
            counts=np.concatenate([p.counts for p, _ in parts]),
            device_time_s=(index - index[0]) / dec.sampling_rate_hz,
            host_time_s=host,
            gap_before=gap.astype(np.int64),
            frame_start=np.arange(len(index), dtype=np.int64),
            frames=len(index),
            frames_lost=int(dec.stats.lost_by_device.get((dev_id, Side.parse(label)), 0)),
            device_t0_us=int(round(t0 * 1e6)),
            header=header_devices.get((dev_id, label), {}),
        ))
    return dec.stats, devices


class _StreamDecoding:
    """One stream decoded run by run: frame tables, and the chunk times for frame host times."""

    def __init__(self) -> None:
        self.decoder = StreamDecoder()
        self.parts: list[FrameTable] = []
        self.inserted: list[int] = []  # decoder offsets of the 0x00 bytes added at reconnects
        self.ends: list[np.ndarray] = []  # chunk end offsets in the stream's bytes
        self.times: list[np.ndarray] = []

    def feed_run(self, run: StreamRun) -> None:
        self.ends.append(run.chunk_end + run.stream_offset)
        self.times.append(run.chunk_time_s)
        self._feed(run.data)

    def feed_zero(self, *, final: bool = False) -> None:
        if not final:
            self.inserted.append(self.decoder.stats.bytes_in)
        self._feed(b"\x00")

    def _feed(self, data: bytes) -> None:
        part = self.decoder.feed_table(data)
        if len(part):
            self.parts.append(part)

    def result(self) -> tuple[FrameTable, np.ndarray]:
        """The stream's frames and the host time of each (that of the chunk holding its end)."""
        table = _concat_tables(self.parts)
        self.parts = []
        chunk_end = np.concatenate([np.zeros(0, np.int64), *self.ends])
        chunk_time = np.concatenate([np.zeros(0, np.float64), *self.times])
        delim = table.wire_end - 1
        delim = delim - np.searchsorted(np.asarray(self.inserted, np.int64), delim, side="left")
        chunk = np.searchsorted(chunk_end, delim, side="right")
        chunk = np.minimum(chunk, max(len(chunk_time) - 1, 0))
        host = chunk_time[chunk] if len(chunk_time) else np.zeros(len(table))
        return table, host


def _concat_tables(parts: list[FrameTable]) -> FrameTable:
    """The frames of several decoder calls as one table."""
    return FrameTable.concat(parts)


def _device_data(
    table: FrameTable,
    host: np.ndarray,
    dev_id: int,
    side: Side,
    header_devices: dict[tuple[int, str], dict[str, Any]],
    stream_stats: dict[int, DecoderStats],
) -> DeviceData:
    mine = (table.device_id == dev_id) & (table.side == int(side))
    counts, frame_index, imu = table.samples(dev_id, side)
    samples_frames = np.flatnonzero(mine & (table.frame_type == FrameType.SAMPLES))
    rates = table.sample_rate_hz[samples_frames]
    rate = float(np.median(rates)) if len(rates) else 0.0
    if len(samples_frames):
        frame_us = _unwrap_us(table.timestamp_us[samples_frames])
        n_per = table.n_samples[samples_frames]
        first = np.cumsum(n_per) - n_per
        k = np.arange(len(frame_index)) - np.repeat(first, n_per)
        dev_us = np.repeat(frame_us, n_per) + k * 1e6 / np.repeat(rates, n_per)
        device_time_s = (dev_us - dev_us[0]) / 1e6
        first_us = int(dev_us[0])
        host_time_s = host[frame_index]
    else:
        first = np.zeros(0, np.int64)
        device_time_s = host_time_s = np.zeros(0)
        first_us = 0
    # Losses of all frame types are attributed to the next received frame; sum per device.
    frames_lost = int(table.lost_before[mine].sum())
    # Gaps before each SAMPLES frame include losses attributed to other frames since the last.
    lost_cum = np.cumsum(table.lost_before[mine])
    mine_idx = np.flatnonzero(mine)
    at = np.searchsorted(mine_idx, samples_frames)
    lost_at = lost_cum[at]
    gap_before = np.diff(np.concatenate(([0], lost_at)))
    other = [f for f in table.select(mine & (table.frame_type != FrameType.SAMPLES)).to_frames()]
    info = [f for f in other if isinstance(f, DeviceInfoFrame)]
    status = [f for f in other if isinstance(f, StatusFrame)]
    label = Side(side).label
    return DeviceData(
        device_id=dev_id,
        side=label,
        sample_rate_hz=rate,
        counts=counts,
        device_time_s=device_time_s,
        host_time_s=host_time_s,
        gap_before=gap_before.astype(np.int64),
        frame_start=first.astype(np.int64),
        frames=int(mine.sum()),
        frames_lost=frames_lost,
        imu=imu,
        device_t0_us=first_us,
        info=info[-1] if info else None,
        status=status,
        header=header_devices.get((dev_id, label), {}),
    )
