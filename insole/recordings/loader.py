"""Load a recording into arrays through the same decoder that live readers use.

`load_recording` reads the container (`insole.recordings.container`), feeds each stream's raw bytes
once to `firmware_protocol.StreamDecoder` and gathers, per insole, the raw counts with their device
and host times, the sequence gaps, and every decoder counter. Nothing is hidden: frames lost,
CRC errors and damage in the file are all reported.

`recording_info` (``insole info``) reads the same way, run by run, but keeps only the totals
that `Recording.info` reports: its memory does not grow with the length of the recording.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_protocol import (
    DecoderStats,
    DeviceInfoFrame,
    FrameTable,
    FrameType,
    ProtocolError,
    Side,
    StatusFrame,
    StreamDecoder,
)
from insole.recordings.container import BlockReader, Damage, StreamRun

if TYPE_CHECKING:
    from insole.core.clock import ClockFit, ClockSync
    from insole.core.moticon import MoticonSamples

__all__ = ["DeviceData", "Recording", "load_recording", "recording_info"]


@dataclass(eq=False)
class DeviceData:
    """Everything one insole sent, decoded.

    Attributes
    ----------
    device_id : int
        Device id from the frames.
    side : {"left", "right"}
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
        from insole.core.clock import fit_clock

        fits: list[tuple[str, ClockFit]] = []
        for d in self.devices:
            if d.n_samples == 0:
                continue
            try:
                fits.append(
                    (d.side, fit_clock(d.device_time_s * 1e6 + d.device_t0_us, d.host_time_s)))
            except ValueError:
                continue
        return _clocks_dict(fits)

    def info(self) -> dict[str, Any]:
        """A JSON-able summary (what ``insole info --json`` prints).

        ``sample_rate_hz`` and ``sensors_per_side`` are one number when all insoles agree, a
        sorted list when they differ, and None when the recording holds no insole.
        ``frames_lost`` includes the frames lost to damage in the file; ``damaged_blocks``
        counts the damaged places (a kept block, or a skipped region, which may span several
        blocks), ``bytes_skipped`` and ``bytes_kept`` their bytes, ``damages`` lists them.
        `recording_info` gives the same dict without holding the samples in memory.
        """
        devices = [
            _InfoDevice(
                side=d.side,
                device_id=d.device_id,
                name=d.info.name if d.info else None,
                samples=d.n_samples,
                n_sensors=d.n_sensors,
                sample_rate_hz=d.sample_rate_hz,
                frames=d.frames,
                frames_lost=d.frames_lost,
                duration_s=d.duration_s,
                battery_pct=d.battery_pct,
            )
            for d in self.devices
        ]
        return _info_dict(
            path=self.path,
            header=self.header,
            devices=devices,
            stream_stats=self.stream_stats,
            n_events=len(self.events),
            damages=self.damages,
            damage=self.damage,
            file_size=self.file_size,
            clocks=self.clocks(),
        )


@dataclass(frozen=True)
class _InfoDevice:
    """What `Recording.info` and `recording_info` report of one insole."""

    side: str
    device_id: int
    name: str | None
    samples: int
    n_sensors: int
    sample_rate_hz: float
    frames: int
    frames_lost: int
    duration_s: float
    battery_pct: int | None


def _clocks_dict(fits: list[tuple[str, ClockFit]]) -> dict[str, Any]:
    """The ``clocks`` entry of the info: clock fits in device order (a later side wins)."""
    from insole.core.clock import align_clocks

    by_side: dict[str, ClockFit] = {}
    out: dict[str, Any] = {}
    for side, fit in fits:
        by_side[side] = fit
        out[side] = {
            "drift_ppm": round(fit.drift_ppm, 2),
            "residual_ms": round(fit.residual_ms, 3),
        }
    if "left" in by_side and "right" in by_side:
        al = align_clocks(by_side["left"], by_side["right"])
        out["right_vs_left"] = {
            "offset_ms": round(al.offset_ms, 3),
            "drift_ppm": round(al.drift_ppm, 2),
        }
    return out


