"""Record any source to a file while it streams (``insole record SOURCE --out FILE``).

The recorder pulls chunks from a `Reader`, writes them unchanged with `RecordingWriter` (flushed
at least once a second even when the source is silent, so a killed process loses at most about
a second), writes ``disconnect`` / ``reconnect`` events, and decodes a copy of the stream live
for the status line (frames, loss, rate, battery) and the final summary. It stops at the
requested duration, when the source ends, or when its ``stop`` event is set (the command sets
it on SIGINT / SIGTERM); the file is closed intact in every case.

Header: ``streams`` come from the reader; ``devices`` from the reader when it knows them (the
simulator: layout and calibration included; a replayed file: as recorded), otherwise from the
DEVICE_INFO frames received during the first seconds (the recorder buffers up to
``device_wait_s`` for them). Real devices do not send their layout or calibration, so those are
stored as empty dicts and the header's ``extra.recorder.calibration`` says so.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from firmware_protocol import (
    DecoderStats,
    DeviceInfoFrame,
    FrameType,
    Side,
    StatusFrame,
    StreamDecoder,
)
from insole.recordings.container import EVENT_STREAM_ID, NO_CALIBRATION_NOTE, RecordingWriter
from insole.sources.readers import Chunk, Reader, ReaderEvent, open_reader

__all__ = ["RecordSummary", "record"]

@dataclass
class _DeviceStatus:
    side: str
    samples: int = 0
    frames: int = 0
    battery_pct: int | None = None
    rate_hz: float | None = None
    samples_at_last: int = 0


@dataclass
class RecordSummary:
    """What a recording session wrote and saw.

    Attributes
    ----------
    path : str
        The recording.
    source : str
        The source URL.
    duration_s : float
        Host time from the start of the recording to the last item [s].
    bytes : int
        Wire bytes recorded.
    chunks : int
        Chunks recorded.
    frames : int
        Valid frames decoded (all streams).
    frames_lost : int
        Frames lost according to sequence numbers.
    bad_frames : int
        CRC, COBS, short, malformed and unsupported pieces.
    discarded_bytes : int
        Bytes that did not give a frame.
    disconnects, reconnects : int
        Transport interruptions and recoveries.
    devices : list of dict
        Per insole: ``device_id``, ``side``, ``frames``, ``samples``, ``lost``, ``battery_pct``.
    stopped_by : str
        ``"duration"``, ``"end of source"`` or ``"signal"``.
    decoder : dict of int to dict
        Decoder counters per stream (`DecoderStats.as_dict`).
    """

    path: str
    source: str
    duration_s: float = 0.0
    bytes: int = 0
    chunks: int = 0
    frames: int = 0
    frames_lost: int = 0
    bad_frames: int = 0
    discarded_bytes: int = 0
    disconnects: int = 0
    reconnects: int = 0
    devices: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: str = ""
    decoder: dict[int, dict[str, object]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = dict(self.__dict__)
        out["decoder"] = {str(k): v for k, v in self.decoder.items()}
        return out

    def line(self) -> str:
        """One-line human summary."""
        per = ", ".join(
            f"{d['side']} {d['frames']} frames {d['lost']} lost" for d in self.devices
        ) or "no insoles seen"
        return (
            f"recorded {self.duration_s:.1f} s to {self.path}: {self.frames} frames "
            f"({per}), {self.frames_lost} lost, {self.bad_frames} bad, "
            f"{self.disconnects} disconnects, {self.reconnects} reconnects, "
            f"{self.bytes / 1000:.0f} kB; stopped by {self.stopped_by}"
        )


class _Session:
    """Live decoding and counting of what is recorded."""

    def __init__(self, reader: Reader) -> None:
        # A StreamDecoder per stream; a MoticonDecoder for a stream of UDP datagrams.
        self.decoders: dict[int, Any] = {
            s.stream_id: _decoder_for(s.transport, reader) for s in reader.streams
        }
        self.devices: dict[tuple[int, int], _DeviceStatus] = {}
        self.info: dict[tuple[int, int], DeviceInfoFrame] = {}
        self.bytes = 0
        self.chunks = 0
        self.disconnects = 0
        self.reconnects = 0
        self.reconnecting: dict[int, int] = {}

    def decoder(self, sid: int) -> Any:
        dec = self.decoders.get(sid)
        if dec is None:
            dec = self.decoders[sid] = StreamDecoder()
        return dec

    def chunk(self, chunk: Chunk) -> None:
        self.bytes += len(chunk.data)
        self.chunks += 1
        dec = self.decoder(chunk.stream_id)
        if not isinstance(dec, StreamDecoder):  # datagrams as received (insole.core.moticon)
            for part in dec.feed(chunk.data):
                key = (part.device_id, int(Side.parse(part.side)))
                st = self.devices.get(key)
                if st is None:
                    st = self.devices[key] = _DeviceStatus(part.side)
                st.frames += len(part.index)
                st.samples += len(part.index)
            return
        table = dec.feed_table(chunk.data)
        if not len(table):
            return
        for dev_id, side in table.devices():
            mine = (table.device_id == dev_id) & (table.side == int(side))
            st = self.devices.get((dev_id, int(side)))
            if st is None:
                st = self.devices[(dev_id, int(side))] = _DeviceStatus(Side(side).label)
            st.frames += int(mine.sum())
            st.samples += int(table.n_samples[mine].sum())
        others = (table.frame_type != FrameType.SAMPLES)
        if others.any():
            for f in table.select(others).to_frames():
                key = (f.device_id, int(f.side))
                if isinstance(f, DeviceInfoFrame):
                    self.info[key] = f
                elif isinstance(f, StatusFrame) and f.battery_pct <= 100:
                    self.devices[key].battery_pct = int(f.battery_pct)

    def event(self, ev: ReaderEvent) -> None:
        if ev.kind == "disconnected":
            self.disconnects += 1
        elif ev.kind == "reconnecting":
            self.reconnecting[ev.stream_id] = int(ev.detail.get("attempt", 0))
        elif ev.kind == "connected":
            self.reconnecting.pop(ev.stream_id, None)
            if ev.detail.get("reconnect") or ev.detail.get("flush_decoder"):
                self.reconnects += 1
                self.decoder(ev.stream_id).flush_partial()

    def stats(self) -> DecoderStats:
        total = DecoderStats()
        for d in self.decoders.values():
            for name in ("frames", "lost_frames", "crc_errors", "cobs_errors", "short_frames",
                         "malformed_frames", "unsupported_frames", "discarded_bytes"):
                setattr(total, name, getattr(total, name) + getattr(d.stats, name))
        return total

    def lost_by_device(self) -> dict[tuple[int, int], int]:
        out: dict[tuple[int, int], int] = {}
        for d in self.decoders.values():
            for (dev_id, side), n in d.stats.lost_by_device.items():
                out[(dev_id, int(side))] = out.get((dev_id, int(side)), 0) + n
        return out

    def header_devices(self) -> list[dict[str, Any]]:
        out = []
        for (dev_id, side), info in sorted(self.info.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            out.append({
                "device_id": dev_id,
                "side": Side(side).label,
                "sample_rate_hz": float(info.sample_rate_hz),
                "n_sensors": int(info.n_sensors),
                "adc_bits": int(info.adc_bits),
                "layout": {},
                "calibration": {},
            })
        return out

    def status_line(self, elapsed_s: float, dt_s: float) -> str:
        st = self.stats()
        total = st.frames + st.lost_frames
        pct = 100.0 * st.lost_frames / total if total else 0.0
        parts = [f"{elapsed_s:7.1f} s", f"frames {st.frames}",
                 f"lost {st.lost_frames} ({pct:.2f} %)"]
        for _, d in sorted(self.devices.items(), key=_side_first):
            if dt_s > 0:
                d.rate_hz = (d.samples - d.samples_at_last) / dt_s
            d.samples_at_last = d.samples
            rate = f"{d.rate_hz:.0f} Hz" if d.rate_hz is not None else "- Hz"
            batt = f" {d.battery_pct} %" if d.battery_pct is not None else ""
            parts.append(f"{d.side[0].upper()} {rate}{batt}")
        bad = st.crc_errors + st.cobs_errors + st.short_frames + st.malformed_frames
        if bad:
            parts.append(f"bad {bad}")
        if self.reconnects or self.disconnects:
            parts.append(f"reconnects {self.reconnects}")
        if self.reconnecting:
            parts.append("RECONNECTING (attempt "
                         + ", ".join(str(a) for a in self.reconnecting.values()) + ")")
        return "  ".join(parts)


def _decoder_for(transport: str, reader: Reader) -> Any:
    """The decoder of a stream: the wire protocol's, or `.core.moticon`'s for its datagrams."""
    if transport == "moticon-udp":
        from insole.core.moticon import decoder_for_header

        return decoder_for_header({"devices": list(getattr(reader, "devices", []) or [])}, 0)
    return StreamDecoder()


def _side_first(item: tuple[tuple[int, int], Any]) -> tuple[int, int]:
    """Sort key of ``((device_id, side), value)`` items: left first, then by device id."""
    return item[0][1], item[0][0]


def _wants_devices(session: _Session) -> bool:
    """Whether to keep waiting for DEVICE_INFO frames (until a left and a right are known)."""
    sides = {side for (_, side) in session.info}
    seen = set(session.devices)
    return not (sides >= {0, 1} and seen <= set(session.info))


def record(
    source: str | Reader,
    out: str | os.PathLike[str],
    *,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    status: TextIO | None = None,
    status_interval_s: float | None = None,
    device_wait_s: float = 2.0,
    notes: str | None = None,
    overwrite: bool = False,
    clock: Callable[[], float] = time.monotonic,
    lsl: bool = False,
) -> RecordSummary:
    """Record a source to a file until the duration, the end of the source or ``stop``.

    Parameters
    ----------
    source : str or Reader
        A source URL for `open_reader` (``"sim:"``, ``"serial:/dev/ttyUSB0"``, ...) or a
        reader (not yet started; the recorder starts and stops it).
    out : path-like
        Recording to create.
    duration_s : float, optional
        Stop after this much time [s]; default: until the source ends or ``stop`` is set.
    stop : threading.Event, optional
        Set it to stop (e.g. from a signal handler).
    status : text stream, optional
        Where to print the live status line and the final summary (None: silent). On a TTY
        the line is rewritten in place about twice a second; otherwise a plain line is
        printed every ``status_interval_s`` (default 5 s).
    status_interval_s : float, optional
        Seconds between status updates (default 0.5 on a TTY, 5 otherwise).
    device_wait_s : float
        How long to buffer at the start while waiting for the DEVICE_INFO frames of the
        header (only when the reader does not know its devices).
    notes : str, optional
        Free text for the header.
    overwrite : bool
        Replace an existing file.
    clock : callable
        Monotonic clock (the readers stamp chunks with ``time.monotonic``).
    lsl : bool
        Also run the pipeline on what is recorded and publish the insoles and step events on
        the Lab Streaming Layer (`insole.live.lsl.LslRelay`).

    Returns
    -------
    RecordSummary
        What was recorded.

    Raises
    ------
    ReaderError
        If the source cannot be opened, or fails while recording (the file is closed intact
        first).
    RecordingError
        If the file cannot be written.
    LslError
        If ``lsl`` is set and ``pylsl`` is not installed (before the source is opened).
    """
    if lsl:
        from insole.live.lsl import import_pylsl

        import_pylsl()
    stop = stop or threading.Event()
    reader = open_reader(source) if isinstance(source, str) else source
    source_text = source if isinstance(source, str) else type(source).__name__
    tty = bool(status is not None and getattr(status, "isatty", lambda: False)())
    interval = status_interval_s or (0.5 if tty else 5.0)
    session = _Session(reader)
    t0 = clock()
    start_wall = datetime.now(UTC).astimezone()
    summary = RecordSummary(path=os.fspath(out), source=source_text)
    buffered: list[Chunk | ReaderEvent] = []
    writer: RecordingWriter | None = None
    relay: Any = None
    reader.start()
    try:
        known = getattr(reader, "devices", None)
        if not (isinstance(known, list) and all(isinstance(d, dict) for d in known)):
            known = None  # only header entries are usable (sim, file readers provide them)
        devices: list[dict[str, Any]] = list(known) if known else []
        ended = False
        if not devices:
            deadline = t0 + device_wait_s
            while clock() < deadline and not stop.is_set():
                items = reader.read(0.05)
                for item in items:
                    _observe(session, item)
                buffered.extend(items)
                if not items and not reader.running:
                    ended = True
                    break
                if session.info and not _wants_devices(session):
                    break
            devices = session.header_devices()
        extra: dict[str, Any] = {"recorder": {"device_wait_s": device_wait_s}}
        if not known:
            extra["recorder"]["calibration"] = NO_CALIBRATION_NOTE
        header: dict[str, Any] = {
            "start_time": start_wall.isoformat(),
            "source": source_text,
            "streams": [
                {"stream_id": s.stream_id, "transport": s.transport, "label": s.label}
                for s in reader.streams
            ],
            "devices": devices,
            "extra": extra,
        }
        if notes:
            header["notes"] = notes
        writer = RecordingWriter(out, header, overwrite=overwrite, clock=clock)
        if lsl:
            from insole.live.lsl import LslRelay, realtime_source

            relay = LslRelay(header, source=source_text, realtime=realtime_source(reader))
        _keep(buffered, writer, relay, t0)  # observed already
        for dev in session.devices.values():
            dev.samples_at_last = dev.samples  # rates count from here
        last_status = clock()
        last_t = 0.0
        while True:
            now = clock()
            if duration_s is not None and now - t0 >= duration_s:
                summary.stopped_by = "duration"
                break
            if stop.is_set():
                summary.stopped_by = "signal"
                break
            if ended:
                summary.stopped_by = "end of source"
                break
            timeout = 0.1
            if duration_s is not None:
                timeout = max(0.0, min(timeout, t0 + duration_s - now))
            items = reader.read(timeout if timeout > 0 else None)
            if not items and not reader.running:
                items = reader.read(None)
                ended = not items
            last_t = max(last_t, _keep(items, writer, relay, t0, session))
            writer.maybe_flush()
            now = clock()
            if status is not None and now - last_status >= interval:
                _print_status(status, session.status_line(now - t0, now - last_status), tty)
                last_status = now
        # Stop the source, then keep what it delivered before stopping.
        error: BaseException | None = None
        try:
            reader.stop()
        except Exception as exc:  # re-raised after the file is closed
            error = exc
        last_t = max(last_t, _keep(reader.read(None), writer, relay, t0, session))
        summary.duration_s = max(last_t, 0.0) if ended else clock() - t0
        if error is not None:
            raise error
    finally:
        if reader.running:
            try:
                reader.stop()
            except Exception:  # the first error is the one that matters
                pass
        if writer is not None:
            writer.close()
        if relay is not None:
            relay.close()
    _summarise(summary, session)
    if status is not None:
        if tty:
            status.write("\n")
        print(summary.line(), file=status, flush=True)
        if relay is not None:
            print(relay.publisher.line(), file=status, flush=True)
    return summary


def _observe(session: _Session, item: Chunk | ReaderEvent) -> None:
    if isinstance(item, Chunk):
        session.chunk(item)
    else:
        session.event(item)


def _keep(
    items: Iterable[Chunk | ReaderEvent], writer: RecordingWriter, relay: Any, t0: float,
    session: _Session | None = None,
) -> float:
    """Write `items` (and relay them to LSL), each once `session` observed it, if given.

    Returns the latest host time among them after `t0` [s] (``-inf`` for none).
    """
    latest = -math.inf
    for item in items:
        if session is not None:
            _observe(session, item)
        _write(writer, item, t0)
        if relay is not None:
            relay.feed(item)
        latest = max(latest, item.host_time_s - t0)
    return latest


def _write(writer: RecordingWriter, item: Chunk | ReaderEvent, t0: float) -> None:
    t = item.host_time_s - t0
    if isinstance(item, Chunk):
        writer.write_chunk(item.stream_id, item.data, t)
        return
    declared = {int(s["stream_id"]) for s in writer.header["streams"]}
    sid = item.stream_id if item.stream_id in declared else EVENT_STREAM_ID
    if item.kind == "disconnected":
        writer.write_event("disconnect", stream_id=sid, host_time_s=t,
                           reason=str(item.detail.get("reason", "")))
    elif item.kind == "connected" and (item.detail.get("reconnect")
                                       or item.detail.get("flush_decoder")):
        writer.write_event("reconnect", stream_id=sid, host_time_s=t,
                           attempt=int(item.detail.get("attempt", 0)))
    elif item.kind in ("error", "damage"):
        detail = {k: v for k, v in item.detail.items() if k != "stream_offset"}
        writer.write_event(item.kind, stream_id=sid, host_time_s=t, **detail)


def _print_status(out: TextIO, line: str, tty: bool) -> None:
    if tty:
        out.write("\r" + line + "\x1b[K")
        out.flush()
    else:
        print(line, file=out, flush=True)


def _summarise(summary: RecordSummary, session: _Session) -> None:
    st = session.stats()
    summary.bytes = session.bytes
    summary.chunks = session.chunks
    summary.frames = st.frames
    summary.frames_lost = st.lost_frames
    summary.bad_frames = (st.crc_errors + st.cobs_errors + st.short_frames + st.malformed_frames
                          + st.unsupported_frames)
    summary.discarded_bytes = st.discarded_bytes
    summary.disconnects = session.disconnects
    summary.reconnects = session.reconnects
    lost = session.lost_by_device()
    summary.devices = [
        {"device_id": dev_id, "side": d.side, "frames": d.frames, "samples": d.samples,
         "lost": lost.get((dev_id, side), 0), "battery_pct": d.battery_pct}
        for (dev_id, side), d in sorted(session.devices.items(), key=_side_first)
    ]
    summary.decoder = {sid: d.stats.as_dict() for sid, d in session.decoders.items()}
    if not math.isfinite(summary.duration_s):
        summary.duration_s = 0.0
