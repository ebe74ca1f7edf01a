"""The compiled decoder path (`firmware_protocol.fast`) against the reference code.

`StreamDecoder(fast=False)` decodes COBS and checks CRCs with the readable numpy reference
(`firmware_protocol.cobs`, `firmware_protocol.crc`); the default uses the compiled kernel. Both
must give the same frames, the same loss accounting and the same counters for any input: the
golden vectors and loss streams, a lossy simulated recording, damaged streams and random
garbage, fed whole or in random pieces.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import firmware_protocol.decoder as decoder_mod
from firmware_protocol import (
    FrameTable,
    SamplesFrame,
    Side,
    StatusFrame,
    StreamDecoder,
    fast,
    to_wire,
)
from firmware_protocol.cobs import cobs_encode, decode_segments

pytestmark = pytest.mark.skipif(not fast.AVAILABLE, reason="numba is not installed")

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "firmware_protocol/vectors/vectors.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture(autouse=True)
def _fast_for_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the kernel for inputs of any size (it normally starts at `_FAST_MIN` pieces)."""
    monkeypatch.setattr(decoder_mod, "_FAST_MIN", 1)


def _decode(data: bytes, *, fast_path: bool, cuts: list[int] = ()) -> tuple[Any, ...]:
    """Frames (as a table and as objects) and counters of ``data`` fed in pieces."""
    dec = StreamDecoder(fast=fast_path)
    tables = []
    prev = 0
    for c in [*sorted(set(cuts)), len(data)]:
        tables.append(dec.feed_table(data[prev:c]))
        prev = c
    tables.append(dec.feed_table(b"\x00"))
    return FrameTable.concat(tables), dec.stats.as_dict()


def _assert_same(data: bytes, cuts: list[int] = ()) -> FrameTable:
    ref, ref_stats = _decode(data, fast_path=False, cuts=cuts)
    new, new_stats = _decode(data, fast_path=True, cuts=cuts)
    assert new_stats == ref_stats
    for f in fields(FrameTable):
        if f.name not in ("decoded", "start"):  # where the decoded bytes lie may differ
            np.testing.assert_array_equal(getattr(new, f.name), getattr(ref, f.name), f.name)
    assert new.to_frames() == ref.to_frames() or _same_frames(new.to_frames(), ref.to_frames())
    for dev, side in ref.devices():
        for a, b in zip(new.samples(dev, side), ref.samples(dev, side), strict=True):
            np.testing.assert_array_equal(a, b)
    return new


def _same_frames(a: list, b: list) -> bool:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert type(x) is type(y)
        if isinstance(x, SamplesFrame):
            assert (x.device_id, x.side, x.seq, x.timestamp_us) == (
                y.device_id, y.side, y.seq, y.timestamp_us
            )  # fmt: skip
            np.testing.assert_array_equal(x.counts, y.counts)
        else:
            assert x == y
    return True


def _frames(n: int, seed: int, *, n_sensors: int = 16, batch: int = 6) -> bytes:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        side = Side(i % 2)
        seq = (i // 2) & 0xFFFF
        if i % 17 == 5:
            out.append(to_wire(StatusFrame(10 + int(side), side, seq, i * 1000, 80, 0, 0)))
            continue
        counts = rng.integers(0, 4096, (batch, n_sensors)).astype(np.uint16)
        counts[rng.random(counts.shape) < 0.4] = 0
        out.append(to_wire(SamplesFrame(10 + int(side), side, seq, i * 30000, 200, counts)))
    return b"".join(out)


def test_crc_tables_give_the_spec_check_value() -> None:
    t = fast.crc16_tables()
    assert t.shape == (8, 256)
    # One byte through table 0 is the bitwise update of a zero register's high byte.
    assert int(t[0, 1]) == 0x1021
    pieces, _, _, valid, crc = fast.decode_segments(
        np.frombuffer(b"\x0c123456789ab\x00", np.uint8),
        np.array([0]),
        np.array([12]),
        crc_min=3,
    )
    assert valid.tolist() == [True]
    assert int(crc[0]) == binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["name"] for v in VECTORS["vectors"]])
def test_golden_vectors(vector: dict[str, Any]) -> None:
    if "wire_hex" not in vector:
        pytest.skip("not a frame vector")
    table = _assert_same(bytes.fromhex(vector["wire_hex"]))
    assert len(table) == 1


def test_all_golden_vectors_in_one_feed_and_byte_by_byte() -> None:
    stream = b"".join(bytes.fromhex(v["wire_hex"]) for v in VECTORS["vectors"] if "wire_hex" in v)
    _assert_same(stream)
    _assert_same(stream, list(range(1, len(stream))))