def _info_dict(
    *,
    path: Path,
    header: dict[str, Any],
    devices: list[_InfoDevice],
    stream_stats: dict[int, DecoderStats],
    n_events: int,
    damages: list[Damage],
    damage: Damage | None,
    file_size: int,
    clocks: dict[str, Any],
) -> dict[str, Any]:
    """The info dict of `Recording.info` from the totals it reports."""
    rates = sorted({d.sample_rate_hz for d in devices})
    sensors = sorted({d.n_sensors for d in devices})

    def counter(name: str) -> int:
        return sum(int(getattr(s, name)) for s in stream_stats.values())

    info = {
        "path": str(path),
        "format_version": header.get("format_version"),
        "source": header.get("source"),
        "start": header.get("start_time"),
        "duration_s": round(max((d.duration_s for d in devices), default=0.0), 6),
        "sides": [d.side for d in devices],
        "sample_rate_hz": rates[0] if len(rates) == 1 else rates or None,
        "sensors_per_side": sensors[0] if len(sensors) == 1 else sensors or None,
        "frames": counter("frames"),
        "frames_lost": counter("lost_frames"),
        "crc_errors": counter("crc_errors"),
        "cobs_errors": counter("cobs_errors"),
        "discarded_bytes": counter("discarded_bytes"),
        "duplicate_frames": counter("duplicate_frames"),
        "devices": [
            {
                "side": d.side,
                "device_id": d.device_id,
                "name": d.name,
                "samples": d.samples,
                "frames": d.frames,
                "frames_lost": d.frames_lost,
                "duration_s": round(d.duration_s, 6),
                "battery_pct": d.battery_pct,
            }
            for d in devices
        ],
        "clocks": clocks,
        "events": n_events,
        "damage": None if damage is None else {"offset": damage.offset, "reason": damage.reason},
        "damaged_blocks": len(damages),
        "bytes_skipped": sum(d.bytes_after for d in damages),
        "bytes_kept": sum(d.bytes_kept for d in damages),
        "damages": [d.as_dict() for d in damages],
        "file_size": file_size,
    }
    # One force plate under both feet (`insole.sources.importers.table`,
    # `insole.sources.importers.c3d`): one stream, stored as a left device.
    if any(isinstance(d, dict) and d.get("plate_under_both_feet")
           for d in header.get("devices", [])):
        info["plate_under_both_feet"] = True
    return info


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
        `insole.recordings.container.BlockReader`). The decoder drops the corrupt frames and counts
        the frames lost from the sequence numbers on both sides. False stops at the first damage.
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
    # Streams of UDP datagrams as received (insole.core.moticon): parsed by their own decoder.
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
    header_devices = _header_devices(reader.header)
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
    """Parse a stream of Moticon datagrams (`insole.core.moticon`): one sample per datagram."""
    from insole.core.moticon import decoder_for_header

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


