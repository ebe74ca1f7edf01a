"""The Python codec against the golden vectors, byte-for-byte in both directions.

``firmware_protocol/vectors/vectors.json`` is written by ``make_vectors.py``, which lays the
frames out by hand with ``struct`` and its own COBS, independently of the codec.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_protocol import (
    DeviceInfoFrame,
    FrameType,
    ProtocolError,
    SamplesFrame,
    Side,
    StatusFrame,
    StreamDecoder,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode_frame,
    to_wire,
)
from firmware_protocol.commands import (
    Command,
    Opcode,
    command_payload,
    decode_command,
    decode_command_payload,
    encode_command,
)

VECTORS_DIR = Path(__file__).resolve().parents[1] / "firmware_protocol" / "vectors"
VECTORS_PATH = VECTORS_DIR / "vectors.json"
GENERATOR_PATH = VECTORS_DIR / "make_vectors.py"

DOCUMENT: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]
IDS = [vector["name"] for vector in VECTORS]
FRAME_CLASSES = {"SAMPLES": SamplesFrame, "DEVICE_INFO": DeviceInfoFrame, "STATUS": StatusFrame}


def _side(fields: dict[str, Any]) -> Side:
    return {"left": Side.LEFT, "right": Side.RIGHT}[fields["side"]]


def _frame_from_fields(fields: dict[str, Any]) -> SamplesFrame | DeviceInfoFrame | StatusFrame:
    common = {
        "device_id": fields["device_id"],
        "side": _side(fields),
        "seq": fields["seq"],
        "timestamp_us": fields["timestamp_us"],
    }
    if fields["frame_type"] == "SAMPLES":
        imu = fields["imu"]
        return SamplesFrame(
            **common,
            sample_rate_hz=fields["sample_rate_hz"],
            counts=np.array(fields["counts"], dtype=np.uint16),
            imu=None if imu is None else np.array(imu, dtype=np.int16),
        )
    if fields["frame_type"] == "DEVICE_INFO":
        return DeviceInfoFrame(
            **common,
            fw_version=tuple(fields["fw_version"]),
            hw_revision=fields["hw_revision"],
            n_sensors=fields["n_sensors"],
            adc_bits=fields["adc_bits"],
            sample_rate_hz=fields["sample_rate_hz"],
            name=fields["name"],
        )
    return StatusFrame(
        **common,
        battery_pct=fields["battery_pct"],
        error_flags=fields["error_flags"],
        frames_dropped=fields["frames_dropped"],
    )


def _assert_matches_fields(frame: object, fields: dict[str, Any]) -> None:
    """Assert that a decoded frame carries exactly the vector's field values."""
    assert type(frame) is FRAME_CLASSES[fields["frame_type"]]
    assert isinstance(frame, SamplesFrame | DeviceInfoFrame | StatusFrame)
    assert frame.frame_type == FrameType[fields["frame_type"]]
    assert isinstance(frame.side, Side)
    assert frame.side == _side(fields)
    assert frame.device_id == fields["device_id"]
    assert frame.seq == fields["seq"]
    assert frame.timestamp_us == fields["timestamp_us"]
    if isinstance(frame, SamplesFrame):
        assert frame.sample_rate_hz == fields["sample_rate_hz"]
        assert frame.counts.dtype == np.uint16
        np.testing.assert_array_equal(frame.counts, np.array(fields["counts"]))
        assert frame.counts.shape == np.shape(fields["counts"])
        if fields["imu"] is None:
            assert frame.imu is None
        else:
            assert frame.imu is not None
            assert frame.imu.dtype == np.int16
            assert frame.imu.shape == np.shape(fields["imu"])
            np.testing.assert_array_equal(frame.imu, np.array(fields["imu"]))
    elif isinstance(frame, DeviceInfoFrame):
        assert tuple(frame.fw_version) == tuple(fields["fw_version"])
        assert frame.hw_revision == fields["hw_revision"]
        assert frame.n_sensors == fields["n_sensors"]
        assert frame.adc_bits == fields["adc_bits"]
        assert frame.sample_rate_hz == fields["sample_rate_hz"]
        assert frame.name == fields["name"]
    else:
        assert frame.battery_pct == fields["battery_pct"]
        assert frame.error_flags == fields["error_flags"]
        assert frame.frames_dropped == fields["frames_dropped"]


# --- the vectors file itself -------------------------------------------------------------


def test_document_header() -> None:
    assert DOCUMENT["protocol_version"] == 1
    assert DOCUMENT["crc"] == "CRC-16/CCITT-FALSE"
    assert len(set(IDS)) == len(IDS)
    assert {vector["fields"]["frame_type"] for vector in VECTORS} == set(FRAME_CLASSES)


def test_vectors_json_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("make_vectors", GENERATOR_PATH)
    assert spec is not None
    assert spec.loader is not None
    make_vectors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_vectors)
    assert make_vectors.render() == VECTORS_PATH.read_text(encoding="utf-8"), (
        "vectors.json differs from what make_vectors.py generates; review the change and run "
        "python firmware_protocol/vectors/make_vectors.py"
    )


