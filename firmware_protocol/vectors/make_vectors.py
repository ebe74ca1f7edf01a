"""Build the golden test vectors of the insole wire protocol v1 (``vectors.json``).

The frames are laid out here by hand from ``firmware_protocol/SPEC.md`` with :mod:`struct`,
and COBS is a separate implementation in this file, so the vectors stay independent of the
Python codec (``firmware_protocol/__init__.py``) and of the C reference encoder
(``firmware_protocol/c/``), both of which are tested byte-for-byte against them.

Only the standard library is used. Run from anywhere::

    python firmware_protocol/vectors/make_vectors.py          # (re)write vectors.json
    python firmware_protocol/vectors/make_vectors.py --check  # exit 1 if it is out of date

Notes
-----
COBS (Cheshire & Baker 1999) has two variants in the wild for a frame whose last run of
non-zero bytes is exactly 254 bytes long (or a multiple of it): the paper's reference code
ends such a frame with an extra, empty ``0x01`` block; the shortest encoding (Wikipedia, the
``cobs`` PyPI package) does not. These vectors use the shortest encoding, and the
``cobs_run_254_at_end`` vector pins that choice. Decoders accept both.
"""

from __future__ import annotations

import binascii
import json
import struct
import sys
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1
OUT_PATH = Path(__file__).resolve().with_name("vectors.json")

FRAME_TYPES = {"SAMPLES": 0x01, "DEVICE_INFO": 0x02, "STATUS": 0x03}
SIDES = {"left": 0, "right": 1}
FLAG_RIGHT = 0x01
FLAG_IMU = 0x02

# version, frame_type, flags, reserved, device_id, seq, timestamp_us  (SPEC.md section 1)
HEADER = struct.Struct("<BBBBHHI")
# sample_rate_hz, n_sensors, n_samples  (section 1.1)
SAMPLES_HEAD = struct.Struct("<HBB")
# fw_major, fw_minor, fw_patch, hw_revision, n_sensors, adc_bits, sample_rate_hz, name_len (1.2)
DEVICE_INFO_HEAD = struct.Struct("<BBBBBBHB")
# battery_pct, reserved, error_flags, frames_dropped  (section 1.3)
STATUS_BODY = struct.Struct("<BBHH")
CRC = struct.Struct("<H")

MIN_FRAME_LEN = HEADER.size + CRC.size
MAX_FRAME_LEN = 1024


class SelfCheckError(RuntimeError):
    """A generated vector does not have the property it is meant to have."""


def _ensure(condition: bool, what: str) -> None:
    """Raise :class:`SelfCheckError` unless ``condition`` holds (unlike assert, also with -O)."""
    if not condition:
        raise SelfCheckError(f"self-check failed: {what}")


