"""insole wire protocol, version 1: frames, COBS framing and an incremental decoder.

The contract between insole firmware and host software is specified in ``SPEC.md`` beside this
file; ``vectors/vectors.json`` holds golden test vectors and ``c/`` a C99 reference (frame
encoder, command decoder).
This package does not import ``insole``: firmware tools can use it alone.
"""

from .cobs import cobs_decode, cobs_encode, cobs_encode_many
from .commands import (
    Command,
    Opcode,
    command_payload,
    decode_command,
    decode_command_payload,
    encode_command,
)
from .decoder import MAX_ENCODED_SIZE, DecoderStats, FrameTable, StreamDecoder, decode_frame
from .frames import (
    MAX_FRAME_SIZE,
    PROTOCOL_VERSION,
    DeviceInfoFrame,
    ErrorFlag,
    Frame,
    FrameType,
    ProtocolError,
    SamplesFrame,
    Side,
    StatusFrame,
    crc16,
    encode_frame,
    encode_samples_frames,
    to_wire,
)

#: BLE GATT profile (SPEC §4.1).
SERVICE_UUID = "a6c10001-8d3e-4f6b-9a52-1e0c7f3b2d40"
DATA_CHAR_UUID = "a6c10002-8d3e-4f6b-9a52-1e0c7f3b2d40"
CONTROL_CHAR_UUID = "a6c10003-8d3e-4f6b-9a52-1e0c7f3b2d40"

__all__ = [
    "CONTROL_CHAR_UUID",
    "DATA_CHAR_UUID",
    "MAX_ENCODED_SIZE",
    "MAX_FRAME_SIZE",
    "PROTOCOL_VERSION",
    "SERVICE_UUID",
    "Command",
    "DecoderStats",
    "DeviceInfoFrame",
    "ErrorFlag",
    "Frame",
    "FrameTable",
    "FrameType",
    "Opcode",
    "ProtocolError",
    "SamplesFrame",
    "Side",
    "StatusFrame",
    "StreamDecoder",
    "cobs_decode",
    "cobs_encode",
    "cobs_encode_many",
    "command_payload",
    "crc16",
    "decode_command",
    "decode_command_payload",
    "decode_frame",
    "encode_command",
    "encode_frame",
    "encode_samples_frames",
    "to_wire",
]