@pytest.mark.parametrize(
    "vector", VECTORS["loss_streams"], ids=[v["name"] for v in VECTORS["loss_streams"]]
)
def test_loss_streams(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    table = _assert_same(wire)
    assert table.lost_before.sum() == vector["expected"]["lost_frames"]
    _assert_same(wire, list(range(0, len(wire), 7)))


@pytest.mark.parametrize(
    "vector", VECTORS["range_streams"], ids=[v["name"] for v in VECTORS["range_streams"]]
)
def test_out_of_range_streams(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    _assert_same(wire)
    _assert_same(wire, list(range(0, len(wire), 5)))


def test_a_lossy_simulated_recording(tmp_path: Path) -> None:
    from insole.commands.simulate import SimulationRequest, simulate_to_file
    from insole.recordings.container import read_raw_recording

    path = tmp_path / "lossy.insrec"
    simulate_to_file(SimulationRequest(duration_s=20, seed=4, loss=0.05, burst_loss=0.02), path)
    raw = read_raw_recording(path)
    for stream in raw.streams.values():
        table = _assert_same(stream.data)
        assert table.lost_before.sum() > 0


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_edits=st.integers(0, 80),
    cuts=st.lists(st.integers(0, 60_000), max_size=12),
)
def test_damaged_streams_in_random_pieces(seed: int, n_edits: int, cuts: list[int]) -> None:
    data = bytearray(_frames(300, seed % 1000))
    rng = np.random.default_rng(seed)
    for _ in range(n_edits):  # flipped bytes, lost bytes, stray delimiters, long runs
        at = int(rng.integers(0, len(data)))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            data[at] = int(rng.integers(0, 256))
        elif kind == 1:
            del data[at : at + int(rng.integers(1, 300))]
        elif kind == 2:
            data[at:at] = b"\x00"
        else:
            data[at:at] = bytes(rng.integers(1, 256, int(rng.integers(1, 3000)), dtype=np.uint8))
    _assert_same(bytes(data), cuts)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(max_size=6000), cuts=st.lists(st.integers(0, 6000), max_size=8))
def test_random_garbage(data: bytes, cuts: list[int]) -> None:
    _assert_same(data, cuts)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.binary(max_size=1200), st.floats(0, 1), st.booleans()), max_size=30
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_decode_segments_equals_the_reference(
    frames: list[tuple[bytes, float, bool]], seed: int
) -> None:
    """Valid encodings (with long blocks of 0xFF codes), corrupted ones, any lengths."""
    rng = np.random.default_rng(seed)
    parts = []
    for raw, zero_share, corrupt in frames:
        b = np.frombuffer(raw, np.uint8).copy()
        b[b == 0] = 1
        b[rng.random(len(b)) < zero_share * zero_share] = 0  # from none to many zeros
        enc = bytearray(cobs_encode(b.tobytes()))
        if corrupt and enc:
            enc[int(rng.integers(len(enc)))] = int(rng.integers(1, 256))
        parts.append(bytes(enc))
    buf = np.frombuffer(b"\x00".join(parts) + b"\x00", np.uint8)
    delims = np.flatnonzero(buf == 0)
    starts = np.concatenate(([0], delims[:-1] + 1)).astype(np.int64)
    ends = delims.astype(np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    for crc_min in (None, 14):
        ref = decode_segments(buf, starts, ends, crc_min=crc_min)
        new = fast.decode_segments(buf, starts, ends, crc_min=crc_min)
        np.testing.assert_array_equal(new[3], ref[3])  # valid
        np.testing.assert_array_equal(new[2], ref[2])  # decoded lengths
        np.testing.assert_array_equal(new[4], ref[4])  # CRCs
        dec_ref, dec_new = np.concatenate(ref[0]), np.concatenate(new[0])
        for a, n, b in zip(new[1], new[2], ref[1], strict=True):
            assert dec_new[a : a + n].tobytes() == dec_ref[b : b + n].tobytes()


def test_fast_false_uses_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the kernel ran")

    monkeypatch.setattr(fast, "decode_segments", boom)
    data = _frames(50, 1)
    assert len(StreamDecoder(fast=False).feed_table(data)) == 50
    with pytest.raises(AssertionError, match="kernel"):
        StreamDecoder(fast=True).feed_table(data)


def test_a_process_that_only_decodes_does_not_load_numba() -> None:
    """numba and LLVM cost ~130 MB and 0.4 s: decoding alone (info, a recorder) stays numpy."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from firmware_protocol.decoder import StreamDecoder\n"
        "from insole.core.calibration import Calibrator\n"
        "d = StreamDecoder(); d.feed_table(os.urandom(3_000_000))\n"
        "assert d.stats.bytes_in == 3_000_000\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
