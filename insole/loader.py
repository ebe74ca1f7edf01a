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

from .recording import Damage, RawRecording, read_raw_recording

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
        Where reading the file stopped early, if it did.
    raw : RawRecording
        The undecoded container.
    """

    path: Path
    header: dict[str, Any]
    devices: list[DeviceData]
    stream_stats: dict[int, DecoderStats]
    events: list[dict[str, Any]]
    damage: Damage | None
    raw: RawRecording

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
        """A JSON-able summary (what ``insole info --json`` prints)."""
        rates = sorted({d.sample_rate_hz for d in self.devices})
        sensors = sorted({d.n_sensors for d in self.devices})
        return {
            "path": str(self.path),
            "format_version": self.header.get("format_version"),
            "source": self.header.get("source"),
            "start": self.header.get("start_time"),
            "duration_s": round(self.duration_s, 6),
            "sides": [d.side for d in self.devices],
            "sample_rate_hz": rates[0] if len(rates) == 1 else rates,
            "sensors_per_side": sensors[0] if len(sensors) == 1 else sensors,
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
            "file_size": self.raw.file_size,
        }


def _unwrap_us(ts: np.ndarray) -> np.ndarray:
    """Unwrap a u32 microsecond clock into int64."""
    if len(ts) == 0:
        return ts.astype(np.int64)
    step = np.diff(ts) & 0xFFFFFFFF
    step = np.where(step > 0x80000000, step - 0x100000000, step)  # small backward steps stay
    return ts[0] + np.concatenate(([0], np.cumsum(step)))


def load_recording(path: str | os.PathLike[str], *, salvage: bool = False) -> Recording:
    """Read and decode a recording.

    Parameters
    ----------
    path : path-like
        The recording file.
    salvage : bool
        Continue after damage in the middle of the file (see `read_raw_recording`).

    Returns
    -------
    Recording
        Decoded data per insole with all counters.

    Raises
    ------
    RecordingError
        If the file is missing or is not a readable recording.
    """
    raw = read_raw_recording(path, salvage=salvage)
    tables: list[tuple[FrameTable, np.ndarray]] = []
    stream_stats: dict[int, DecoderStats] = {}
    for sid, stream in sorted(raw.streams.items()):
        dec = StreamDecoder()
        # Reconnects end cut frames; a file cut inside a frame: count the partial frame.
        pieces = raw.stream_pieces(sid)
        inserted = []  # decoder offsets of the 0x00 bytes added at reconnects
        fed = 0
        table = FrameTable.empty()
        for k, piece in enumerate([*pieces, b"\x00"]):
            if k % 2 == 1 and k < len(pieces):
                inserted.append(fed)
            fed += len(piece)
            part = dec.feed_table(piece)
            if len(part):
                table = _concat_tables(table, part) if len(table) else part
        stream_stats[sid] = dec.stats
        delim = table.wire_end - 1
        delim = delim - np.searchsorted(np.asarray(inserted, np.int64), delim, side="left")
        chunk = np.searchsorted(stream.chunk_end, delim, side="right")
        chunk = np.minimum(chunk, max(len(stream.chunk_time_s) - 1, 0))
        host = stream.chunk_time_s[chunk] if len(stream.chunk_time_s) else np.zeros(len(table))
        tables.append((table, host))
    header_devices = {
        (int(d.get("device_id", -1)), str(d.get("side"))): d for d in raw.header.get("devices", [])
    }
    devices: list[DeviceData] = []
    for table, host in tables:
        for dev_id, side in table.devices():
            devices.append(_device_data(table, host, dev_id, side, header_devices, stream_stats))
    devices.sort(key=lambda d: (d.side != "left", d.device_id))
    return Recording(
        path=Path(path),
        header=raw.header,
        devices=devices,
        stream_stats=stream_stats,
        events=raw.events,
        damage=raw.damage,
        raw=raw,
    )


def _concat_tables(a: FrameTable, b: FrameTable) -> FrameTable:
    shift = len(a.decoded)
    cols = {}
    for name in a.__dataclass_fields__:
        if name == "decoded":
            continue
        va, vb = getattr(a, name), getattr(b, name)
        cols[name] = np.concatenate((va, vb + shift if name == "start" else vb))
    return FrameTable(decoded=a.decoded + b.decoded, **cols)


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
