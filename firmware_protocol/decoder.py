"""Incremental decoder for the insole byte stream (SPEC §2-3).

`StreamDecoder.feed` accepts bytes split anywhere and returns the frames completed by them. The
work is vectorised over every frame completed in one call, so feeding a one-hour recording at
once costs a fraction of a second, while feeding one BLE notification at a time costs tens of
microseconds. Either way the frames and the counters are identical: the decoder's only state is
the unfinished tail of the stream and, per device, the reference frame of the loss accounting
(its sequence number and timestamp) and the last frame period (SPEC §2.1).

Garbage never raises: it is counted and the decoder resynchronises on the next 0x00. A strict
mode raises `ProtocolError` instead, for tools and tests.

Large inputs (a recording) are decoded by a compiled kernel (`firmware_protocol.fast`, numba)
when numba is loaded: one pass cuts them at their delimiters, COBS-decodes the pieces, checks
their CRCs, reads and checks every frame's header and fields (counts against the ADC
resolution included) and counts what it refuses; only the loss accounting and the counters
stay in numpy, per call. ``StreamDecoder(fast=False)`` keeps the readable numpy reference
(`firmware_protocol.cobs`, `firmware_protocol.crc`) throughout, as does ``strict`` mode (its
errors name the first fault of each kind). All give the same frames and counters
(tests/test_fast_decoder.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields

import numpy as np

from . import fast as _fast
from .cobs import decode_segments
from .frames import (
    CRC_SIZE,
    HEADER_SIZE,
    IMU_CHANNELS,
    MAX_ADC_BITS,
    MAX_BATCH,
    MAX_FRAME_SIZE,
    MAX_NAME_BYTES,
    MAX_SAMPLE_RATE_HZ,
    MAX_SENSORS,
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
MAX_ENCODED_SIZE = _fast.MAX_ENCODED_SIZE

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
        Frames with a correct CRC that break the SPEC: a length that does not match their own
        fields, or a field outside its range (``out_of_range_frames``). Not delivered.
    out_of_range_frames : int
        The part of ``malformed_frames`` whose length matches but a field lies outside its SPEC
        range (§1.4): e.g. a sample rate of 0 or over 10000 Hz, 0 or over 128 sensors, over 32
        samples, an ADC resolution over 16 bits, a frame over 1024 bytes, or a count above the
        resolution of the device's last DEVICE_INFO.
    unsupported_frames : int
        Frames of another protocol version.
    unknown_frames : int
        Frames of an unknown type (skipped, allowed by SPEC §7).
    discarded_bytes : int
        Wire bytes (without delimiters) that did not give a valid frame.
    lost_frames : int
        Frames missing according to the sequence counters.
    duplicate_frames : int
        Frames repeating the newest sequence number of their device (not delivered twice).
    out_of_order_frames : int
        Late or replayed frames: at most `LATE_WINDOW` sequence numbers behind the newest frame
        of their device, with a clock that is not later (delivered, but the newest frame stays
        the reference for the frames after them; SPEC §2.1).
    restarts : int
        Frames at which a device's sequence counter started again (a reboot): the frames lost
        across a restart cannot be counted.
    clock_restarts : int
        Frames at which a device's clock restarted while its sequence counter went on
        (STATUS ``error_flags`` bit 4, or the clock went back): losses there are counted
        from the sequence numbers alone.
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
    out_of_range_frames: int = 0
    unsupported_frames: int = 0
    unknown_frames: int = 0
    discarded_bytes: int = 0
    lost_frames: int = 0
    duplicate_frames: int = 0
    out_of_order_frames: int = 0
    restarts: int = 0
    clock_restarts: int = 0
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


def _rows(dec: np.ndarray, width: int) -> np.ndarray:
    """Every ``width`` consecutive bytes of ``dec`` as one item (row ``i`` starts at ``i``).

    Indexing it with offsets copies each row with one memcpy (a sliding window of uint8
    copies byte by byte).
    """
    return np.ndarray(
        (len(dec) - width + 1,), np.dtype((np.void, width)), buffer=dec, strides=(1,)
    )


def _gather_u16(dec: np.ndarray, first: np.ndarray, n_values: np.ndarray) -> np.ndarray:
    """Concatenate ``n_values[i]`` little-endian u16 values starting at ``dec[first[i]]``."""
    if len(first) == 0:
        return np.zeros(0, np.uint16)
    out = []
    # Frames of equal size are gathered as rows (one memcpy per row).
    sizes, inverse = np.unique(n_values, return_inverse=True)
    if len(sizes) == 1:
        rows = _rows(dec, 2 * int(sizes[0]))[first]
        return rows.view("<u2").reshape(-1).astype(np.uint16, copy=False)
    for i, n in enumerate(sizes.tolist()):
        sel = np.flatnonzero(inverse == i)
        out.append((sel, _rows(dec, 2 * n)[first[sel]].view("<u2").reshape(len(sel), -1)))
    total = int(n_values.sum())
    result = np.empty(total, np.uint16)
    offs = np.cumsum(n_values) - n_values
    for sel, rows in out:
        n = rows.shape[1]
        result[(offs[sel][:, None] + np.arange(n)[None, :]).reshape(-1)] = rows.reshape(-1)
    return result


#: Fewest pieces for the compiled kernel (`StreamDecoder` ``fast``): below it (a BLE
#: notification, a serial read) the reference code costs as little.
_FAST_MIN = 16

#: Largest piece of input decoded in one pass [bytes] (`StreamDecoder.feed_table`): 4 MiB keeps
#: the decoder's temporary arrays (a few bytes per input byte) to tens of MB for any input.
FEED_SLICE_BYTES = 4 * 1024 * 1024


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

    @classmethod
    def concat(cls, parts: list[FrameTable]) -> FrameTable:
        """The frames of several consecutive tables (decoder calls) as one table."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        shifts = np.cumsum([0] + [len(p.decoded) for p in parts[:-1]])
        cols = {}
        for f in fields(cls):
            if f.name == "decoded":
                continue
            arrays = [getattr(p, f.name) for p in parts]
            if f.name == "start":
                arrays = [a + int(k) for a, k in zip(arrays, shifts, strict=True)]
            cols[f.name] = np.concatenate(arrays)
        return cls(decoded=b"".join(p.decoded for p in parts), **cols)

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
        first = self.counts_offset(sel)
        counts = _gather_u16(dec, first, per_frame).reshape(-1, n_sensors)
        frame_index = np.repeat(sel, n_samp)
        imu = None
        if len(sel) and self.has_imu[sel].all():
            imu = _gather_u16(dec, first + 2 * per_frame, n_samp * IMU_CHANNELS)
            imu = imu.view(np.int16).reshape(-1, IMU_CHANNELS)
        return counts, frame_index, imu

    def counts_offset(self, rows: np.ndarray) -> np.ndarray:
        """Offset in ``decoded`` of the first count of each SAMPLES frame ``rows`` [bytes].

        Each frame's counts follow there: ``n_samples · n_sensors`` little-endian u16 values,
        sample by sample (what `samples` gathers).
        """
        return self.start[rows] + HEADER_SIZE + 4

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
    fast : bool, optional
        Decode large inputs with the compiled kernel of `firmware_protocol.fast` (one pass
        from the bytes to the checked frames; ``strict`` mode keeps the reference path for its
        errors). True: whenever numba is installed. None (default): when numba
        is installed *and already loaded* in the process (as it is once insole's contact
        detector runs): loading numba and its LLVM costs about 130 MB of memory and 0.4 s, more
        than the kernel saves in a process that only decodes (``insole info``, a recorder, a
        tool reading garbage). False uses the reference code (`firmware_protocol.cobs`,
        `firmware_protocol.crc`) throughout. All give the same frames and counters.

    Examples
    --------
    >>> dec = StreamDecoder()
    >>> frames = dec.feed(chunk)          # doctest: +SKIP
    >>> dec.stats.lost_frames             # doctest: +SKIP
    """

    def __init__(self, *, strict: bool = False, fast: bool | None = None) -> None:
        self.strict = strict
        self.fast = _fast.AVAILABLE if fast is None else bool(fast) and _fast.AVAILABLE
        self._fast_if_loaded = fast is None
        self.stats = DecoderStats()
        self._pending = b""
        self._overflow = False
        # Per device: reference seq and timestamp, n_samples and rate of the last SAMPLES.
        self._last: dict[DeviceKey, tuple[int, int, int, int]] = {}
        # Per device (``device_id * 2 + side``): adc_bits of its last valid DEVICE_INFO.
        self._adc_bits: dict[int, int] = {}
        # The same for every device key, for the compiled kernel (allocated at its first use).
        self._bits: np.ndarray | None = None

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

        Inputs larger than `FEED_SLICE_BYTES` are decoded slice by slice, so that memory stays
        bounded for any input (tens of MB of garbage in one call); the frames and counters are
        the same as for one call, as for any split of the stream.

        Parameters
        ----------
        data : bytes-like
            The next bytes of the stream.

        Returns
        -------
        FrameTable
            The frames completed by ``data``.
        """
        if len(data) <= FEED_SLICE_BYTES:
            return self._feed_table(data)
        view = memoryview(data).cast("B")
        return FrameTable.concat(
            [
                self._feed_table(view[i : i + FEED_SLICE_BYTES])
                for i in range(0, len(view), FEED_SLICE_BYTES)
            ]
        )

    def _feed_table(self, data: bytes | bytearray | memoryview) -> FrameTable:
        st = self.stats
        data = bytes(data)
        if self._fused(data):
            return self._feed_fused(data)
        base = st.bytes_in - len(self._pending)
        st.bytes_in += len(data)
        in_overflow = self._overflow  # the run before `data` was already discarded as too long
        raw = self._pending + data if self._pending else data
        buf = np.frombuffer(raw, np.uint8)
        pieces = self._split(raw, buf, base, in_overflow)
        if pieces is None:
            return FrameTable.empty()
        starts, ends, dstart, dlen, crc_calc, dec_bytes = pieces
        # Length and CRC checks.
        short = dlen < MIN_FRAME_SIZE
        if short.any():
            st.short_frames += int(short.sum())
            st.discarded_bytes += int((ends[short] - starts[short]).sum())
            self._fail("frame shorter than 14 bytes", base + int(starts[short][0]))
        keep = ~short
        dstart, dlen, starts, ends = dstart[keep], dlen[keep], starts[keep], ends[keep]
        crc_calc = crc_calc[keep]
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
        malformed = ok & (expected != dlen)
        if malformed.any():
            st.malformed_frames += int(malformed.sum())
            st.discarded_bytes += int((ends[malformed] - starts[malformed]).sum())
            self._fail("frame length does not match its fields", base + int(starts[malformed][0]))
        ok &= ~malformed
        st.discarded_bytes += int((ends[unknown] - starts[unknown]).sum())
        # Field ranges (SPEC §1.4), then counts against the device's ADC resolution.
        out_of_range = _out_of_range(decoded, dstart, dlen, ok, ftype, rate, n_sens, n_samp)
        ok &= ~out_of_range
        device_key = _u16(decoded, dstart + 4) * 2 + (flags & 0x01)
        over, limit = self._over_resolution(
            dec_bytes, dstart, ok, ftype, device_key, n_sens * n_samp
        )
        if over.any():
            out_of_range[over] = True
            ok &= ~over
        if out_of_range.any():
            n_bad = int(out_of_range.sum())
            st.malformed_frames += n_bad
            st.out_of_range_frames += n_bad
            st.discarded_bytes += int((ends[out_of_range] - starts[out_of_range]).sum())
            if self.strict:
                first = int(np.flatnonzero(out_of_range)[0])
                lim = int(limit[first]) if over[first] else 0xFFFF
                what = _range_message(decoded, int(dstart[first]), int(dlen[first]), lim)
                self._fail(what, base + int(starts[first]))
        # Frames of an unknown type are skipped, but their `seq` counts (SPEC §2, §7): they go
        # through the accounting, then are dropped (`_known`).
        ok |= unknown
        dstart, ends = dstart[ok], ends[ok]
        table = FrameTable(
            frame_type=ftype[ok],
            device_id=device_key[ok] >> 1,
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
        return self._count_delivered(_known(self._account(table)))

    def _count_delivered(self, table: FrameTable) -> FrameTable:
        """Count the frames and samples delivered; return ``table``."""
        st = self.stats
        st.frames += len(table)
        for ft, name in (
            (FrameType.SAMPLES, "samples_frames"),
            (FrameType.DEVICE_INFO, "device_info_frames"),
            (FrameType.STATUS, "status_frames"),
        ):
            setattr(st, name, getattr(st, name) + int((table.frame_type == ft).sum()))
        st.samples += int(table.n_samples.sum())
        return table

    def _split(
        self, raw: bytes, buf: np.ndarray, base: int, in_overflow: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bytes] | None:
        """Cut ``raw`` at its delimiters and COBS-decode the pieces.

        Counts (and in strict mode raises for) the runs that are too long and the pieces that
        are not COBS, keeps the unfinished tail, and returns, per valid piece, its wire start
        and end, its decoded start and length, the CRC of its decoded bytes, and the decoded
        bytes; None when ``raw`` completes no piece.
        """
        st = self.stats
        delims = np.flatnonzero(buf == 0)
        if len(delims) == 0:
            if in_overflow:
                st.discarded_bytes += len(raw)
            else:
                self._keep_tail(raw)
            return None
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
        decode = _fast.decode_segments if self._compiled(len(starts)) else decode_segments
        pieces, dstart, dlen, valid, crc_calc = decode(buf, starts, ends, crc_min=MIN_FRAME_SIZE)
        if not valid.all():
            bad = ~valid
            st.cobs_errors += int(bad.sum())
            st.discarded_bytes += int((ends[bad] - starts[bad]).sum())
            self._fail("invalid COBS data", base + int(starts[bad][0]))
        starts, ends = starts[valid], ends[valid]
        return starts, ends, dstart, dlen, crc_calc, b"".join(p.data for p in pieces)

    def _fused(self, data: bytes) -> bool:
        """Whether ``data`` takes `fast.decode_frames` (not strict; `_FAST_MIN` delimiters)."""
        if self.strict or not self._compiled(_FAST_MIN):
            return False
        at = -1
        for _ in range(_FAST_MIN):
            at = data.find(0, at + 1)
            if at < 0:
                return False
        return True

    def _feed_fused(self, data: bytes) -> FrameTable:
        """`_feed_table` by the compiled kernel: every check of the reference path in one pass.

        The first piece (the unfinished tail of the previous call joined to the bytes up to
        the first 0x00 of ``data``) is cut here; the kernel decodes it and the pieces after it.
        """
        st = self.stats
        offset = st.bytes_in  # stream offset of data[0]
        st.bytes_in += len(data)
        z = data.find(0)
        head = b""
        if self._overflow:  # the first piece ends a run already discarded as too long
            st.discarded_bytes += z
        elif len(self._pending) + z > MAX_ENCODED_SIZE:
            st.discarded_bytes += len(self._pending) + z
        elif self._pending or z:
            head = self._pending + data[:z]
        self._overflow = False
        self._pending = b""
        if self._bits is None:
            self._bits = np.full(2 * 0x10000, MAX_ADC_BITS, np.uint8)
        for key, bits in self._adc_bits.items():
            self._bits[key] = bits
        cols, decoded, counters, tail = _fast.decode_frames(data, z + 1, offset, head, self._bits)
        self._keep_tail(data[tail:])
        for name, value in zip(_fast.FRAME_COUNTERS, counters.tolist(), strict=True):
            setattr(st, name, getattr(st, name) + value)
        ftype, key, seq, ts, rate, n_sens, n_samp, imu, wire_end, start, _ = cols
        for k in np.unique(key[ftype == FrameType.DEVICE_INFO]).tolist():
            self._adc_bits[k] = int(self._bits[k])
        table = FrameTable(
            frame_type=ftype,
            device_id=key >> 1,
            side=key & 1,
            seq=seq,
            timestamp_us=ts,
            sample_rate_hz=rate,
            n_sensors=n_sens,
            n_samples=n_samp,
            has_imu=imu != 0,
            lost_before=np.zeros(len(seq), np.int64),
            wire_end=wire_end,
            decoded=decoded,
            start=start,
        )
        return self._count_delivered(_known(self._account(table)))

    def _compiled(self, n_items: int) -> bool:
        """Whether ``n_items`` pieces or frames take the compiled kernels (`fast`)."""
        return (
            self.fast
            and n_items >= _FAST_MIN
            and (not self._fast_if_loaded or "numba" in sys.modules)
        )

    def _over_resolution(
        self,
        dec_bytes: bytes,
        dstart: np.ndarray,
        ok: np.ndarray,
        ftype: np.ndarray,
        device_key: np.ndarray,
        n_counts: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """SAMPLES frames with a count above their device's ADC resolution (SPEC §1.4).

        The resolution in force for a frame is ``adc_bits`` of the last DEVICE_INFO of its
        device before it in the stream (among the frames ``ok``, over all calls); before the
        first one counts are not checked. Updates the per-device resolution.

        Parameters
        ----------
        dec_bytes : bytes
            Decoded frame bytes.
        dstart : ndarray of int64
            Offset of each frame in ``dec_bytes``.
        ok : ndarray of bool
            Frames that passed every other check.
        ftype : ndarray of int64
            Frame types.
        device_key : ndarray of int64
            ``device_id * 2 + side`` of each frame.
        n_counts : ndarray of int64
            Counts in each SAMPLES frame (``n_samples * n_sensors``).

        Returns
        -------
        over : ndarray of bool
            Frames with a count above ``2**adc_bits - 1``.
        limit : ndarray of int64
            Largest count allowed in each frame where ``over`` (empty when no frame is over).
        """
        n = len(dstart)
        over = np.zeros(n, bool)
        is_info = ok & (ftype == FrameType.DEVICE_INFO)
        has_info = bool(is_info.any())
        known = {k: (1 << b) - 1 for k, b in self._adc_bits.items() if b < MAX_ADC_BITS}
        if not has_info and not known:
            return over, np.zeros(0, np.int64)  # no resolution below 16 bits known: no check
        sel = np.flatnonzero(ok & (ftype == FrameType.SAMPLES))
        limit: int | np.ndarray
        if not has_info:
            # The common case: the resolutions known from earlier calls hold throughout.
            keys = device_key[sel]
            key0 = int(keys[0]) if len(sel) else -1
            if len(known) == 1 and key0 in known and keys.min() == keys.max():
                limit = known[key0]
            else:
                limit = np.full(len(sel), 0xFFFF, np.int64)
                for key, lim in known.items():
                    limit[keys == key] = lim
        else:
            limit = self._limits_with_info(dec_bytes, dstart, ok, is_info, device_key)[sel]
        if isinstance(limit, np.ndarray):
            check = limit < 0xFFFF
            if not check.all():
                sel, limit = sel[check], limit[check]
        if len(sel):
            first = dstart[sel] + HEADER_SIZE + 4
            over_sel = _max_counts(dec_bytes, first, n_counts[sel], limit)
            if over_sel.any():
                over[sel[over_sel]] = True
                limits = np.full(n, 0xFFFF, np.int64)
                limits[sel] = limit
                return over, limits
        return over, np.zeros(0, np.int64)

    def _limits_with_info(
        self,
        dec_bytes: bytes,
        dstart: np.ndarray,
        ok: np.ndarray,
        is_info: np.ndarray,
        device_key: np.ndarray,
    ) -> np.ndarray:
        """Largest count allowed in each frame, for a call that holds DEVICE_INFO frames.

        Sets each device's resolution to that of its last DEVICE_INFO (see
        `_over_resolution`).
        """
        limit = np.full(len(dstart), 0xFFFF, np.int64)
        decoded = np.frombuffer(dec_bytes, np.uint8)
        idx = np.flatnonzero(ok)
        keys = device_key[idx]
        info = is_info[idx]
        bits_at = np.zeros(len(idx), np.int64)
        bits_at[info] = decoded[dstart[idx[info]] + HEADER_SIZE + 5]
        one = len(keys) and keys.min() == keys.max()
        for key in [int(keys[0])] if one else np.unique(keys).tolist():
            at = np.arange(len(keys)) if one else np.flatnonzero(keys == key)
            state = self._adc_bits.get(key, MAX_ADC_BITS)
            last = np.maximum.accumulate(np.where(info[at], np.arange(len(at)), -1))
            dev_bits = np.where(last >= 0, bits_at[at][last], state)
            limit[idx[at]] = (1 << dev_bits) - 1
            self._adc_bits[key] = int(dev_bits[-1])
        return limit

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
        """Count lost, duplicate, out-of-order and restarted frames per device (SPEC §2.1).

        Every frame is compared with its device's reference, the newest frame delivered in
        sequence. The common case (the sequence number advances by as many frames as the
        device clock allows, and no counter wrap fits) is decided for all frames at once with
        numpy, each frame against the frame before it. The other frames, and the frame after
        any frame that did not become the reference, are decided one by one by `_classify`.
        """
        if len(table) == 0:
            return table
        keep = np.ones(len(table), bool)
        st = self.stats
        devices = table.devices()
        for key in devices:
            if len(devices) == 1:
                idx = np.arange(len(table))
                seq, ts = table.seq, table.timestamp_us
                ftype, f_n, f_rate = table.frame_type, table.n_samples, table.sample_rate_hz
            else:
                idx = np.flatnonzero((table.device_id == key[0]) & (table.side == int(key[1])))
                seq, ts = table.seq[idx], table.timestamp_us[idx]
                ftype = table.frame_type[idx]
                f_n, f_rate = table.n_samples[idx], table.sample_rate_hz[idx]
            state = self._last.get(key)
            ref_seq, ref_ts, per_n0, per_rate0 = state if state is not None else (0, 0, 0, 0)
            k = (np.diff(seq, prepend=ref_seq) & 0xFFFF) - 1
            dt = np.diff(ts, prepend=ref_ts) & 0xFFFFFFFF
            s_idx = np.flatnonzero(ftype == FrameType.SAMPLES)
            lo, hi = _window_arrays(dt, f_n, f_rate, s_idx, (per_n0, per_rate0))
            # Continuous stream: k frames lost, as many as the clock allows, and no wrap fits.
            regular = (k >= 0) & (k >= lo) & (k <= hi) & (k + 0x10000 > hi)
            if state is None:
                regular[0] = False
            lost = np.where(regular, k, 0)
            counts = {"dup": 0, "late": 0, "restart": 0, "clock": 0}
            if regular.all():
                ref_seq, ref_ts = int(seq[-1]), int(ts[-1])
            else:
                ref = None if state is None else (ref_seq, ref_ts)
                cols = (seq, ts, ftype, f_n, f_rate)
                flags = self._status_flags(table, idx, ftype)
                (ref_seq, ref_ts), keep_dev = _classify_irregular(
                    cols, s_idx, flags, regular, lost, counts, ref, (per_n0, per_rate0)
                )
                keep[idx[~keep_dev]] = False
            if len(s_idx):
                per_n0, per_rate0 = int(f_n[s_idx[-1]]), int(f_rate[s_idx[-1]])
            table.lost_before[idx] = lost
            n_lost = int(lost.sum())
            st.lost_frames += n_lost
            st.duplicate_frames += counts["dup"]
            st.out_of_order_frames += counts["late"]
            st.restarts += counts["restart"]
            st.clock_restarts += counts["clock"]
            st.lost_by_device[key] = st.lost_by_device.get(key, 0) + n_lost
            self._last[key] = (ref_seq, ref_ts, per_n0, per_rate0)
        if keep.all():
            return table
        return table.select(keep)

    @staticmethod
    def _status_flags(table: FrameTable, idx: np.ndarray, ftype: np.ndarray) -> np.ndarray:
        """STATUS ``error_flags`` of the frames ``idx`` (0 for other frame types)."""
        flags = np.zeros(len(idx), np.int64)
        sel = np.flatnonzero(ftype == FrameType.STATUS)
        if len(sel):
            dec = np.frombuffer(table.decoded, np.uint8)
            flags[sel] = _u16(dec, table.start[idx[sel]] + HEADER_SIZE + 2)
        return flags


def _known(table: FrameTable) -> FrameTable:
    """``table`` without the frames of unknown types (kept only for the `seq` accounting)."""
    known = (table.frame_type >= FrameType.SAMPLES) & (table.frame_type <= FrameType.STATUS)
    return table if known.all() else table.select(known)


#: Checks of `_out_of_range`: frame type, field, offset in the body, size [bytes], lo, hi.
_RANGES = (
    (FrameType.SAMPLES, "sample_rate_hz", 0, 2, 1, MAX_SAMPLE_RATE_HZ),
    (FrameType.SAMPLES, "n_sensors", 2, 1, 1, MAX_SENSORS),
    (FrameType.SAMPLES, "n_samples", 3, 1, 1, MAX_BATCH),
    (FrameType.DEVICE_INFO, "n_sensors", 4, 1, 1, MAX_SENSORS),
    (FrameType.DEVICE_INFO, "adc_bits", 5, 1, 1, MAX_ADC_BITS),
    (FrameType.DEVICE_INFO, "sample_rate_hz", 6, 2, 1, MAX_SAMPLE_RATE_HZ),
    (FrameType.DEVICE_INFO, "name_len", 8, 1, 0, MAX_NAME_BYTES),
)


def _out_of_range(
    decoded: np.ndarray,
    dstart: np.ndarray,
    dlen: np.ndarray,
    ok: np.ndarray,
    ftype: np.ndarray,
    rate: np.ndarray,
    n_sens: np.ndarray,
    n_samp: np.ndarray,
) -> np.ndarray:
    """Frames ``ok`` with a field outside its SPEC range (§1.4), counts aside.

    Parameters
    ----------
    decoded : ndarray of uint8
        Decoded frame bytes.
    dstart, dlen : ndarray of int64
        Offset and length of each frame in ``decoded``.
    ok : ndarray of bool
        Frames to check (of a known type, with a length that matches their fields).
    ftype : ndarray of int64
        Frame types.
    rate, n_sens, n_samp : ndarray of int64
        SAMPLES ``sample_rate_hz``, ``n_sensors`` and ``n_samples`` (read already).

    Returns
    -------
    ndarray of bool
        The frames to refuse.
    """
    bad = ok & (dlen > MAX_FRAME_SIZE)
    is_s = ok & (ftype == FrameType.SAMPLES)
    bad |= is_s & (
        (rate < 1) | (rate > MAX_SAMPLE_RATE_HZ) | (n_sens < 1) | (n_sens > MAX_SENSORS)
        | (n_samp < 1) | (n_samp > MAX_BATCH)
    )
    is_i = np.flatnonzero(ok & (ftype == FrameType.DEVICE_INFO))
    if len(is_i):
        body = dstart[is_i] + HEADER_SIZE
        bad_i = np.zeros(len(is_i), bool)
        for frame_type, _, offset, size, lo, hi in _RANGES:
            if frame_type == FrameType.DEVICE_INFO:
                value = decoded[body + offset] if size == 1 else _u16(decoded, body + offset)
                bad_i |= (value < lo) | (value > hi)
        bad[is_i] |= bad_i
    return bad


def _range_message(decoded: np.ndarray, start: int, length: int, limit: int) -> str:
    """One line naming the first field of a frame outside its range (for strict mode).

    Parameters
    ----------
    decoded : ndarray of uint8
        Decoded frame bytes.
    start, length : int
        The frame's offset in ``decoded`` and its length.
    limit : int
        Largest count its device's ADC resolution allows.

    Returns
    -------
    str
        E.g. ``"SAMPLES sample_rate_hz 60000 outside 1..10000"``.
    """
    frame_type = FrameType(int(decoded[start + 1]))
    body = start + HEADER_SIZE
    for ft, name, offset, size, lo, hi in _RANGES:
        if ft == frame_type:
            value = int(decoded[body + offset])
            if size == 2:
                value |= int(decoded[body + offset + 1]) << 8
            if not lo <= value <= hi:
                return f"{frame_type.name} {name} {value} outside {lo}..{hi}"
    if length > MAX_FRAME_SIZE:
        return f"{frame_type.name} frame length {length} outside {MIN_FRAME_SIZE}..{MAX_FRAME_SIZE}"
    n = int(decoded[body + 2]) * int(decoded[body + 3])
    counts = decoded[body + 4 : body + 4 + 2 * n].copy().view("<u2")
    bits = int(limit).bit_length()
    return (
        f"SAMPLES count {int(counts.max())} outside 0..{limit} "
        f"(adc_bits {bits} of the device's DEVICE_INFO)"
    )


#: Equal-spaced runs of SAMPLES frames per frame checked beyond which `_max_counts` takes
#: one `np.maximum.reduceat` instead of a view per run.
_RUNS_PER_FRAME = 1 / 16


def _max_counts(
    dec_bytes: bytes, first: np.ndarray, n_counts: np.ndarray, limit: int | np.ndarray
) -> np.ndarray:
    """Whether any of ``n_counts[i]`` u16 counts from ``first[i]`` exceeds ``limit[i]``.

    Frames one after another in the stream are usually equally spaced in the decoded bytes
    and of one size: each such run is read as one 2-D view (no copy), and only a run whose
    maximum exceeds its limit is looked at frame by frame. Irregular inputs (many short runs)
    take one `np.maximum.reduceat` per byte parity instead.

    Parameters
    ----------
    dec_bytes : bytes
        Decoded frame bytes.
    first : ndarray of int64
        Offset of the first count of each frame, increasing.
    n_counts : ndarray of int64
        Counts per frame (at least 1).
    limit : int or ndarray of int64
        Largest count allowed in each frame (or in all).

    Returns
    -------
    ndarray of bool
        Frames with a count above their limit.
    """
    n = len(first)
    over = np.zeros(n, bool)
    # A run starts where the spacing, the size or the limit changes.
    new = np.zeros(n, bool)
    new[0] = True
    if n > 2:
        new[2:] = np.diff(first, 2) != 0
    if isinstance(limit, np.ndarray) and n > 1 and limit.min() != limit.max():
        new[1:] |= limit[1:] != limit[:-1]
    if n > 1 and n_counts.min() != n_counts.max():
        new[1:] |= n_counts[1:] != n_counts[:-1]
    limit = np.broadcast_to(limit, (n,))
    run_start = np.flatnonzero(new)
    parity = {p: np.frombuffer(dec_bytes, "<u2", (len(dec_bytes) - p) // 2, p) for p in (0, 1)}
    if len(run_start) > 8 + n * _RUNS_PER_FRAME:
        for p, words in parity.items():
            sel = np.flatnonzero((first & 1) == p)
            if len(sel) == 0:
                continue
            bounds = np.empty(2 * len(sel), np.int64)
            bounds[0::2] = (first[sel] - p) // 2
            bounds[1::2] = bounds[0::2] + n_counts[sel]
            # Segments alternate between a frame's counts and the bytes up to the next frame's
            # (a CRC always follows the counts, so every bound is inside ``words``).
            over[sel] = np.maximum.reduceat(words, bounds)[0::2] > limit[sel]
        return over
    run_end = np.append(run_start[1:], n)
    for a, b in zip(run_start.tolist(), run_end.tolist(), strict=True):
        at = int(first[a])
        words = parity[at & 1]
        # An odd spacing makes the rows after the first unaligned, which numpy reads right.
        step = int(first[a + 1]) - at if b - a > 1 else 0
        rows = np.lib.stride_tricks.as_strided(
            words[at // 2 :], shape=(b - a, int(n_counts[a])), strides=(step, 2), writeable=False
        )
        if rows.max() > limit[a]:
            over[a:b] = rows.max(axis=1) > limit[a]
    return over


#: Frame periods a gap may differ from its sequence count by, as a fraction (1/100) and a
#: constant: STATUS and DEVICE_INFO frames take sequence numbers but no sample time, and
#: STATUS frames are stamped at sending, not at a sample (SPEC §2.1).
_TOLERANCE_DIVISOR = 100
_TOLERANCE_FRAMES = 2
#: A frame at most this many sequence numbers behind the reference (and whose clock is not
#: later) is a late or replayed frame; further behind, the device restarted (SPEC §2.1).
LATE_WINDOW = 256
#: STATUS ``error_flags`` bit 4, the device clock restarted (SPEC §1.3).
_CLOCK_RESTARTED = 0x0010

Period = tuple[int, int]


def _window_arrays(
    dt_us: np.ndarray, f_n: np.ndarray, f_rate: np.ndarray, s_idx: np.ndarray, period: Period
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `_window` for consecutive frames of one device.

    Parameters
    ----------
    dt_us : ndarray of int64
        Device time from the previous frame (the reference for the first) [µs].
    f_n, f_rate : ndarray of int64
        ``n_samples`` and ``sample_rate_hz`` of each frame (0 for other types).
    s_idx : ndarray of int64
        Positions of the SAMPLES frames.
    period : tuple of int
        ``(n_samples, sample_rate_hz)`` in force before the first frame (``(0, 0)``: unknown).

    Returns
    -------
    lo, hi : ndarray of int64
        Bounds on the frames lost before each frame if the device streamed throughout;
        ``lo > hi`` where no frame period is known.
    """
    n_frames = len(dt_us)
    if len(s_idx):
        n0, r0 = int(f_n[s_idx[0]]), int(f_rate[s_idx[0]])
        uniform = (f_n[s_idx] == n0).all() and (f_rate[s_idx] == r0).all()
        uniform = uniform and period in ((0, 0), (n0, r0))
    else:
        n0, r0 = period
        uniform = True
    if uniform:
        # One frame period throughout (the common case): one division per frame.
        lo, hi = _bounds(dt_us * r0 // max(n0 * 1_000_000, 1))
        if period == (0, 0):  # nothing known before the device's first SAMPLES frame
            first = int(s_idx[0]) if len(s_idx) else n_frames
            lo[:first] = 1
            hi[:first] = 0
        return lo, hi
    # The period in force before each frame is that of the last SAMPLES frame before it; the
    # gap is bounded with that period and, for a SAMPLES frame, with its own.
    is_s = np.zeros(n_frames, bool)
    is_s[s_idx] = True
    last = np.maximum.accumulate(np.where(is_s, np.arange(n_frames), -1))
    before = np.concatenate(([-1], last[:-1]))
    per_n = np.where(before >= 0, f_n[before], period[0])
    per_rate = np.where(before >= 0, f_rate[before], period[1])
    known_ref = per_n > 0
    p_ref = dt_us * per_rate // np.maximum(per_n * 1_000_000, 1)
    p_cur = dt_us * f_rate // np.maximum(f_n * 1_000_000, 1)
    p_min = np.where(is_s & (~known_ref | (p_cur < p_ref)), p_cur, p_ref)
    p_max = np.where(is_s & (~known_ref | (p_cur > p_ref)), p_cur, p_ref)
    lo = _bounds(p_min)[0]
    hi = _bounds(p_max)[1]
    unknown = ~known_ref & ~is_s
    lo[unknown] = 1
    hi[unknown] = 0
    return lo, hi


def _bounds(periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``periods`` frame periods elapsed: the frames in between, ``lo .. hi``, as in `_window`."""
    tol = periods // _TOLERANCE_DIVISOR + _TOLERANCE_FRAMES
    return periods - tol, periods + tol


def _window(dt_us: int, ref_period: Period, cur_period: Period) -> tuple[int, int, int] | None:
    """Bounds on the frames emitted between two frames ``dt_us`` apart while streaming.

    Parameters
    ----------
    dt_us : int
        Device time between the two frames [µs], 0 .. 2**32 - 1.
    ref_period, cur_period : tuple of int
        ``(n_samples, sample_rate_hz)`` of the last SAMPLES frame before the gap and of the
        frame after it (``(0, 0)`` when unknown or not a SAMPLES frame).

    Returns
    -------
    tuple of int or None
        ``(lo, hi, mid)``: with ``P`` the frame periods elapsed (the fewest and the most of
        the two periods), the frames in between lie in ``P - P // 100 - 2 .. P + P // 100 + 2``
        when the device streamed throughout; ``mid`` is the best estimate, ``P - 1``. None
        when no frame period is known.
    """
    periods = [dt_us * r // (n * 1_000_000) for n, r in (ref_period, cur_period) if n > 0]
    if not periods:
        return None
    p_min, p_max = min(periods), max(periods)
    lo = p_min - p_min // _TOLERANCE_DIVISOR - _TOLERANCE_FRAMES
    hi = p_max + p_max // _TOLERANCE_DIVISOR + _TOLERANCE_FRAMES
    return lo, hi, (p_min + p_max) // 2 - 1


def _classify_irregular(
    cols: tuple[np.ndarray, ...],
    s_idx: np.ndarray,
    flags: np.ndarray,
    regular: np.ndarray,
    lost: np.ndarray,
    counts: dict[str, int],
    ref: tuple[int, int] | None,
    period: Period,
) -> tuple[tuple[int, int], np.ndarray]:
    """Decide, in order, the frames of one device that the vectorised test left open.

    Parameters
    ----------
    cols : tuple of ndarray
        ``seq, timestamp_us, frame_type, n_samples, sample_rate_hz`` of the device's frames.
    s_idx : ndarray
        Positions of its SAMPLES frames.
    flags : ndarray
        STATUS ``error_flags`` (0 for other frame types).
    regular : ndarray of bool
        Frames the vectorised test decided (against the frame before them).
    lost : ndarray of int64
        Frames lost before each frame; updated in place.
    counts : dict
        ``dup``, ``late``, ``restart`` and ``clock`` counts; incremented.
    ref : tuple of int or None
        ``(seq, timestamp_us)`` of the reference before the first frame.
    period : tuple of int
        ``(n_samples, sample_rate_hz)`` in force before the first frame.

    Returns
    -------
    ref : tuple of int
        The reference after the last frame.
    keep : ndarray of bool
        Frames delivered (duplicates are not).

    Notes
    -----
    Frames between two decided here are regular, so each became the reference in turn; a
    frame that does not become the reference (a duplicate, a late frame) sends the next one
    here too, to be compared with the reference rather than with it.
    """
    n = len(regular)
    keep = np.ones(n, bool)
    todo = np.flatnonzero(~regular).tolist()
    if 16 * len(todo) > n:  # many: convert once; few: read them one by one
        seq, ts, ftype, f_n, f_rate = (c.tolist() for c in cols)
    else:
        seq, ts, ftype, f_n, f_rate = cols
    todo.reverse()  # a stack, smallest index last
    done = -1  # last index decided here
    while todo:
        i = todo.pop()
        if done < i - 1:  # the frames in between were regular: i - 1 is the reference
            ref = (int(seq[i - 1]), int(ts[i - 1]))
        done = i
        at_s = int(np.searchsorted(s_idx, i)) - 1  # last SAMPLES frame before i
        per = (int(f_n[s_idx[at_s]]), int(f_rate[s_idx[at_s]])) if at_s >= 0 else period
        cur = (int(f_n[i]), int(f_rate[i])) if ftype[i] == FrameType.SAMPLES else (0, 0)
        kind, n_lost = _classify(ref, int(seq[i]), int(ts[i]), per, cur, int(flags[i]))
        lost[i] = n_lost
        if kind in ("dup", "late"):
            keep[i] = kind == "late"
            counts[kind] += 1
            if i + 1 < n and (not todo or todo[-1] != i + 1):
                todo.append(i + 1)  # compare the next frame with the reference
            continue
        if kind in ("restart", "clock"):
            counts[kind] += 1
        ref = (int(seq[i]), int(ts[i]))
    if done < n - 1:
        ref = (int(seq[-1]), int(ts[-1]))
    assert ref is not None
    return ref, keep


def _classify(
    ref: tuple[int, int] | None,
    seq: int,
    ts: int,
    ref_period: tuple[int, int],
    cur_period: tuple[int, int],
    error_flags: int = 0,
) -> tuple[str, int]:
    """Decide one frame against its device's reference (SPEC §2.1, the rules in order).

    Parameters
    ----------
    ref : tuple of int or None
        ``(seq, timestamp_us)`` of the newest delivered frame of the device; None before it.
    seq, ts : int
        The frame's sequence number and timestamp.
    ref_period, cur_period : tuple of int
        ``(n_samples, sample_rate_hz)`` of the last SAMPLES frame before this one and of this
        frame (``(0, 0)`` when unknown or not a SAMPLES frame).
    error_flags : int
        STATUS ``error_flags`` (0 for other frame types).

    Returns
    -------
    kind : str
        ``"first"``, ``"normal"`` (also a long gap or a pause), ``"dup"`` (not delivered),
        ``"late"`` (delivered; for both the reference stays), ``"restart"`` (the device
        restarted its sequence counter) or ``"clock"`` (its clock restarted, the sequence
        went on).
    lost : int
        Frames lost just before this one.
    """
    if ref is None:
        return "first", 0
    step = (seq - ref[0]) & 0xFFFF
    k = step - 1
    dt = (ts - ref[1]) & 0xFFFFFFFF
    win = _window(dt, ref_period, cur_period)
    # 1. Continuous stream: k + 65536·m frames lost for the m that the clock allows.
    wraps: int | None = None
    if win is not None:
        lo, hi, mid = win
        m_lo = max(-((k - lo) // 0x10000), 0 if k >= 0 else 1)
        m_hi = (hi - k) // 0x10000
        if m_lo <= m_hi:
            wraps = min(max((mid - k + 0x8000) // 0x10000, m_lo), m_hi)
            if wraps == 0:
                return "normal", k
    restart_flag = bool(error_flags & _CLOCK_RESTARTED)
    back = dt >= 0x80000000  # the clock went back (or a gap over 35.8 min)
    behind = step > 0x8000
    # A device that restarted both its sequence counter and its clock (at 0).
    fresh_win = _window(ts, ref_period, cur_period)
    fresh = ts < ref[1] and fresh_win is not None and seq <= fresh_win[1]
    if not restart_flag:
        # 2. Duplicate: the newest frame again.
        if step == 0 and not (wraps and not back):
            return "dup", 0
        # 3. Late or replayed: a little behind, and the clock went back by as much.
        if (back or dt == 0) and behind and 0x10000 - step <= LATE_WINDOW:
            back_win = _window((ref[1] - ts) & 0xFFFFFFFF, ref_period, cur_period)
            if back_win is None or back_win[0] <= 0x10000 - step:
                return "late", 0
        # 4. A gap longer than the counter's period (over 35.8 min if the clock looks back).
        if wraps and not (back and fresh):
            return "normal", k + wraps * 0x10000
    # 5. Restart: the sequence counter started again (with the clock, or went back).
    if fresh or behind or step == 0:
        if back or restart_flag or fresh or win is None or k > win[1]:
            return "restart", 0
    # 6. The clock restarted while the sequence went on: only the sequence counts.
    if back or restart_flag:
        return "clock", max(k, 0)
    # 7. Paused (STOP/START), or the sequence ran ahead of the clock: the sequence counts.
    return "normal", k


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