def crc16_bitwise(data: bytes) -> int:
    """Compute CRC-16/CCITT-FALSE one bit at a time, straight from its definition.

    Parameters
    ----------
    data : bytes
        Bytes to checksum.

    Returns
    -------
    int
        The CRC (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR).
    """
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def crc16(data: bytes) -> int:
    """Compute CRC-16/CCITT-FALSE, cross-checked against :func:`binascii.crc_hqx`.

    Parameters
    ----------
    data : bytes
        Bytes to checksum.

    Returns
    -------
    int
        The CRC.
    """
    crc = crc16_bitwise(data)
    _ensure(crc == binascii.crc_hqx(data, 0xFFFF), "bitwise CRC equals binascii.crc_hqx")
    return crc


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (shortest form, without the trailing 0x00 delimiter).

    Parameters
    ----------
    data : bytes
        Bytes to encode; may contain 0x00.

    Returns
    -------
    bytes
        The encoded bytes, free of 0x00.

    Notes
    -----
    The input is split at each 0x00 into runs of non-zero bytes. Each run is written as a
    code byte ``len(run) + 1`` followed by the run; a run longer than 254 bytes is cut into
    254-byte blocks with code 0xFF, which imply no 0x00 after them. A frame that ends right
    after a 0xFF block gets no extra empty block.
    """
    out = bytearray()
    runs = data.split(b"\x00")
    for index, run in enumerate(runs):
        is_last = index == len(runs) - 1
        while len(run) >= 254:
            out.append(0xFF)
            out += run[:254]
            run = run[254:]
            if not run and is_last:
                return bytes(out)
        out.append(len(run) + 1)
        out += run
    return bytes(out)


def cobs_decode(encoded: bytes) -> bytes:
    """Decode COBS (either variant) without the 0x00 delimiter; used as a self-check.

    Parameters
    ----------
    encoded : bytes
        COBS-encoded bytes.

    Returns
    -------
    bytes
        The decoded bytes.
    """
    out = bytearray()
    pos = 0
    while pos < len(encoded):
        code = encoded[pos]
        _ensure(code != 0 and pos + code <= len(encoded), f"valid COBS code at {pos}")
        out += encoded[pos + 1 : pos + code]
        pos += code
        if code != 0xFF and pos < len(encoded):
            out.append(0)
    return bytes(out)


def build_frame(fields: dict[str, Any]) -> bytes:
    """Lay out one frame (header + body + CRC) from its decoded field values.

    Parameters
    ----------
    fields : dict
        Field values as stored in ``vectors.json`` (see the module of this function).

    Returns
    -------
    bytes
        The frame bytes before COBS.
    """
    frame_type = FRAME_TYPES[fields["frame_type"]]
    if frame_type == FRAME_TYPES["SAMPLES"]:
        counts = fields["counts"]
        n_samples, n_sensors = len(counts), len(counts[0])
        _ensure(all(len(row) == n_sensors for row in counts), "counts rows of equal length")
        _ensure(1 <= n_sensors <= 128 and 1 <= n_samples <= 32, "n_sensors, n_samples in range")
        _ensure(1 <= fields["sample_rate_hz"] <= 10000, "sample_rate_hz in range")
        _ensure(all(0 <= v <= 0xFFFF for row in counts for v in row), "counts are u16")
    elif frame_type == FRAME_TYPES["DEVICE_INFO"]:
        _ensure(len(fields["name"].encode("utf-8")) <= 24, "name at most 24 bytes")
        _ensure(1 <= fields["n_sensors"] <= 128, "n_sensors in range")
        _ensure(1 <= fields["adc_bits"] <= 16, "adc_bits in range")
        _ensure(1 <= fields["sample_rate_hz"] <= 10000, "sample_rate_hz in range")
    else:
        _ensure(fields["battery_pct"] <= 100 or fields["battery_pct"] == 255, "battery_pct")
    frame = layout_frame(fields)
    _ensure(MIN_FRAME_LEN <= len(frame) <= MAX_FRAME_LEN, "frame length in 14 .. 1024")
    return frame


def layout_frame(fields: dict[str, Any]) -> bytes:
    """Lay out one frame like :func:`build_frame`, without checking any range.

    Used for the frames of ``range_streams``, which break the ranges of SPEC.md section 1.4
    on purpose. A SAMPLES frame may give ``n_sensors`` and ``n_samples`` explicitly (for
    counts that cannot be written as rows, such as 0 sensors).

    Parameters
    ----------
    fields : dict
        Field values as stored in ``vectors.json``.

    Returns
    -------
    bytes
        The frame bytes before COBS, with a correct CRC.
    """
    frame_type = FRAME_TYPES[fields["frame_type"]]
    flags = FLAG_RIGHT if fields["side"] == "right" else 0
    if frame_type == FRAME_TYPES["SAMPLES"]:
        counts = fields["counts"]
        imu = fields["imu"]
        n_samples = fields.get("n_samples", len(counts))
        n_sensors = fields.get("n_sensors", len(counts[0]) if counts else 0)
        flat_counts = [value for row in counts for value in row]
        _ensure(len(flat_counts) == n_samples * n_sensors, "n_samples x n_sensors counts")
        body = SAMPLES_HEAD.pack(fields["sample_rate_hz"], n_sensors, n_samples)
        body += struct.pack(f"<{n_samples * n_sensors}H", *flat_counts)
        if imu is not None:
            flags |= FLAG_IMU
            _ensure(len(imu) == n_samples and all(len(row) == 6 for row in imu), "imu shape")
            flat_imu = [value for row in imu for value in row]
            body += struct.pack(f"<{6 * n_samples}h", *flat_imu)
    elif frame_type == FRAME_TYPES["DEVICE_INFO"]:
        name = fields["name"].encode("utf-8")
        body = DEVICE_INFO_HEAD.pack(
            *fields["fw_version"],
            fields["hw_revision"],
            fields["n_sensors"],
            fields["adc_bits"],
            fields["sample_rate_hz"],
            len(name),
        )
        body += name
    else:
        body = STATUS_BODY.pack(
            fields["battery_pct"], 0, fields["error_flags"], fields["frames_dropped"]
        )
    head = HEADER.pack(
        PROTOCOL_VERSION,
        frame_type,
        flags,
        0,
        fields["device_id"],
        fields["seq"],
        fields["timestamp_us"],
    )
    frame = head + body
    return frame + CRC.pack(crc16(frame))


def _samples(
    side: str,
    device_id: int,
    seq: int,
    timestamp_us: int,
    sample_rate_hz: int,
    counts: list[list[int]],
    imu: list[list[int]] | None = None,
) -> dict[str, Any]:
    return {
        "frame_type": "SAMPLES",
        "side": side,
        "device_id": device_id,
        "seq": seq,
        "timestamp_us": timestamp_us,
        "sample_rate_hz": sample_rate_hz,
        "counts": counts,
        "imu": imu,
    }


def _grid(n_samples: int, n_sensors: int, start: int, step: int) -> list[list[int]]:
    """Return deterministic counts in 1 .. 4095 whose two bytes are both non-zero."""
    values = []
    for index in range(n_samples * n_sensors):
        low = 1 + (start + index * step) % 255
        high = 1 + (start + index) % 15
        values.append(high << 8 | low)
    return [values[k * n_sensors : (k + 1) * n_sensors] for k in range(n_samples)]


def vector_specs() -> list[tuple[str, str, dict[str, Any]]]:
    """List the vectors as ``(name, description, fields)``.

    Returns
    -------
    list of tuple
        One entry per vector, in file order.
    """
    # 16 sensors x 6 samples, the BLE MTU 247 case of SPEC.md section 4.2. Sensor loads rise
    # from the heel (sensor 0) to the toes, with the extremes and zero bytes mixed in.
    left_counts = [[(97 * k + 211 * s + 13) % 4096 for s in range(16)] for k in range(6)]
    left_counts[0][0] = 0x0000  # unloaded sensor
    left_counts[0][1] = 0x0FFF  # saturated 12-bit sensor
    left_counts[1][2] = 0x0100  # low byte 0x00
    left_counts[2][3] = 0x0001  # high byte 0x00
    left_counts[3][4] = 0x0F00
    left_counts[4][5] = 0x0800
    left_counts[5][15] = 0x0FFF

    right_counts = [[(389 * k + 57 * s + 1000) % 4096 for s in range(8)] for k in range(4)]
    right_counts[3][7] = 0x0000
    right_imu = [
        [-12, 35, -1000, -1, 0, 25],
        [-32768, 32767, -981, 256, -256, -15],
        [0, -1, -1024, 1200, -3500, 7],
        [1, 2, -998, -2, -1, 0],
    ]

    specs: list[tuple[str, str, dict[str, Any]]] = [
        (
            "samples_left_16x6_no_imu",
            "SAMPLES, left, 16 sensors x 6 samples at 200 Hz, no IMU; counts include 0x0000, "
            "0x0FFF and values with a 0x00 byte, so COBS has to replace zeros.",
            _samples("left", 0x3F2A, 1, 1_000_000, 200, left_counts),
        ),
        (
            "samples_right_8x4_imu",
            "SAMPLES, right, 8 sensors x 4 samples at 100 Hz with the IMU block (flags bit1); "
            "IMU values include negatives, -32768, 32767, -1 and 0.",
            _samples("right", 0x3F2B, 4242, 123_456_789, 100, right_counts, right_imu),
        ),
        (
            "samples_1x1",
            "SAMPLES, left, the smallest SAMPLES frame: 1 sensor, 1 sample, 1 Hz, at device "
            "time 0.",
            _samples("left", 0x0001, 7, 0, 1, [[0x0ABC]]),
        ),
        (
            "samples_seq_65535",
            "SAMPLES, right, seq 65535 (last before the wrap); timestamp 10 ms before the u32 "
            "timestamp wraps. Followed by samples_seq_0_wrapped.",
            _samples("right", 0xBEEF, 65535, 2**32 - 10_000, 200, _grid(6, 4, 3, 7)),
        ),
        (
            "samples_seq_0_wrapped",
            "SAMPLES, right, the frame after samples_seq_65535: seq wrapped to 0 (no frame lost) "
            "and timestamp_us wrapped past 2^32 (6 samples at 200 Hz = 30 ms later).",
            _samples("right", 0xBEEF, 0, 20_000, 200, _grid(6, 4, 27, 7)),
        ),
        (
            "device_info_named",
            "DEVICE_INFO, left, firmware 1.2.3, hardware rev 4, 16 sensors, 12-bit ADC, "
            "200 Hz, name 'insole-L-3f2a'.",
            {
                "frame_type": "DEVICE_INFO",
                "side": "left",
                "device_id": 0x3F2A,
                "seq": 0,
                "timestamp_us": 999_000,
                "fw_version": [1, 2, 3],
                "hw_revision": 4,
                "n_sensors": 16,
                "adc_bits": 12,
                "sample_rate_hz": 200,
                "name": "insole-L-3f2a",
            },
        ),
        (
            "device_info_utf8_name",
            "DEVICE_INFO, right, firmware 0.0.0, 64 sensors, 16-bit ADC, 10 kHz and a non-ASCII "
            "name: name_len counts UTF-8 bytes (13 characters, 16 bytes).",
            {
                "frame_type": "DEVICE_INFO",
                "side": "right",
                "device_id": 0x3F2B,
                "seq": 513,
                "timestamp_us": 5,
                "fw_version": [0, 0, 0],
                "hw_revision": 0,
                "n_sensors": 64,
                "adc_bits": 16,
                "sample_rate_hz": 10000,
                "name": "Fußsohle-R-äö",
            },
        ),
        (
            "device_info_empty_name",
            "DEVICE_INFO, left, name_len 0 (no name bytes).",
            {
                "frame_type": "DEVICE_INFO",
                "side": "left",
                "device_id": 0x0000,
                "seq": 1,
                "timestamp_us": 1,
                "fw_version": [255, 254, 253],
                "hw_revision": 255,
                "n_sensors": 1,
                "adc_bits": 10,
                "sample_rate_hz": 1,
                "name": "",
            },
        ),
        (
            "status",
            "STATUS, left, battery 87 %, error_flags bit0 (sensor saturated) and bit3 "
            "(throughput limited), 300 frames dropped.",
            {
                "frame_type": "STATUS",
                "side": "left",
                "device_id": 0x3F2A,
                "seq": 1234,
                "timestamp_us": 5_000_000,
                "battery_pct": 87,
                "error_flags": 0x0009,
                "frames_dropped": 300,
            },
        ),
        (
            "status_unknown_battery",
            "STATUS, right, battery 255 (unknown), all five defined error_flags bits set, "
            "frames_dropped 65535.",
            {
                "frame_type": "STATUS",
                "side": "right",
                "device_id": 0xFFFF,
                "seq": 65535,
                "timestamp_us": 2**32 - 1,
                "battery_pct": 255,
                "error_flags": 0x001F,
                "frames_dropped": 65535,
            },
        ),
        (
            "samples_long_64x4",
            "SAMPLES, right, 64 sensors x 4 samples (530-byte frame). Every byte after the "
            "reserved header byte is non-zero, so COBS needs two 0xFF (254-byte) blocks.",
            _samples("right", 0x1234, 0x0102, 0x01020304, 500, _grid(4, 64, 1, 11)),
        ),
        (
            "samples_99x5",
            "SAMPLES, left, 99 sensors x 5 samples (1008-byte frame, near the 1024-byte limit): "
            "a pedar insole's sensor count, above the 64 of the first protocol version.",
            _samples("left", 0x0063, 0x0005, 0x00000063, 100, _grid(5, 99, 3, 7)),
        ),
        (
            "cobs_run_254_at_end",
            "SAMPLES, right, 15 sensors x 8 samples (258-byte frame): the frame ends with "
            "exactly 254 non-zero bytes, so COBS ends with one 0xFF block and NO extra 0x01.",
            _samples("right", 0x1111, 0x0101, 0x01010101, 257, _grid(8, 15, 5, 13)),
        ),
        (
            "cobs_run_254_then_zero",
            "SAMPLES, right, 15 sensors x 9 samples: 254 non-zero bytes followed by a 0x00 "
            "byte, so COBS writes a 0xFF block followed by an empty 0x01 block.",
            _samples("right", 0x1111, 0x0102, 0x01010101, 257, _grid(9, 15, 5, 13)),
        ),
    ]
    # Put the 0x00 right after the first 254-byte run (frame offset 4 + 254 = 258, i.e. the
    # low byte of count index (258 - 16) / 2 = 121 = sample 8, sensor 1).
    specs[-1][2]["counts"][8][1] = 0x0F00
    return specs


def _check_special_cases(name: str, frame: bytes, wire: bytes) -> None:
    """Assert that the COBS edge-case vectors really exercise what they say."""
    if name == "samples_long_64x4":
        only_zero_is_reserved = frame.count(0) == 1 and frame[3] == 0
        _ensure(only_zero_is_reserved and len(frame) - 4 > 2 * 254, f"{name}: >508-byte run")
        _ensure(wire[4] == 0xFF and wire[4 + 255] == 0xFF, f"{name}: two 0xFF blocks")
    elif name == "cobs_run_254_at_end":
        only_zero_is_reserved = frame.count(0) == 1 and frame[3] == 0
        _ensure(len(frame) == 258 and only_zero_is_reserved, f"{name}: ends in a 254-byte run")
        _ensure(wire[4] == 0xFF and len(wire) == 4 + 255 + 1, f"{name}: no block after 0xFF")
    elif name == "cobs_run_254_then_zero":
        zero_after_run = frame[3] == 0 and frame[258] == 0 and 0 not in frame[4:258]
        _ensure(zero_after_run, f"{name}: 254-byte run, then 0x00")
        _ensure(wire[4] == 0xFF and wire[4 + 255] == 0x01, f"{name}: 0xFF block, 0x01 block")


#: Host → device commands (SPEC §4.3): name, description, opcode, argument fields.
COMMAND_SPECS: list[tuple[str, str, int, dict[str, int]]] = [
    ("start", "START: begin streaming (DEVICE_INFO, then SAMPLES).", 0x01, {}),
    ("stop", "STOP: stop streaming.", 0x02, {}),
    ("set_rate_200", "SET_RATE 200 Hz (u16 little-endian argument).", 0x03,
     {"sample_rate_hz": 200}),
    ("set_rate_10000", "SET_RATE at the top of the range (0x2710).", 0x03,
     {"sample_rate_hz": 10000}),
    ("request_info", "REQUEST_INFO: send a DEVICE_INFO frame.", 0x04, {}),
    ("set_batch_6", "SET_BATCH 6 samples per SAMPLES frame (u8 argument).", 0x05,
     {"n_samples": 6}),
]


def command_vectors() -> list[dict[str, Any]]:
    """Host → device commands: BLE control-write payload and serial wire bytes (SPEC §3, §4.3).

    Built with `struct` and this script's own CRC and COBS, independently of the codec.
    """
    out = []
    for name, description, opcode, args in COMMAND_SPECS:
        payload = bytes([opcode])
        if "sample_rate_hz" in args:
            _ensure(1 <= args["sample_rate_hz"] <= 10000, f"{name}: rate in range")
            payload += struct.pack("<H", args["sample_rate_hz"])
        if "n_samples" in args:
            _ensure(1 <= args["n_samples"] <= 32, f"{name}: batch in range")
            payload += struct.pack("<B", args["n_samples"])
        framed = payload + struct.pack("<H", crc16(payload))
        encoded = cobs_encode(framed)
        _ensure(0 not in encoded and cobs_decode(encoded) == framed, f"{name}: COBS round trip")
        out.append(
            {
                "name": name,
                "description": description,
                "opcode": opcode,
                "args": args,
                "ble_payload_hex": payload.hex(),
                "serial_wire_hex": (encoded + b"\x00").hex(),
            }
        )
    return out


#: Loss streams (SPEC §2.1): one device, SAMPLES of 1 sensor x 6 samples at 200 Hz (a frame
#: period of 30 ms), with STATUS and DEVICE_INFO frames where a case needs them.
LOSS_DEVICE = 0x0A0B
PERIOD_US = 30_000
MINUTES_20_US = 20 * 60 * 1_000_000


def _loss_samples(seq: int, timestamp_us: int) -> dict[str, Any]:
    counts = [[1 + (seq + k) % 4000 for _ in range(1)] for k in range(6)]
    return _samples("left", LOSS_DEVICE, seq, timestamp_us, 200, counts)


def _loss_status(seq: int, timestamp_us: int, error_flags: int = 0) -> dict[str, Any]:
    return {
        "frame_type": "STATUS",
        "side": "left",
        "device_id": LOSS_DEVICE,
        "seq": seq,
        "timestamp_us": timestamp_us,
        "battery_pct": 80,
        "error_flags": error_flags,
        "frames_dropped": 0,
    }


def _loss_info(seq: int, timestamp_us: int) -> dict[str, Any]:
    return {
        "frame_type": "DEVICE_INFO",
        "side": "left",
        "device_id": LOSS_DEVICE,
        "seq": seq,
        "timestamp_us": timestamp_us,
        "fw_version": [1, 0, 0],
        "hw_revision": 2,
        "n_sensors": 1,
        "adc_bits": 12,
        "sample_rate_hz": 200,
        "name": "",
    }


def _expect(
    delivered: list[int], lost_before: list[int], **counters: int
) -> dict[str, Any]:
    """Expected decoder output: delivered ``seq`` values, their ``lost_before``, counters."""
    _ensure(len(delivered) == len(lost_before), "one lost_before per delivered frame")
    out: dict[str, Any] = {"delivered_seq": delivered, "lost_before": lost_before}
    out["lost_frames"] = sum(lost_before)
    for name in ("duplicate_frames", "out_of_order_frames", "restarts", "clock_restarts"):
        out[name] = counters.pop(name, 0)
    _ensure(not counters, f"unknown counters {sorted(counters)}")
    return out


def loss_specs() -> list[tuple[str, str, list[dict[str, Any]], dict[str, Any]]]:
    """List the loss streams as ``(name, description, frames, expected)``.

    The expected values are worked out by hand from SPEC.md section 2.1, not by a decoder.

    Returns
    -------
    list of tuple
        One entry per stream, in file order.
    """
    wrap = 2**32
    long_gap_ts = 65_544 * PERIOD_US  # SAMPLES seq j >= 4 is at (j - 1) periods (see below)
    _ensure(long_gap_ts + PERIOD_US < 2**31, "long gap stays below half the clock range")
    return [
        (
            "loss_gap_and_wraps",
            "Rule 1: seq 65533, 65534, a STATUS (65535, stamped at sending), 0, then 3: the "
            "sequence and the u32 clock both wrap, 2 frames (1 and 2) are lost before seq 3.",
            [
                _loss_samples(65533, wrap - 2 * PERIOD_US),
                _loss_samples(65534, wrap - PERIOD_US),
                _loss_status(65535, wrap - PERIOD_US + 25_000),
                _loss_samples(0, 0),
                _loss_samples(3, 3 * PERIOD_US),
            ],
            _expect([65533, 65534, 65535, 0, 3], [0, 0, 0, 0, 2]),
        ),
        (
            "loss_duplicate",
            "Rule 3: seq 10, 11, 11 (the same frame again), 12: one duplicate, not delivered.",
            [
                _loss_samples(10, 10 * PERIOD_US),
                _loss_samples(11, 11 * PERIOD_US),
                _loss_samples(11, 11 * PERIOD_US),
                _loss_samples(12, 12 * PERIOD_US),
            ],
            _expect([10, 11, 12], [0, 0, 0], duplicate_frames=1),
        ),
        (
            "loss_late_frame",
            "Rule 4: seq 0, 1, 2, 1 (late or replayed, with its own earlier timestamp), 3: "
            "the late frame is delivered and counted out of order; seq 2 stays the reference, "
            "so nothing is lost (a decoder that moves the reference back to 1 and reads the "
            "clock going back as a 2^32 us gap reports 131073).",
            [
                _loss_samples(0, 0),
                _loss_samples(1, PERIOD_US),
                _loss_samples(2, 2 * PERIOD_US),
                _loss_samples(1, PERIOD_US),
                _loss_samples(3, 3 * PERIOD_US),
            ],
            _expect([0, 1, 2, 1, 3], [0, 0, 0, 0, 0], out_of_order_frames=1),
        ),
        (
            "loss_clock_restart_flag",
            "Rule 6: seq 100..102 at device time 2000 s, then a STATUS (seq 103) with "
            "error_flags bit 4 and the clock restarted at 1 ms, then seq 104, 105 on the new "
            "clock: the sequence goes on, nothing is lost, one clock restart (read as a time "
            "gap, the clock going from 2000 s to 1 ms is 2295 s, about 76500 periods: 65536).",
            [
                _loss_samples(100, 2_000_000_000),
                _loss_samples(101, 2_000_000_000 + PERIOD_US),
                _loss_samples(102, 2_000_000_000 + 2 * PERIOD_US),
                _loss_status(103, 1_000, 0x0010),
                _loss_samples(104, 6_000),
                _loss_samples(105, 6_000 + PERIOD_US),
            ],
            _expect([100, 101, 102, 103, 104, 105], [0] * 6, clock_restarts=1),
        ),
        (
            "loss_clock_went_back",
            "Rule 6 without the flag: seq 7..9 at device time 1000 s, then seq 10, 11 with the "
            "clock restarted at 0: the clock went back (and not as a late frame), the sequence "
            "goes on: nothing lost, one clock restart.",
            [
                _loss_samples(7, 1_000_000_000),
                _loss_samples(8, 1_000_000_000 + PERIOD_US),
                _loss_samples(9, 1_000_000_000 + 2 * PERIOD_US),
                _loss_samples(10, 0),
                _loss_samples(11, PERIOD_US),
            ],
            _expect([7, 8, 9, 10, 11], [0] * 5, clock_restarts=1),
        ),
        (
            "loss_pause_20_min",
            "Rule 7: seq 0..2, then STOP and, 20 min later, START: DEVICE_INFO (seq 3) and "
            "SAMPLES 4, 5. The clock passed 40000 frame periods but the sequence is "
            "continuous: the device did not stream, nothing is lost (rounding 40000 periods to "
            "the nearest wrap gives 65536).",
            [
                _loss_samples(0, 0),
                _loss_samples(1, PERIOD_US),
                _loss_samples(2, 2 * PERIOD_US),
                _loss_info(3, 2 * PERIOD_US + MINUTES_20_US),
                _loss_samples(4, 2 * PERIOD_US + MINUTES_20_US),
                _loss_samples(5, 3 * PERIOD_US + MINUTES_20_US),
            ],
            _expect([0, 1, 2, 3, 4, 5], [0] * 6),
        ),
        (
            "loss_reboot",
            "Rule 5: seq 39998..40000 at device time 1200 s, then the device reboots: "
            "DEVICE_INFO seq 0 at 2 ms, SAMPLES 1, 2. Sequence and clock started again: one "
            "restart, nothing counted lost (read as a gap, 25535 + 65536 = 91071).",
            [
                _loss_samples(39998, 1_200_000_000),
                _loss_samples(39999, 1_200_000_000 + PERIOD_US),
                _loss_samples(40000, 1_200_000_000 + 2 * PERIOD_US),
                _loss_info(0, 2_000),
                _loss_samples(1, 2_000),
                _loss_samples(2, 2_000 + PERIOD_US),
            ],
            _expect([39998, 39999, 40000, 0, 1, 2], [0] * 6, restarts=1),
        ),
        (
            "loss_status_before_long_gap",
            "Rule 2: seq 0..2, a STATUS (seq 3, stamped at sending), then 65541 frames lost "
            "(seq 4 .. 65544, SAMPLES j at (j - 1) periods) and seq 65545 = 9, 65546 = 10 "
            "arrive. The clock measures the gap from the STATUS with the period of the last "
            "SAMPLES frame: 65541 lost (with the STATUS's own period, none, only 5).",
            [
                _loss_samples(0, 0),
                _loss_samples(1, PERIOD_US),
                _loss_samples(2, 2 * PERIOD_US),
                _loss_status(3, 2 * PERIOD_US + 25_000),
                _loss_samples(65545 & 0xFFFF, long_gap_ts),
                _loss_samples(65546 & 0xFFFF, long_gap_ts + PERIOD_US),
            ],
            _expect([0, 1, 2, 3, 9, 10], [0, 0, 0, 0, 65541, 0]),
        ),
        (
            "loss_long_gap_70000",
            "Rule 2: seq 0, 1, then 70000 frames lost: seq 70002 = 4466 and 70003 = 4467 "
            "arrive 70001 periods after seq 1; the sequence alone says 4464.",
            [
                _loss_samples(0, 0),
                _loss_samples(1, PERIOD_US),
                _loss_samples(70002 & 0xFFFF, 70002 * PERIOD_US),
                _loss_samples(70003 & 0xFFFF, 70003 * PERIOD_US),
            ],
            _expect([0, 1, 4466, 4467], [0, 0, 70000, 0]),
        ),
    ]


def loss_vectors() -> list[dict[str, Any]]:
    """Loss streams: frames, the stream's wire bytes and the expected decoder counters.

    Returns
    -------
    list of dict
        One entry per stream of `loss_specs`.
    """
    out = []
    for name, description, frames, expected in loss_specs():
        wire = b""
        for fields in frames:
            encoded = cobs_encode(build_frame(fields))
            _ensure(cobs_decode(encoded) == build_frame(fields), f"{name}: COBS round trip")
            wire += encoded + b"\x00"
        _ensure(all(0 <= f["seq"] <= 0xFFFF for f in frames), f"{name}: seq in range")
        _ensure(
            all(0 <= f["timestamp_us"] < 2**32 for f in frames), f"{name}: timestamp in range"
        )
        out.append(
            {
                "name": name,
                "description": description,
                "frames": frames,
                "wire_hex": wire.hex(),
                "expected": expected,
            }
        )
    return out


#: Range streams (SPEC §1.4): one device, valid SAMPLES of 1 sensor x 6 samples at 200 Hz (a
#: frame period of 30 ms) around frames that break a range but carry a correct CRC.
RANGE_DEVICE = 0x0C0D


def _range_samples(seq: int, **change: Any) -> dict[str, Any]:
    """SAMPLES ``seq`` at ``seq`` frame periods, counts ``100 + seq``; ``change`` overrides."""
    fields = _samples("left", RANGE_DEVICE, seq, seq * PERIOD_US, 200, [[100 + seq]] * 6)
    fields.update(change)
    return fields


def _range_info(seq: int, **change: Any) -> dict[str, Any]:
    """DEVICE_INFO ``seq`` (1 sensor, 12-bit ADC, 200 Hz); ``change`` overrides fields."""
    fields = _loss_info(seq, seq * PERIOD_US)
    fields["device_id"] = RANGE_DEVICE
    fields.update(change)
    return fields


def _range_expect(
    delivered: list[int], lost_before: list[int], refused: list[int]
) -> dict[str, Any]:
    """Expected decoder output of a range stream: ``refused`` are frame positions."""
    _ensure(len(delivered) == len(lost_before), "one lost_before per delivered frame")
    out: dict[str, Any] = {
        "delivered_seq": delivered,
        "lost_before": lost_before,
        "refused_frames": refused,
        "lost_frames": sum(lost_before),
        "malformed_frames": len(refused),
        "out_of_range_frames": len(refused),
    }
    return out


def range_specs() -> list[tuple[str, str, list[dict[str, Any]], dict[str, Any]]]:
    """List the range streams as ``(name, description, frames, expected)``.

    The expected values are worked out by hand from SPEC.md sections 1.4 and 2.1: a refused
    frame is never delivered, so the sequence number it took counts as lost before the next
    delivered frame, as for a frame that failed its CRC.

    Returns
    -------
    list of tuple
        One entry per stream, in file order.
    """
    max_frame = [[(s * 7 + k) % 4096 + 1 for s in range(128)] for k in range(4)]
    return [
        (
            "range_samples_rate_60000",
            "SAMPLES seq 0, then seq 1 at 60000 Hz (over 10000), then seq 2: seq 1 is refused "
            "and counted lost before seq 2.",
            [_range_samples(0), _range_samples(1, sample_rate_hz=60000), _range_samples(2)],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_samples_rate_0",
            "SAMPLES seq 0, seq 1 at 0 Hz (no sample period), seq 2.",
            [_range_samples(0), _range_samples(1, sample_rate_hz=0), _range_samples(2)],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_samples_no_sensors",
            "SAMPLES seq 1 with n_sensors 0 and n_samples 6 (a 18-byte frame whose length "
            "matches its fields), between seq 0 and 2.",
            [
                _range_samples(0),
                _range_samples(1, counts=[], n_sensors=0, n_samples=6),
                _range_samples(2),
            ],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_samples_no_samples",
            "SAMPLES seq 1 with n_samples 0 (1 sensor), between seq 0 and 2.",
            [
                _range_samples(0),
                _range_samples(1, counts=[], n_sensors=1, n_samples=0),
                _range_samples(2),
            ],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_samples_129_sensors",
            "SAMPLES seq 1 with 129 sensors x 1 sample (276 bytes, over the 128-sensor limit).",
            [
                _range_samples(0),
                _range_samples(1, counts=[[1 + s for s in range(129)]]),
                _range_samples(2),
            ],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_samples_33_samples",
            "SAMPLES seq 1 with 1 sensor x 33 samples (over the 32-sample batch limit).",
            [_range_samples(0), _range_samples(1, counts=[[7]] * 33), _range_samples(2)],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_frame_over_1024_bytes",
            "SAMPLES seq 1 with 128 sensors x 4 samples: every field in range, but the frame "
            "is 1042 bytes (over 1024).",
            [_range_samples(0), _range_samples(1, counts=max_frame), _range_samples(2)],
            _range_expect([0, 2], [0, 1], [1]),
        ),
        (
            "range_device_info_fields",
            "DEVICE_INFO frames seq 1..7 each with one field out of range: adc_bits 40 and 0, "
            "n_sensors 0 and 200, sample_rate_hz 0 and 20000, a 25-byte name; then SAMPLES "
            "seq 8: all seven refused, 7 frames lost before seq 8.",
            [
                _range_samples(0),
                _range_info(1, adc_bits=40),
                _range_info(2, adc_bits=0),
                _range_info(3, n_sensors=0),
                _range_info(4, n_sensors=200),
                _range_info(5, sample_rate_hz=0),
                _range_info(6, sample_rate_hz=20000),
                _range_info(7, name="insole-L-0c0d-with-a-long"),
                _range_samples(8),
            ],
            _range_expect([0, 8], [0, 7], [1, 2, 3, 4, 5, 6, 7]),
        ),
        (
            "range_counts_over_adc_bits",
            "Counts against the ADC resolution of the last DEVICE_INFO: SAMPLES seq 0 with "
            "count 5000 (no DEVICE_INFO yet: kept), DEVICE_INFO seq 1 (12 bits), seq 2 with "
            "4095 (kept), seq 3 with one 4096 (refused), seq 4 (kept), DEVICE_INFO seq 5 with "
            "adc_bits 40 (refused, 12 bits stay), seq 6 with 4096 (refused), DEVICE_INFO seq 7 "
            "(16 bits), seq 8 with 65535 (kept).",
            [
                _range_samples(0, counts=[[5000]] * 6),
                _range_info(1),
                _range_samples(2, counts=[[4095]] * 6),
                _range_samples(3, counts=[[4095]] * 5 + [[4096]]),
                _range_samples(4),
                _range_info(5, adc_bits=40),
                _range_samples(6, counts=[[4096]] * 6),
                _range_info(7, adc_bits=16),
                _range_samples(8, counts=[[65535]] * 6),
            ],
            _range_expect([0, 1, 2, 4, 7, 8], [0, 0, 0, 1, 2, 0], [3, 5, 6]),
        ),
        (
            "range_counts_per_device",
            "The resolution belongs to one (device_id, side): DEVICE_INFO left seq 0 (12 bits), "
            "then SAMPLES right seq 0 and 1 with count 5000 (kept: the right insole sent no "
            "DEVICE_INFO) and left seq 1 with 5000 (refused), left seq 2 (kept).",
            [
                _range_info(0),
                _range_samples(0, side="right", counts=[[5000]] * 6),
                _range_samples(1, counts=[[5000]] * 6),
                _range_samples(1, side="right", counts=[[5000]] * 6),
                _range_samples(2),
            ],
            _range_expect([0, 0, 1, 2], [0, 0, 0, 1], [2]),
        ),
    ]


def range_vectors() -> list[dict[str, Any]]:
    """Range streams: frames, the stream's wire bytes and the expected decoder counters.

    ``discarded_bytes`` is the length of the refused frames' wire bytes without their
    delimiters (SPEC.md section 3).

    Returns
    -------
    list of dict
        One entry per stream of `range_specs`.
    """
    out: list[dict[str, Any]] = []
    for name, description, frames, expected in range_specs():
        refused = expected["refused_frames"]
        kept = [f["seq"] for i, f in enumerate(frames) if i not in refused]
        _ensure(kept == expected["delivered_seq"], f"{name}: delivered = frames not refused")
        wire = b""
        discarded = 0
        for index, fields in enumerate(frames):
            frame = layout_frame(fields)
            encoded = cobs_encode(frame)
            _ensure(cobs_decode(encoded) == frame, f"{name}: COBS round trip")
            _ensure(len(encoded) <= 1100, f"{name}: within the longest run a reader keeps")
            if index in refused:
                discarded += len(encoded)
            wire += encoded + b"\x00"
        out.append(
            {
                "name": name,
                "description": description,
                "frames": frames,
                "wire_hex": wire.hex(),
                "expected": {**expected, "discarded_bytes": discarded},
            }
        )
    return out


def build_document() -> dict[str, Any]:
    """Build the whole ``vectors.json`` document.

    Returns
    -------
    dict
        The JSON document (see SPEC.md section 6).
    """
    check_input = b"123456789"
    check_crc = crc16(check_input)
    _ensure(check_crc == 0x29B1, "CRC check value 0x29B1")
    vectors = []
    for name, description, fields in vector_specs():
        frame = build_frame(fields)
        encoded = cobs_encode(frame)
        _ensure(0 not in encoded and cobs_decode(encoded) == frame, f"{name}: COBS round trip")
        _ensure(len(encoded) <= len(frame) + (len(frame) + 253) // 254, f"{name}: COBS length")
        wire = encoded + b"\x00"
        _check_special_cases(name, frame, wire)
        vectors.append(
            {
                "name": name,
                "description": description,
                "fields": fields,
                "frame_hex": frame.hex(),
                "wire_hex": wire.hex(),
            }
        )
    _ensure(len({vector["name"] for vector in vectors}) == len(vectors), "unique names")
    return {
        "protocol_version": PROTOCOL_VERSION,
        "crc": "CRC-16/CCITT-FALSE",
        "cobs": "Cheshire & Baker 1999, shortest form (no empty block after a final 0xFF "
        "block), followed by one 0x00 delimiter",
        "generated_by": "firmware_protocol/vectors/make_vectors.py",
        "crc_check": {
            "input_ascii": check_input.decode("ascii"),
            "input_hex": check_input.hex(),
            "crc": check_crc,
            "crc_hex": f"0x{check_crc:04X}",
        },
        "vectors": vectors,
        "commands": command_vectors(),
        "loss_streams": loss_vectors(),
        "range_streams": range_vectors(),
    }


def _dump(obj: Any, indent: int = 0) -> str:
    """Pretty-print JSON with lists of scalars on one line (rows of ``counts`` stay rows)."""
    pad = "  " * indent
    if isinstance(obj, dict) and obj:
        items = [
            f"{pad}  {json.dumps(key)}: {_dump(value, indent + 1)}" for key, value in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(item, list | dict) for item in obj):
        items = [f"{pad}  {_dump(item, indent + 1)}" for item in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


def render() -> str:
    r"""Render ``vectors.json`` exactly as it is stored.

    Returns
    -------
    str
        The file's text (UTF-8, ``\n`` line ends, trailing newline).
    """
    document = build_document()
    text = _dump(document) + "\n"
    _ensure(json.loads(text) == document, "rendered JSON parses back to the document")
    return text


def main(argv: list[str]) -> int:
    """Write ``vectors.json`` next to this script, or check it with ``--check``.

    Parameters
    ----------
    argv : list of str
        Command-line arguments without the program name.

    Returns
    -------
    int
        Exit status: 0 on success, 1 if ``--check`` found the file out of date, 2 on bad usage.
    """
    text = render()
    if argv == ["--check"]:
        current = OUT_PATH.read_text(encoding="utf-8") if OUT_PATH.exists() else None
        if current != text:
            print(f"{OUT_PATH} is out of date; run {Path(__file__).name} to rewrite it")
            return 1
        print(f"{OUT_PATH} is up to date")
        return 0
    if argv:
        print(f"usage: {Path(__file__).name} [--check]", file=sys.stderr)
        return 2
    with OUT_PATH.open("w", encoding="utf-8", newline="\n") as stream:
        stream.write(text)
    print(f"wrote {len(json.loads(text)['vectors'])} vectors to {OUT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
