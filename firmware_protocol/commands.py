"""Host → device commands (SPEC §3 "Host → device commands" and §4.3).

A command is an opcode and its arguments. Over BLE the control characteristic is written with
exactly those bytes (`command_payload`); over serial they are followed by a CRC-16 and framed
like device frames, COBS + 0x00 (`encode_command`). Firmware parses what it receives with
`decode_command_payload` / `decode_command` (the C reference has the same functions).

Examples
--------
>>> from firmware_protocol.commands import Command, Opcode, command_payload, encode_command
>>> command_payload(Command(Opcode.SET_RATE, 200)).hex()
'03c800'
>>> encode_command(Command(Opcode.START)).hex()
'0401d1f100'
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from .cobs import cobs_decode, cobs_encode
from .frames import ProtocolError, crc16

__all__ = [
    "MAX_BATCH",
    "Command",
    "Opcode",
    "command_payload",
    "decode_command",
    "decode_command_payload",
    "encode_command",
]

#: SET_BATCH range (SPEC §1.1: 1 .. 32 samples per SAMPLES frame).
MAX_BATCH = 32
#: SET_RATE range (SPEC §1.1: sample_rate_hz 1 .. 10000).
_RATE_RANGE = (1, 10000)


class Opcode(IntEnum):
    """Control opcodes (SPEC §4.3)."""

    START = 0x01
    STOP = 0x02
    SET_RATE = 0x03
    REQUEST_INFO = 0x04
    SET_BATCH = 0x05


#: Argument bytes after the opcode.
_ARG_SIZE = {
    Opcode.START: 0,
    Opcode.STOP: 0,
    Opcode.SET_RATE: 2,
    Opcode.REQUEST_INFO: 0,
    Opcode.SET_BATCH: 1,
}


@dataclass(frozen=True)
class Command:
    """One host → device command.

    Attributes
    ----------
    opcode : Opcode
        What to do.
    value : int or None
        The argument: ``sample_rate_hz`` (1 .. 10000) for SET_RATE, ``n_samples`` (1 .. 32)
        for SET_BATCH; None for the others.
    """

    opcode: Opcode
    value: int | None = None


def _check(cmd: Command) -> Opcode:
    """The command's opcode, after checking it and its argument."""
    try:
        op = Opcode(cmd.opcode)
    except ValueError:
        raise ProtocolError(
            f"unknown opcode 0x{int(cmd.opcode):02x} (SPEC §4.3: 0x01..0x05)"
        ) from None
    if op is Opcode.SET_RATE:
        lo, hi = _RATE_RANGE
        if not (isinstance(cmd.value, int) and lo <= cmd.value <= hi):
            raise ProtocolError(f"SET_RATE needs a sample rate in {lo}..{hi} Hz, got {cmd.value!r}")
    elif op is Opcode.SET_BATCH:
        if not (isinstance(cmd.value, int) and 1 <= cmd.value <= MAX_BATCH):
            raise ProtocolError(
                f"SET_BATCH needs 1..{MAX_BATCH} samples per frame, got {cmd.value!r}"
            )
    elif cmd.value is not None:
        raise ProtocolError(f"{op.name} takes no argument, got {cmd.value!r}")
    return op


def command_payload(cmd: Command) -> bytes:
    """Opcode and arguments: the bytes of a BLE control write (SPEC §4.3).

    Raises
    ------
    ProtocolError
        Unknown opcode, or an argument missing or out of range.
    """
    op = _check(cmd)
    if op is Opcode.SET_RATE:
        return struct.pack("<BH", op, cmd.value)
    if op is Opcode.SET_BATCH:
        return struct.pack("<BB", op, cmd.value)
    return bytes([op])


def encode_command(cmd: Command) -> bytes:
    """Serial wire bytes of a command: COBS(opcode, args, CRC-16 LE) + 0x00 (SPEC §3).

    Raises
    ------
    ProtocolError
        Unknown opcode, or an argument missing or out of range.
    """
    payload = command_payload(cmd)
    return cobs_encode(payload + crc16(payload).to_bytes(2, "little")) + b"\x00"


def decode_command_payload(payload: bytes) -> Command:
    """Parse a BLE control write (opcode and arguments).

    Raises
    ------
    ProtocolError
        Empty, unknown opcode, wrong argument length, or an argument out of range.
    """
    if not payload:
        raise ProtocolError("empty command")
    try:
        op = Opcode(payload[0])
    except ValueError:
        raise ProtocolError(f"unknown opcode 0x{payload[0]:02x} (SPEC §4.3: 0x01..0x05)") from None
    n_args = len(payload) - 1
    if n_args != _ARG_SIZE[op]:
        raise ProtocolError(f"{op.name} takes {_ARG_SIZE[op]} argument bytes, got {n_args}")
    value = int.from_bytes(payload[1:], "little") if n_args else None
    cmd = Command(op, value)
    _check(cmd)
    return cmd


def decode_command(wire: bytes) -> Command:
    """Parse a serial command: its COBS bytes, with or without the trailing 0x00.

    Raises
    ------
    ProtocolError
        Invalid COBS, CRC mismatch, or an invalid command (see `decode_command_payload`).
    """
    if wire.endswith(b"\x00"):
        wire = wire[:-1]
    try:
        raw = cobs_decode(wire)
    except ValueError as exc:
        raise ProtocolError(f"invalid COBS data in a command: {exc}") from None
    if len(raw) < 3:
        raise ProtocolError(f"command of {len(raw)} bytes is shorter than opcode + CRC (3)")
    if crc16(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
        raise ProtocolError("command CRC mismatch")
    return decode_command_payload(raw[:-2])