def test_generator_does_not_use_the_codec() -> None:
    tree = ast.parse(GENERATOR_PATH.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or ".").split(".")[0])
    assert imported <= {"__future__", "binascii", "json", "struct", "sys", "pathlib", "typing"}


def test_crc_check_value() -> None:
    check = DOCUMENT["crc_check"]
    data = check["input_ascii"].encode("ascii")
    assert data.hex() == check["input_hex"]
    assert crc16(data) == check["crc"] == 0x29B1


# --- fields -> bytes ----------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_encode_frame_matches(vector: dict[str, Any]) -> None:
    frame = _frame_from_fields(vector["fields"])
    assert encode_frame(frame).hex() == vector["frame_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_to_wire_matches(vector: dict[str, Any]) -> None:
    frame = _frame_from_fields(vector["fields"])
    assert to_wire(frame).hex() == vector["wire_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_cobs_encode_matches(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    assert cobs_encode(bytes.fromhex(vector["frame_hex"])) == wire[:-1]
    assert wire[-1] == 0
    assert 0 not in wire[:-1]


# --- bytes -> fields ----------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_cobs_decode_matches(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    assert cobs_decode(wire[:-1]).hex() == vector["frame_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_decode_frame_matches(vector: dict[str, Any]) -> None:
    frame = decode_frame(bytes.fromhex(vector["frame_hex"]))
    _assert_matches_fields(frame, vector["fields"])


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_decode_frame_rejects_corrupted_crc(vector: dict[str, Any]) -> None:
    raw = bytearray.fromhex(vector["frame_hex"])
    raw[-1] ^= 0x01
    with pytest.raises(ProtocolError):
        decode_frame(bytes(raw))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_stream_decoder_single_frame(vector: dict[str, Any]) -> None:
    frames = StreamDecoder().feed(bytes.fromhex(vector["wire_hex"]))
    assert len(frames) == 1
    _assert_matches_fields(frames[0], vector["fields"])


def test_stream_decoder_all_vectors_in_one_feed() -> None:
    stream = b"".join(bytes.fromhex(vector["wire_hex"]) for vector in VECTORS)
    frames = StreamDecoder().feed(stream)
    assert len(frames) == len(VECTORS)
    for frame, vector in zip(frames, VECTORS, strict=True):
        _assert_matches_fields(frame, vector["fields"])


@pytest.mark.parametrize("seed", range(5))
def test_stream_decoder_all_vectors_in_random_chunks(seed: int) -> None:
    stream = b"".join(bytes.fromhex(vector["wire_hex"]) for vector in VECTORS)
    rng = np.random.default_rng(seed)
    decoder = StreamDecoder()
    frames = []
    pos = 0
    while pos < len(stream):
        size = int(rng.integers(1, 10))
        frames += decoder.feed(stream[pos : pos + size])
        pos += size
    assert len(frames) == len(VECTORS)
    for frame, vector in zip(frames, VECTORS, strict=True):
        _assert_matches_fields(frame, vector["fields"])


# ---------------------------------------------------------------------------- commands

COMMANDS: list[dict[str, Any]] = DOCUMENT["commands"]


def _command_of(vector: dict[str, Any]) -> Command:
    return Command(Opcode(vector["opcode"]), next(iter(vector["args"].values()), None))


@pytest.mark.parametrize("vector", COMMANDS, ids=[c["name"] for c in COMMANDS])
def test_commands_match_vectors(vector: dict[str, Any]) -> None:
    cmd = _command_of(vector)
    assert command_payload(cmd).hex() == vector["ble_payload_hex"]
    assert encode_command(cmd).hex() == vector["serial_wire_hex"]
    assert decode_command_payload(bytes.fromhex(vector["ble_payload_hex"])) == cmd
    assert decode_command(bytes.fromhex(vector["serial_wire_hex"])) == cmd


def test_every_opcode_has_a_vector() -> None:
    assert {c["opcode"] for c in COMMANDS} == {int(op) for op in Opcode}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: command_payload(Command(Opcode.SET_RATE, 0)), "SET_RATE"),
        (lambda: command_payload(Command(Opcode.SET_BATCH, 33)), "SET_BATCH"),
        (lambda: command_payload(Command(Opcode.START, 5)), "no argument"),
        (lambda: decode_command_payload(b""), "empty"),
        (lambda: decode_command_payload(b"\x06"), "unknown opcode"),
        (lambda: decode_command_payload(b"\x03\xc8"), "2 argument bytes"),
        (lambda: decode_command(bytes.fromhex("0401d1f200")), "CRC"),
        (lambda: decode_command(bytes.fromhex("0501d1f100")), "COBS"),
        (lambda: decode_command(bytes.fromhex("0201")), "shorter"),
    ],
)
def test_invalid_commands_raise_one_clear_error(make, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        make()
