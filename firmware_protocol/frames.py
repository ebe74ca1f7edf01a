"""Frame types of wire protocol version 1 and their encoder (see ``SPEC.md`` beside this file)."""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from .cobs import cobs_encode, cobs_encode_many

__all__ = [
    "HEADER_SIZE",
    "MAX_FRAME_SIZE",
    "MIN_FRAME_SIZE",
    "PROTOCOL_VERSION",
    "DeviceInfoFrame",
    "ErrorFlag",
    "Frame",
    "FrameType",
    "ProtocolError",
    "SamplesFrame",
    "Side",
    "StatusFrame",
    "crc16",
    "encode_frame",
    "encode_samples_frames",
    "to_wire",
]

PROTOCOL_VERSION = 1
HEADER_SIZE = 12
CRC_SIZE = 2
MIN_FRAME_SIZE = HEADER_SIZE + CRC_SIZE
MAX_FRAME_SIZE = 1024
MAX_SENSORS = 128
MAX_BATCH = 32
MAX_NAME_BYTES = 24
#: Sample rates a frame may carry [Hz] (SPEC §1.1, §1.4); the lowest is 1 Hz.
MAX_SAMPLE_RATE_HZ = 10000
#: Largest ADC resolution a DEVICE_INFO may declare [bits]; counts are u16 (SPEC §1.2).
MAX_ADC_BITS = 16
IMU_CHANNELS = 6

_HEADER = struct.Struct("<BBBBHHI")


class ProtocolError(ValueError):
    """A frame or byte stream that breaks the wire protocol.

    Parameters
    ----------
    message : str
        What is wrong.
    offset : int or None
        Byte offset of the problem in the data given, when known.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class FrameType(IntEnum):
    """Frame type byte (SPEC §1)."""

    SAMPLES = 0x01
    DEVICE_INFO = 0x02
    STATUS = 0x03


class Side(IntEnum):
    """Which foot an insole is under (flags bit 0)."""

    LEFT = 0
    RIGHT = 1

    @property
    def label(self) -> str:
        """Lower-case name, as used in recordings and summaries."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | int) -> Side:
        """Read a side from ``"left"``/``"right"``/``"l"``/``"r"`` or 0/1.

        Raises
        ------
        ValueError
            For anything else.
        """
        if isinstance(value, str):
            v = value.strip().lower()
            if v in ("left", "l"):
                return cls.LEFT
            if v in ("right", "r"):
                return cls.RIGHT
            raise ValueError(f"side must be 'left' or 'right', not {value!r}")
        return cls(int(value))


class ErrorFlag(IntEnum):
    """STATUS ``error_flags`` bits (SPEC §1.3)."""

    SATURATION = 1 << 0
    BUFFER_OVERFLOW = 1 << 1
    BATTERY_LOW = 1 << 2
    THROUGHPUT_LIMITED = 1 << 3
    CLOCK_RESTARTED = 1 << 4


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), the frame checksum.

    Parameters
    ----------
    data : bytes-like
        Bytes to check.

    Returns
    -------
    int
        The CRC; ``crc16(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True, eq=False)
