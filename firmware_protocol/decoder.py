"""Incremental decoder for the insole byte stream (SPEC §2-3).

`StreamDecoder.feed` accepts bytes split anywhere and returns the frames completed by them. The
work is vectorised over every frame completed in one call, so feeding a one-hour recording at
once costs a fraction of a second, while feeding one BLE notification at a time costs tens of
microseconds. Either way the frames and the counters are identical: the decoder's only state is
the unfinished tail of the stream and the last sequence number per device.

Garbage never raises: it is counted and the decoder resynchronises on the next 0x00. A strict
mode raises `ProtocolError` instead, for tools and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .cobs import decode_segments
from .frames import (
    CRC_SIZE,
    HEADER_SIZE,
    IMU_CHANNELS,
    MIN_FRAME_SIZE,
    PROTOCOL_VERSION,
    DeviceInfoFrame,
    Frame,
    FrameType,
    ProtocolError,
    SamplesFrame,
    Side,
    StatusFrame,
)

__all__ = ["MAX_ENCODED_SIZE", "DecoderStats", "FrameTable", "StreamDecoder", "decode_frame"]

#: Longest run of bytes without 0x00 that can still be a frame (SPEC §3).
MAX_ENCODED_SIZE = 1100

DeviceKey = tuple[int, Side]


@dataclass
class DecoderStats:
    """Counters of everything the decoder saw; nothing is dropped without a count.

    Attributes
    ----------
    bytes_in : int
        Bytes fed.
    frames : int
        Valid frames delivered (duplicates excluded).
    samples_frames, device_info_frames, status_frames : int
        Valid frames by type.
    samples : int
        Samples delivered in SAMPLES frames.
    crc_errors : int
        Delimited pieces that decoded but failed the CRC.
    cobs_errors : int
        Delimited pieces that were not valid COBS (garbage, a cut frame).
    short_frames : int
        Decoded pieces shorter than a header and CRC.
    malformed_frames : int
        Frames with a correct CRC whose length does not match their own fields.
    unsupported_frames : int
        Frames of another protocol version.
    unknown_frames : int
        Frames of an unknown type (skipped, allowed by SPEC §7).
    discarded_bytes : int
        Wire bytes (without delimiters) that did not give a valid frame.
    lost_frames : int
        Frames missing according to the sequence counters.
    duplicate_frames : int
        Frames repeating the previous sequence number (not delivered twice).
    out_of_order_frames : int
        Frames whose sequence number went backwards (delivered; the counter restarts there).
    lost_by_device : dict
        ``lost_frames`` split by ``(device_id, side)``.
    """

    bytes_in: int = 0
    frames: int = 0
    samples_frames: int = 0
    device_info_frames: int = 0
    status_frames: int = 0
    samples: int = 0
    crc_errors: int = 0
    cobs_errors: int = 0
    short_frames: int = 0
    malformed_frames: int = 0
    unsupported_frames: int = 0
    unknown_frames: int = 0
    discarded_bytes: int = 0
    lost_frames: int = 0
    duplicate_frames: int = 0
    out_of_order_frames: int = 0
    lost_by_device: dict[DeviceKey, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """All bad pieces: CRC, COBS, short, malformed and unsupported frames."""
        return (
            self.crc_errors
            + self.cobs_errors
            + self.short_frames
            + self.malformed_frames
            + self.unsupported_frames
        )

    def as_dict(self) -> dict[str, object]:
        """The counters as plain JSON-able values."""
        out: dict[str, object] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "lost_by_device":
                v = {f"{Side(s).label}:{d}": n for (d, s), n in v.items()}
            out[f.name] = v
        return out


def _u16(dec: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return dec[pos].astype(np.int64) | (dec[pos + 1].astype(np.int64) << 8)


def _u32(dec: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _u16(dec, pos) | (_u16(dec, pos + 2) << 16)


def _gather_u16(dec: np.ndarray, first: np.ndarray, n_values: np.ndarray) -> np.ndarray:
    """Concatenate ``n_values[i]`` little-endian u16 values starting at ``dec[first[i]]``."""
    if len(first) == 0:
        return np.zeros(0, np.uint16)
    out = []
    # Frames of equal size are gathered as rows of a sliding window (one memcpy per row).
    sizes, inverse = np.unique(n_values, return_inverse=True)
    if len(sizes) == 1:
        n = int(sizes[0])
        win = np.lib.stride_tricks.sliding_window_view(dec, 2 * n)
        return win[first].reshape(-1).view("<u2").astype(np.uint16, copy=False)
    for i, n in enumerate(sizes.tolist()):
        sel = np.flatnonzero(inverse == i)
        win = np.lib.stride_tricks.sliding_window_view(dec, 2 * n)
        out.append((sel, win[first[sel]].reshape(len(sel), -1).view("<u2")))
    total = int(n_values.sum())
    result = np.empty(total, np.uint16)
    offs = np.cumsum(n_values) - n_values
    for sel, rows in out:
        n = rows.shape[1]
        result[(offs[sel][:, None] + np.arange(n)[None, :]).reshape(-1)] = rows.reshape(-1)
    return result


@dataclass
class FrameTable:
    """Frames decoded in one call, as columns (one entry per frame, in stream order).

    Attributes
    ----------
    frame_type, device_id, side, seq, timestamp_us : ndarray of int64
        Header fields; ``timestamp_us`` as sent (wrapping at 2**32).
    sample_rate_hz, n_sensors, n_samples : ndarray of int64
        SAMPLES fields (0 for other frame types).
    has_imu : ndarray of bool
        Whether a SAMPLES frame carries IMU data.
    lost_before : ndarray of int64
        Frames of the same device lost just before this one (sequence gap).
    wire_end : ndarray of int64
        Stream offset just past this frame's 0x00 delimiter: maps frames to the chunk (and its
        host receive time) that completed them.
    decoded : bytes
        Decoded frame bytes, concatenated.
    start : ndarray of int64
        Offset of each frame in ``decoded``.
    """

    frame_type: np.ndarray
    device_id: np.ndarray
    side: np.ndarray
    seq: np.ndarray
    timestamp_us: np.ndarray
    sample_rate_hz: np.ndarray
    n_sensors: np.ndarray
    n_samples: np.ndarray
    has_imu: np.ndarray
    lost_before: np.ndarray
    wire_end: np.ndarray
    decoded: bytes
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def empty(cls) -> FrameTable:
        """A table with no frames."""
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, z, z, z, z, np.zeros(0, bool), z, z, b"", z)

    def devices(self) -> list[DeviceKey]:
        """Distinct ``(device_id, side)`` pairs, in order of first appearance."""
        key = self.device_id * 2 + self.side
        _, first = np.unique(key, return_index=True)
        first.sort()
        return [(int(self.device_id[i]), Side(int(self.side[i]))) for i in first]

    def select(self, mask: np.ndarray) -> FrameTable:
        """The frames where ``mask`` is true."""
        cols = {f.name: getattr(self, f.name)[mask] for f in fields(self) if f.name != "decoded"}
        return FrameTable(decoded=self.decoded, **cols)

    def samples(
        self, device_id: int, side: Side
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """All samples of one device, concatenated.

        Parameters
        ----------
        device_id : int
            Device id.
        side : Side
            Foot.

        Returns
        -------
        counts : ndarray of uint16, shape (n_samples, n_sensors)
            Raw counts.
        frame_index : ndarray of int64, shape (n_samples,)
            Index (in this table) of the frame each sample came from.
        imu : ndarray of int16, shape (n_samples, 6), or None
            IMU data when every frame of the device carries it.

        Raises
        ------
        ProtocolError
            If the device changed its number of sensors within the table.
        """
        sel = np.flatnonzero(
            (self.frame_type == FrameType.SAMPLES)
            & (self.device_id == device_id)
            & (self.side == int(side))
        )
        n_sens = np.unique(self.n_sensors[sel])
        if len(n_sens) > 1:
            raise ProtocolError(
                f"device {device_id} ({Side(side).label}) changed its sensor count "
                f"({n_sens.tolist()}); split the data where it changes"
            )
        if len(sel) == 0:
            return np.zeros((0, 0), np.uint16), np.zeros(0, np.int64), None
        n_sensors = int(n_sens[0])
        n_samp = self.n_samples[sel]
        per_frame = n_samp * n_sensors
        dec = np.frombuffer(self.decoded, np.uint8)
        first = self.start[sel] + HEADER_SIZE + 4
        counts = _gather_u16(dec, first, per_frame).reshape(-1, n_sensors)
        frame_index = np.repeat(sel, n_samp)
        imu = None
        if len(sel) and self.has_imu[sel].all():
            imu = _gather_u16(dec, first + 2 * per_frame, n_samp * IMU_CHANNELS)
            imu = imu.view(np.int16).reshape(-1, IMU_CHANNELS)
        return counts, frame_index, imu

    def to_frames(self) -> list[Frame]:
        """The frames as objects (`SamplesFrame`, `DeviceInfoFrame`, `StatusFrame`)."""
        out: list[Frame] = []
        dec = self.decoded
        for i in range(len(self)):
            s = int(self.start[i])
            common = (
                int(self.device_id[i]),
                Side(int(self.side[i])),
                int(self.seq[i]),
                int(self.timestamp_us[i]),
            )
            ft = int(self.frame_type[i])
            if ft == FrameType.SAMPLES:
                ns, nn = int(self.n_samples[i]), int(self.n_sensors[i])
                off = s + HEADER_SIZE + 4
                counts = np.frombuffer(dec, "<u2", ns * nn, off).reshape(ns, nn)
                imu = None
                if self.has_imu[i]:
                    imu = np.frombuffer(dec, "<i2", ns * IMU_CHANNELS, off + 2 * ns * nn)
                    imu = imu.reshape(ns, IMU_CHANNELS)
                out.append(SamplesFrame(*common, int(self.sample_rate_hz[i]), counts, imu))
            elif ft == FrameType.DEVICE_INFO:
                b = dec[s + HEADER_SIZE : s + HEADER_SIZE + 9]
                name_len = b[8]
                name_at = s + HEADER_SIZE + 9
                name = dec[name_at : name_at + name_len].decode("utf-8", errors="replace")
                out.append(
                    DeviceInfoFrame(
                        *common,
                        fw_version=(b[0], b[1], b[2]),
                        hw_revision=b[3],
                        n_sensors=b[4],
                        adc_bits=b[5],
                        sample_rate_hz=b[6] | (b[7] << 8),
                        name=name,
                    )
                )
            else:
                b = dec[s + HEADER_SIZE : s + HEADER_SIZE + 6]
                out.append(
                    StatusFrame(
                        *common,
                        battery_pct=b[0],
                        error_flags=b[2] | (b[3] << 8),
                        frames_dropped=b[4] | (b[5] << 8),
                    )
                )
        return out


class StreamDecoder:
    """Incremental decoder: bytes in any split, frames out, every fault counted.

    Parameters
    ----------
    strict : bool
        Raise `ProtocolError` at the first bad piece instead of counting it and resynchronising.
        For tools and tests; live readers keep the default.

    Examples
    --------
    >>> dec = StreamDecoder()
    >>> frames = dec.feed(chunk)          # doctest: +SKIP
    >>> dec.stats.lost_frames             # doctest: +SKIP
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.stats = DecoderStats()
        self._pending = b""
        self._overflow = False
        self._last: dict[DeviceKey, tuple[int, int, int]] = {}

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Decode the frames completed by ``data``.

        Parameters
        ----------
        data : bytes-like
            The next bytes of the stream.

        Returns
        -------
        list of frames
            In stream order.
        """
        return self.feed_table(data).to_frames()

    def flush_partial(self) -> list[Frame]:
        """End the current partial frame, e.g. after a disconnect (SPEC §4.2).

        Equivalent to feeding one 0x00: an unfinished frame is counted, never merged with the
        bytes that come after a reconnect.
        """
        return self.feed(b"\x00")

    def feed_table(self, data: bytes | bytearray | memoryview) -> FrameTable:
        """Like `feed`, but return the frames as columns (fast for large inputs).

        Parameters
        ----------
        data : bytes-like
            The next bytes of the stream.

        Returns
        -------
        FrameTable
            The frames completed by ``data``.
        """
        st = self.stats
        data = bytes(data)
        base = st.bytes_in - len(self._pending)
        st.bytes_in += len(data)
        in_overflow = self._overflow  # the run before `data` was already discarded as too long
        raw = self._pending + data if self._pending else data
        buf = np.frombuffer(raw, np.uint8)
        delims = np.flatnonzero(buf == 0)
        if len(delims) == 0:
            if in_overflow:
                st.discarded_bytes += len(raw)
            else:
                self._keep_tail(raw)
            return FrameTable.empty()
        starts = np.concatenate(([0], delims[:-1] + 1)).astype(np.int64)
        ends = delims.astype(np.int64)
        self._overflow = False
        self._keep_tail(raw[int(delims[-1]) + 1 :])
        lengths = ends - starts
        if in_overflow:
            # The first piece ends a run that was already discarded as too long.
            st.discarded_bytes += int(lengths[0])
            lengths[0] = 0
        usable = (lengths > 0) & (lengths <= MAX_ENCODED_SIZE)
        too_long = lengths > MAX_ENCODED_SIZE
        st.discarded_bytes += int(lengths[too_long].sum())
        if too_long.any():
            self._fail(
                "a run of more than 1100 bytes without 0x00", base + int(starts[too_long][0])
            )
        starts, ends = starts[usable], ends[usable]
        pieces, dstart, dlen, valid, crc_calc = decode_segments(
            buf, starts, ends, crc_min=MIN_FRAME_SIZE
        )
        if not valid.all():
            bad = ~valid
            st.cobs_errors += int(bad.sum())
            st.discarded_bytes += int((ends[bad] - starts[bad]).sum())
            self._fail("invalid COBS data", base + int(starts[bad][0]))
        starts, ends = starts[valid], ends[valid]
        # Length and CRC checks.
        short = dlen < MIN_FRAME_SIZE
        if short.any():
            st.short_frames += int(short.sum())
            st.discarded_bytes += int((ends[short] - starts[short]).sum())
            self._fail("frame shorter than 14 bytes", base + int(starts[short][0]))
        keep = ~short
        dstart, dlen, starts, ends = dstart[keep], dlen[keep], starts[keep], ends[keep]
        crc_calc = crc_calc[keep]
        dec_bytes = b"".join(p.data for p in pieces)
        decoded = np.frombuffer(dec_bytes, np.uint8)
        crc_sent = _u16(decoded, dstart + dlen - CRC_SIZE)
        crc_ok = crc_calc == crc_sent
        if not crc_ok.all():
            bad = ~crc_ok
            st.crc_errors += int(bad.sum())
            st.discarded_bytes += int((ends[bad] - starts[bad]).sum())
            self._fail("CRC mismatch", base + int(starts[bad][0]))
        dstart, dlen, starts, ends = dstart[crc_ok], dlen[crc_ok], starts[crc_ok], ends[crc_ok]
        version = decoded[dstart].astype(np.int64)
        ftype = decoded[dstart + 1].astype(np.int64)
        unsupported = version != PROTOCOL_VERSION
        if unsupported.any():
            st.unsupported_frames += int(unsupported.sum())
            st.discarded_bytes += int((ends[unsupported] - starts[unsupported]).sum())
            self._fail("unsupported protocol version", base + int(starts[unsupported][0]))
        unknown = ~unsupported & ~np.isin(ftype, (1, 2, 3))
        st.unknown_frames += int(unknown.sum())
        ok = ~unsupported & ~unknown
        # Type-specific lengths.
        flags = decoded[dstart + 2].astype(np.int64)
        is_s = ok & (ftype == FrameType.SAMPLES) & (dlen >= HEADER_SIZE + 4 + CRC_SIZE)
        is_i = ok & (ftype == FrameType.DEVICE_INFO) & (dlen >= HEADER_SIZE + 9 + CRC_SIZE)
        rate = np.zeros(len(dstart), np.int64)
        n_sens = np.zeros(len(dstart), np.int64)
        n_samp = np.zeros(len(dstart), np.int64)
        has_imu = np.zeros(len(dstart), bool)
        if is_s.any():
            at = dstart[is_s] + HEADER_SIZE
            rate[is_s] = _u16(decoded, at)
            n_sens[is_s] = decoded[at + 2]
            n_samp[is_s] = decoded[at + 3]
            has_imu[is_s] = (flags[is_s] & 0x02) != 0
        expected = np.full(len(dstart), -1, np.int64)
        expected[is_s] = (
            HEADER_SIZE
            + 4
            + 2 * n_samp[is_s] * n_sens[is_s]
            + 2 * IMU_CHANNELS * n_samp[is_s] * has_imu[is_s]
            + CRC_SIZE
        )
        if is_i.any():
            expected[is_i] = HEADER_SIZE + 9 + decoded[dstart[is_i] + HEADER_SIZE + 8] + CRC_SIZE
        expected[ok & (ftype == FrameType.STATUS)] = HEADER_SIZE + 6 + CRC_SIZE
        malformed = ok & (
            (expected != dlen) | (is_s & ((n_samp == 0) | (n_sens == 0) | (rate == 0)))
        )
        if malformed.any():
            st.malformed_frames += int(malformed.sum())
            st.discarded_bytes += int((ends[malformed] - starts[malformed]).sum())
            self._fail("frame length does not match its fields", base + int(starts[malformed][0]))
        ok &= ~malformed
        st.discarded_bytes += int((ends[unknown] - starts[unknown]).sum())
        dstart, ends = dstart[ok], ends[ok]
        table = FrameTable(
            frame_type=ftype[ok],
            device_id=_u16(decoded, dstart + 4),
            side=flags[ok] & 0x01,
            seq=_u16(decoded, dstart + 6),
            timestamp_us=_u32(decoded, dstart + 8),
            sample_rate_hz=rate[ok],
            n_sensors=n_sens[ok],
            n_samples=n_samp[ok],
            has_imu=has_imu[ok],
            lost_before=np.zeros(int(ok.sum()), np.int64),
            wire_end=base + ends + 1,
            decoded=dec_bytes,
            start=dstart,
        )
        table = self._account(table)
        st.frames += len(table)
        for ft, name in (
            (FrameType.SAMPLES, "samples_frames"),
            (FrameType.DEVICE_INFO, "device_info_frames"),
            (FrameType.STATUS, "status_frames"),
        ):
            setattr(st, name, getattr(st, name) + int((table.frame_type == ft).sum()))
        st.samples += int(table.n_samples.sum())
        return table

    def _keep_tail(self, tail: bytes) -> None:
        """Keep the unfinished piece after the last delimiter, discarding an over-long run."""
        if len(tail) > MAX_ENCODED_SIZE:
            self.stats.discarded_bytes += len(tail)
            self._overflow = True
            self._pending = b""
            self._fail("a run of more than 1100 bytes without 0x00", None)
        else:
            self._pending = tail

    def _fail(self, what: str, offset: int | None) -> None:
        if self.strict:
            where = f" at stream offset {offset}" if offset is not None else ""
            raise ProtocolError(f"{what}{where}", offset)

    def _account(self, table: FrameTable) -> FrameTable:
        """Count lost, duplicate and out-of-order frames per device from sequence numbers."""
        if len(table) == 0:
            return table
        keep = np.ones(len(table), bool)
        st = self.stats
        for key in table.devices():
            idx = np.flatnonzero((table.device_id == key[0]) & (table.side == int(key[1])))
            seq = table.seq[idx]
            ts = table.timestamp_us[idx]
            frame_us = np.where(
                table.sample_rate_hz[idx] > 0,
                table.n_samples[idx] * 1_000_000 // np.maximum(table.sample_rate_hz[idx], 1),
                0,
            )
            prev = self._last.get(key)
            if prev is None:
                prev_seq = np.concatenate(([seq[0] - 1], seq[:-1]))
                prev_ts = np.concatenate(([ts[0]], ts[:-1]))
                prev_fus = np.concatenate(([0], frame_us[:-1]))
            else:
                prev_seq = np.concatenate(([prev[0]], seq[:-1]))
                prev_ts = np.concatenate(([prev[1]], ts[:-1]))
                prev_fus = np.concatenate(([prev[2]], frame_us[:-1]))
            step = (seq - prev_seq) & 0xFFFF
            dup = step == 0
            back = step > 0x8000
            lost = np.where(dup | back, 0, step - 1)
            # A gap longer than the counter's period: the device clock tells how many wraps.
            dt_us = (ts - prev_ts) & 0xFFFFFFFF
            with np.errstate(divide="ignore", invalid="ignore"):
                by_time = np.where(prev_fus > 0, dt_us // np.maximum(prev_fus, 1) - 1, 0)
            wraps = np.where(by_time - lost > 0x8000, (by_time - lost + 0x8000) // 0x10000, 0)
            lost = lost + wraps * 0x10000
            # Duplicates repeat the last delivered frame; they are not delivered again.
            keep[idx[dup]] = False
            table.lost_before[idx] = lost
            n_lost = int(lost.sum())
            st.lost_frames += n_lost
            st.duplicate_frames += int(dup.sum())
            st.out_of_order_frames += int(back.sum())
            st.lost_by_device[key] = st.lost_by_device.get(key, 0) + n_lost
            self._last[key] = (int(seq[-1]), int(ts[-1]), int(frame_us[-1]))
        if keep.all():
            return table
        return table.select(keep)


def decode_frame(raw: bytes) -> Frame:
    """Decode one raw frame (header, body, CRC; not COBS-encoded), strictly.

    Parameters
    ----------
    raw : bytes
        The frame.

    Returns
    -------
    frame
        `SamplesFrame`, `DeviceInfoFrame` or `StatusFrame`.

    Raises
    ------
    ProtocolError
        If the frame is short, fails its CRC, has another version, an unknown type or a length
        that does not match its fields.
    """
    from .cobs import cobs_encode

    frames = StreamDecoder(strict=True).feed(cobs_encode(raw) + b"\x00")
    if len(frames) != 1:
        raise ProtocolError("frame of an unknown type", 1)
    return frames[0]