def _header_devices(header: dict[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
    """The header's device entries by (device id, side label)."""
    return {
        (int(d.get("device_id", -1)), str(d.get("side"))): d for d in header.get("devices", [])
    }


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
    header = header_devices.get((dev_id, label), {})
    from insole.core.clock import exact_sample_rate

    return DeviceData(
        device_id=dev_id,
        side=label,
        sample_rate_hz=exact_sample_rate(rate, header) if rate else rate,
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
        header=header,
    )


# -- streaming info (`insole info`) ------------------------------------------------------------


def recording_info(
    path: str | os.PathLike[str], *, salvage: bool = True, strict: bool = False
) -> dict[str, Any]:
    """Summarise a recording in one pass, in memory that does not grow with its length.

    The same dict as ``load_recording(path, salvage=salvage, strict=strict).info()`` (what
    ``insole info --json`` prints): the file is read run by run with
    `insole.recordings.container.BlockReader`, each run fed to the same decoder (a 0x00 at each
    reconnect, as `load_recording` and `insole.session.analysis` do), and only totals are kept per
    insole: samples, frames, frames lost, the device-clock span, the last battery level and device
    name, and one streaming `insole.core.clock.ClockSync` (window minima) per insole.

    Parameters
    ----------
    path : path-like
        The recording file.
    salvage : bool, default True
        Read past damage in the file (see `load_recording`).
    strict : bool, default False
        Refuse a damaged file: raise `RecordingError` at the first damage.

    Returns
    -------
    dict
        As `Recording.info`.

    Raises
    ------
    RecordingError
        If the file is missing or is not a readable recording, or (``strict``) is damaged.
    ProtocolError
        If an insole changed its number of sensors within a stream (as `load_recording`).
    """
    reader = BlockReader(path, salvage=salvage, strict=strict)
    datagram_ids = {int(s["stream_id"]) for s in reader.header.get("streams", [])
                    if isinstance(s, dict) and s.get("transport") == "moticon-udp"}
    streams: dict[int, _StreamTotals] = {}
    datagrams: dict[int, _DatagramTotals] = {}
    for item in reader.runs():
        if isinstance(item, StreamRun) and item.stream_id in datagram_ids:
            dg = datagrams.get(item.stream_id)
            if dg is None:
                dg = datagrams[item.stream_id] = _DatagramTotals(reader.header, item.stream_id)
            dg.feed_run(item)
        elif isinstance(item, StreamRun):
            _stream_totals(streams, item.stream_id).feed_run(item)
        elif isinstance(item, dict):
            sid = item.get("stream_id")
            if (item.get("event") == "reconnect" and sid in reader.stream_bytes
                    and sid not in datagram_ids):  # (datagram streams ignore reconnects)
                # Reconnects end cut frames (SPEC §4.2).
                _stream_totals(streams, int(sid)).feed_zero()
    stream_stats: dict[int, DecoderStats] = {}
    totals: list[_DeviceTotals] = []
    for sid in sorted(reader.stream_ids):
        if sid in datagram_ids:
            continue
        st = _stream_totals(streams, sid)
        st.finish()
        stream_stats[sid] = st.decoder.stats
        totals += st.devices.values()
    for sid in sorted(datagram_ids & set(reader.stream_ids)):
        dg = datagrams.get(sid) or _DatagramTotals(reader.header, sid)
        stream_stats[sid] = dg.decoder.stats
        totals += dg.finish()
    for t in totals:
        t.check_sensors()
    header_devices = _header_devices(reader.header)
    totals.sort(key=lambda t: (t.side != "left", t.device_id))
    fits: list[tuple[str, ClockFit]] = []
    for t in totals:
        if t.samples == 0:
            continue
        try:
            fits.append((t.side, t.clock.estimate()))
        except ValueError:
            continue
    return _info_dict(
        path=Path(path),
        header=reader.header,
        devices=[t.info(header_devices.get((t.device_id, t.side), {})) for t in totals],
        stream_stats=stream_stats,
        n_events=len(reader.events),
        damages=list(reader.damages),
        damage=reader.damage,
        file_size=reader.file_size,
        clocks=_clocks_dict(fits),
    )


def _stream_totals(streams: dict[int, _StreamTotals], stream_id: int) -> _StreamTotals:
    """The totals of stream ``stream_id``, created on first use."""
    st = streams.get(stream_id)
    if st is None:
        st = streams[stream_id] = _StreamTotals()
    return st


class _DeviceTotals:
    """One insole's totals for `recording_info`, fed in stream order.

    Computes what `_device_data` (or `_datagram_devices`) derives from the whole arrays, from
    consecutive pieces of them: the device clock is unwrapped with carried state, and the clock
    fit gets each sample's device and host time exactly as `Recording.clocks` computes them.
    """

    def __init__(self, device_id: int, side: str, *, sample_rate_hz: float | None = None) -> None:
        from insole.core.clock import ClockSync

        self.device_id = device_id
        self.side = side
        self.samples = 0
        self.frames = 0
        self.frames_lost = 0
        self.name: str | None = None
        self.battery_pct: int | None = None
        self.n_sensors: set[int] = set()
        self.rates: dict[int, int] = {}  # SAMPLES frames per sample rate (their median)
        self.sample_rate_hz = sample_rate_hz  # fixed (datagrams), else the median of `rates`
        self.clock: ClockSync = ClockSync()
        self._raw_us: int | None = None  # unwrap state of SAMPLES frames' timestamps
        self._unwrapped_us = 0
        self.first_us: float | None = None  # device time of the first and last sample [µs]
        self.last_us = 0.0
        self._first_index = 0  # datagrams: index and time of the first sample, last time [s]
        self._t0_us = 0
        self._last_time_s = 0.0

    def feed_table(self, table: FrameTable, mine: np.ndarray, host: np.ndarray) -> None:
        """Add this device's frames of ``table`` (``mine``); ``host``: each frame's host time."""
        self.frames += int(mine.sum())
        self.frames_lost += int(table.lost_before[mine].sum())
        is_samples = table.frame_type == FrameType.SAMPLES
        sel = np.flatnonzero(mine & is_samples)
        if len(sel):
            self._feed_samples(table, sel, host)
        other = mine & ~is_samples
        if other.any():
            for f in table.select(other).to_frames():
                if isinstance(f, DeviceInfoFrame):
                    self.name = f.name
                elif isinstance(f, StatusFrame) and f.battery_pct <= 100:
                    self.battery_pct = int(f.battery_pct)

    def _feed_samples(self, table: FrameTable, sel: np.ndarray, host: np.ndarray) -> None:
        self.n_sensors.update(np.unique(table.n_sensors[sel]).tolist())
        rates = table.sample_rate_hz[sel]
        for r, n in zip(*np.unique(rates, return_counts=True), strict=True):
            self.rates[int(r)] = self.rates.get(int(r), 0) + int(n)
        ts = table.timestamp_us[sel]
        if self._raw_us is None:
            frame_us = _unwrap_us(ts)
        else:  # continue the unwrapping of `_device_data` from the previous frame
            frame_us = _unwrap_us(np.concatenate(([self._raw_us], ts)))[1:]
            frame_us = frame_us - self._raw_us + self._unwrapped_us
        self._raw_us = int(ts[-1])
        self._unwrapped_us = int(frame_us[-1])
        # As `_device_data`: each sample's device time from its frame's and the rate.
        n_per = table.n_samples[sel]
        total = int(n_per.sum())
        if total == 0:
            return
        first = np.cumsum(n_per) - n_per
        k = np.arange(total) - np.repeat(first, n_per)
        dev_us = np.repeat(frame_us, n_per) + k * 1e6 / np.repeat(rates, n_per)
        if self.first_us is None:
            self.first_us = float(dev_us[0])
        self.last_us = float(dev_us[-1])
        self.samples += total
        # As `Recording.clocks`: device_time_s * 1e6 + device_t0_us, the frame's host time.
        device_time_s = (dev_us - self.first_us) / 1e6
        self.clock.update(device_time_s * 1e6 + int(self.first_us), np.repeat(host[sel], n_per))

    def feed_datagrams(self, parts: list[tuple[MoticonSamples, float]], rate_hz: float) -> None:
        """Add samples parsed from datagrams, each part with its datagram's host time."""
        index = np.concatenate([p.index for p, _ in parts])
        host = np.concatenate([np.full(len(p.index), t) for p, t in parts])
        self.n_sensors.update(p.counts.shape[1] for p, _ in parts)
        if self.first_us is None:  # `_datagram_devices`: time from the first sample's index
            self._first_index = int(index[0])
            self._t0_us = int(round(float(parts[0][0].time_s[0]) * 1e6))
            self.first_us = 0.0
        device_time_s = (index - self._first_index) / rate_hz
        self._last_time_s = float(device_time_s[-1])
        self.samples += len(index)
        self.frames += len(index)
        self.clock.update(device_time_s * 1e6 + self._t0_us, host)

    def check_sensors(self) -> None:
        """Raise `ProtocolError` as `FrameTable.samples` does if the sensor count changed."""
        if len(self.n_sensors) > 1 and self.sample_rate_hz is None:  # (None: frames)
            raise ProtocolError(
                f"device {self.device_id} ({self.side}) changed its sensor count "
                f"({sorted(self.n_sensors)}); split the data where it changes"
            )

    def info(self, header: dict[str, Any]) -> _InfoDevice:
        """The totals as `Recording.info` reports them (`header`: the device's header entry)."""
        if self.sample_rate_hz is not None:  # datagrams
            rate = self.sample_rate_hz
            duration = self._last_time_s + 1.0 / rate if self.samples else 0.0
        else:
            from insole.core.clock import exact_sample_rate

            rate = _median_of_counts(self.rates)
            rate = exact_sample_rate(rate, header) if rate else rate
            duration = 0.0
            if self.samples and self.first_us is not None:
                # `DeviceData.duration_s` on (dev_us - dev_us[0]) / 1e6.
                duration = float((self.last_us - self.first_us) / 1e6) + 1.0 / rate
        return _InfoDevice(
            side=self.side,
            device_id=self.device_id,
            name=self.name,
            samples=self.samples,
            n_sensors=next(iter(self.n_sensors)) if len(self.n_sensors) == 1 else 0,
            sample_rate_hz=rate,
            frames=self.frames,
            frames_lost=self.frames_lost,
            duration_s=duration,
            battery_pct=self.battery_pct,
        )


def _median_of_counts(counts: dict[int, int]) -> float:
    """``float(np.median(values))`` of integer values given as value -> count (0.0 if none)."""
    n = sum(counts.values())
    if n == 0:
        return 0.0
    lo, hi = (n - 1) // 2, n // 2
    middle: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(middle) < 2 and seen > (lo, hi)[len(middle)]:
            middle.append(value)
    return float(np.median(np.array(middle, np.int64)))


class _StreamTotals:
    """One protocol stream decoded run by run for `recording_info`.

    Each frame's host time is that of the chunk holding its delimiter, as in
    `_StreamDecoding.result`; a frame ended by the 0x00 of a reconnect (or of the end) maps to
    the next chunk of its stream, so it waits for the next run (or the end: the last chunk).
    """

    def __init__(self) -> None:
        self.decoder = StreamDecoder()
        self.devices: dict[tuple[int, int], _DeviceTotals] = {}
        self._inserted = 0  # 0x00 bytes fed at reconnects so far
        self._waiting: list[tuple[FrameTable, np.ndarray]] = []  # frames, stream positions
        self._last_time_s: float | None = None

    def feed_run(self, run: StreamRun) -> None:
        ends = run.chunk_end + run.stream_offset
        times = run.chunk_time_s
        self._decode(run.data)
        self._place(ends, times)
        if len(times):
            self._last_time_s = float(times[-1])

    def feed_zero(self) -> None:
        self._decode(b"\x00")
        self._inserted += 1

    def finish(self) -> None:
        """End of the file: a partial frame is counted; waiting frames get the last chunk."""
        self._decode(b"\x00")
        waiting, self._waiting = self._waiting, []
        for table, _ in waiting:
            t = 0.0 if self._last_time_s is None else self._last_time_s
            self._add(table, np.full(len(table), t))

    def _decode(self, data: bytes) -> None:
        table = self.decoder.feed_table(data)
        if len(table):
            # The delimiter's position in the stream's bytes (without the reconnect 0x00s).
            self._waiting.append((table, table.wire_end - 1 - self._inserted))

    def _place(self, ends: np.ndarray, times: np.ndarray) -> None:
        """Give waiting frames whose delimiter lies in these chunks their host time."""
        if len(ends) == 0:
            return
        waiting, self._waiting = self._waiting, []
        for i, (table, pos) in enumerate(waiting):
            chunk = np.searchsorted(ends, pos, side="right")
            placed = chunk < len(ends)
            if placed.all():
                self._add(table, times[chunk])
                continue
            if placed.any():  # positions grow: a prefix is placed
                self._add(table.select(placed), times[chunk[placed]])
                table, pos = table.select(~placed), pos[~placed]
            self._waiting = [(table, pos), *waiting[i + 1:]]
            return

    def _add(self, table: FrameTable, host: np.ndarray) -> None:
        key = table.device_id * 2 + table.side
        for dev_id, side in table.devices():
            k = (dev_id, int(side))
            dev = self.devices.get(k)
            if dev is None:
                dev = self.devices[k] = _DeviceTotals(dev_id, Side(side).label)
            dev.feed_table(table, key == dev_id * 2 + int(side), host)


class _DatagramTotals:
    """One ``moticon-udp`` stream parsed run by run for `recording_info` (`_datagram_devices`)."""

    def __init__(self, header: dict[str, Any], stream_id: int) -> None:
        from insole.core.moticon import decoder_for_header

        self.decoder = decoder_for_header(header, stream_id)
        self.devices: dict[tuple[int, str], _DeviceTotals] = {}

    def feed_run(self, run: StreamRun) -> None:
        got: dict[tuple[int, str], list[tuple[MoticonSamples, float]]] = {}
        start = 0
        for end, t in zip(run.chunk_end.tolist(), run.chunk_time_s.tolist(), strict=True):
            for part in self.decoder.feed(run.data[start:end]):
                got.setdefault((part.device_id, part.side), []).append((part, t))
            start = end
        rate = self.decoder.sampling_rate_hz
        for key, parts in got.items():
            dev = self.devices.get(key)
            if dev is None:
                dev = self.devices[key] = _DeviceTotals(key[0], key[1], sample_rate_hz=rate)
            dev.feed_datagrams(parts, rate)

    def finish(self) -> list[_DeviceTotals]:
        """The devices, with the frames lost that the decoder counted per side."""
        for (dev_id, label), dev in self.devices.items():
            dev.frames_lost = int(
                self.decoder.stats.lost_by_device.get((dev_id, Side.parse(label)), 0))
        return list(self.devices.values())