class SamplesFrame:
    """A batch of pressure samples from one insole (frame type 0x01).

    Attributes
    ----------
    device_id, side, seq, timestamp_us
        Common header fields (SPEC §1).
    sample_rate_hz : int
        Sampling rate of this batch.
    counts : ndarray of uint16, shape (n_samples, n_sensors)
        Raw ADC readings.
    imu : ndarray of int16, shape (n_samples, 6), or None
        ax, ay, az [mg], gx, gy, gz [0.1 deg/s] when present.
    """

    device_id: int
    side: Side
    seq: int
    timestamp_us: int
    sample_rate_hz: int
    counts: np.ndarray
    imu: np.ndarray | None = None

    frame_type = FrameType.SAMPLES

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SamplesFrame):
            return NotImplemented
        return (
            (self.device_id, self.side, self.seq, self.timestamp_us, self.sample_rate_hz)
            == (other.device_id, other.side, other.seq, other.timestamp_us, other.sample_rate_hz)
            and np.array_equal(self.counts, other.counts)
            and (
                (self.imu is None and other.imu is None)
                or (
                    self.imu is not None
                    and other.imu is not None
                    and np.array_equal(self.imu, other.imu)
                )
            )
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def n_samples(self) -> int:
        """Number of samples in the batch."""
        return int(self.counts.shape[0])

    @property
    def n_sensors(self) -> int:
        """Number of pressure sensors."""
        return int(self.counts.shape[1])


@dataclass(frozen=True)
class DeviceInfoFrame:
    """Identity and configuration of an insole (frame type 0x02)."""

    device_id: int
    side: Side
    seq: int
    timestamp_us: int
    fw_version: tuple[int, int, int]
    hw_revision: int
    n_sensors: int
    adc_bits: int
    sample_rate_hz: int
    name: str

    frame_type = FrameType.DEVICE_INFO


@dataclass(frozen=True)
class StatusFrame:
    """Battery and error flags of an insole (frame type 0x03)."""

    device_id: int
    side: Side
    seq: int
    timestamp_us: int
    battery_pct: int
    error_flags: int
    frames_dropped: int

    frame_type = FrameType.STATUS

    def has(self, flag: ErrorFlag) -> bool:
        """Whether ``flag`` is set."""
        return bool(self.error_flags & flag)


Frame = SamplesFrame | DeviceInfoFrame | StatusFrame


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise ProtocolError(f"{name} must be in {lo}..{hi}, got {value}")


def _header(frame: Any, frame_type: FrameType, extra_flags: int = 0) -> bytes:
    _check_range("device_id", frame.device_id, 0, 0xFFFF)
    _check_range("seq", frame.seq, 0, 0xFFFF)
    _check_range("timestamp_us", frame.timestamp_us, 0, 0xFFFFFFFF)
    flags = int(Side(frame.side)) | extra_flags
    return _HEADER.pack(
        PROTOCOL_VERSION, frame_type, flags, 0, frame.device_id, frame.seq, frame.timestamp_us
    )


def encode_frame(frame: Frame) -> bytes:
    """Encode a frame to its raw bytes (header, body, CRC), before COBS.

    Parameters
    ----------
    frame : SamplesFrame, DeviceInfoFrame or StatusFrame
        The frame.

    Returns
    -------
    bytes
        The raw frame.

    Raises
    ------
    ProtocolError
        If a field is out of the range the protocol allows.
    """
    if isinstance(frame, SamplesFrame):
        counts = np.asarray(frame.counts)
        if counts.ndim != 2:
            raise ProtocolError("counts must have shape (n_samples, n_sensors)")
        n_samples, n_sensors = counts.shape
        _check_range("n_samples", n_samples, 1, MAX_BATCH)
        _check_range("n_sensors", n_sensors, 1, MAX_SENSORS)
        _check_range("sample_rate_hz", frame.sample_rate_hz, 1, MAX_SAMPLE_RATE_HZ)
        if counts.min() < 0 or counts.max() > 0xFFFF:
            raise ProtocolError("counts must be in 0..65535")
        body = struct.pack("<HBB", frame.sample_rate_hz, n_sensors, n_samples)
        body += counts.astype("<u2").tobytes()
        flags = 0
        if frame.imu is not None:
            imu = np.asarray(frame.imu)
            if imu.shape != (n_samples, IMU_CHANNELS):
                raise ProtocolError(f"imu must have shape ({n_samples}, {IMU_CHANNELS})")
            body += imu.astype("<i2").tobytes()
            flags = 0x02
        raw = _header(frame, FrameType.SAMPLES, flags) + body
    elif isinstance(frame, DeviceInfoFrame):
        name = frame.name.encode("utf-8")
        _check_range("name length in bytes", len(name), 0, MAX_NAME_BYTES)
        _check_range("n_sensors", frame.n_sensors, 1, MAX_SENSORS)
        _check_range("adc_bits", frame.adc_bits, 1, MAX_ADC_BITS)
        _check_range("sample_rate_hz", frame.sample_rate_hz, 1, MAX_SAMPLE_RATE_HZ)
        body = struct.pack(
            "<BBBBBBHB",
            *frame.fw_version,
            frame.hw_revision,
            frame.n_sensors,
            frame.adc_bits,
            frame.sample_rate_hz,
            len(name),
        )
        raw = _header(frame, FrameType.DEVICE_INFO) + body + name
    elif isinstance(frame, StatusFrame):
        body = struct.pack(
            "<BBHH", frame.battery_pct, 0, frame.error_flags, frame.frames_dropped & 0xFFFF
        )
        raw = _header(frame, FrameType.STATUS) + body
    else:
        raise TypeError(f"not a frame: {type(frame).__name__}")
    if len(raw) + CRC_SIZE > MAX_FRAME_SIZE:
        raise ProtocolError(f"frame of {len(raw) + CRC_SIZE} bytes exceeds {MAX_FRAME_SIZE}")
    return raw + struct.pack("<H", crc16(raw))


def to_wire(frame: Frame) -> bytes:
    """Encode a frame as it travels: COBS-encoded, followed by 0x00 (SPEC §3).

    Parameters
    ----------
    frame : SamplesFrame, DeviceInfoFrame or StatusFrame
        The frame.

    Returns
    -------
    bytes
        Wire bytes.
    """
    return cobs_encode(encode_frame(frame)) + b"\x00"


def encode_samples_frames(
    *,
    device_id: int,
    side: Side,
    seq: np.ndarray,
    timestamp_us: np.ndarray,
    sample_rate_hz: int,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Encode many SAMPLES frames of one device straight to wire bytes.

    The vectorised equivalent of ``to_wire(SamplesFrame(...))`` for each frame, for simulators
    and converters that produce hours of data.

    Parameters
    ----------
    device_id : int
        Device id.
    side : Side
        Foot.
    seq, timestamp_us : ndarray of int, shape (n_frames,)
        Sequence counter (taken mod 65536) and device time (mod 2**32) of each frame.
    sample_rate_hz : int
        Sampling rate.
    counts : ndarray, shape (n_frames, n_samples, n_sensors)
        Raw ADC counts.

    Returns
    -------
    wire : ndarray of uint8
        All frames' wire bytes, concatenated in order.
    wire_lengths : ndarray of int64
        Length of each frame's wire bytes.

    Raises
    ------
    ProtocolError
        If a field is out of the range the protocol allows (SPEC §1.4), as `encode_frame`.
    """
    counts = np.asarray(counts)
    n_frames, n_samples, n_sensors = counts.shape
    _check_range("n_samples", n_samples, 1, MAX_BATCH)
    _check_range("n_sensors", n_sensors, 1, MAX_SENSORS)
    _check_range("sample_rate_hz", sample_rate_hz, 1, MAX_SAMPLE_RATE_HZ)
    _check_range("device_id", device_id, 0, 0xFFFF)
    payload = 2 * n_samples * n_sensors
    size = HEADER_SIZE + 4 + payload
    _check_range("frame length in bytes", size + CRC_SIZE, MIN_FRAME_SIZE, MAX_FRAME_SIZE)
    dt = np.dtype(
        [
            ("version", "u1"),
            ("type", "u1"),
            ("flags", "u1"),
            ("reserved", "u1"),
            ("device_id", "<u2"),
            ("seq", "<u2"),
            ("timestamp_us", "<u4"),
            ("rate", "<u2"),
            ("n_sensors", "u1"),
            ("n_samples", "u1"),
            ("counts", "<u2", (n_samples * n_sensors,)),
            ("crc", "<u2"),
        ]
    )
    rec = np.zeros(n_frames, dt)
    rec["version"] = PROTOCOL_VERSION
    rec["type"] = FrameType.SAMPLES
    rec["flags"] = int(Side(side))
    rec["device_id"] = device_id
    rec["seq"] = np.asarray(seq, np.int64) & 0xFFFF
    rec["timestamp_us"] = np.asarray(timestamp_us, np.int64) & 0xFFFFFFFF
    rec["rate"] = sample_rate_hz
    rec["n_sensors"] = n_sensors
    rec["n_samples"] = n_samples
    rec["counts"] = counts.reshape(n_frames, -1)
    raw = rec.view(np.uint8).reshape(n_frames, size + CRC_SIZE)
    mv = memoryview(raw.tobytes())
    step = size + CRC_SIZE
    rec["crc"] = [binascii.crc_hqx(mv[i * step : i * step + size], 0xFFFF) for i in range(n_frames)]
    return cobs_encode_many(rec.view(np.uint8), np.full(n_frames, size + CRC_SIZE))
