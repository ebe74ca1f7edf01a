"""Field ranges at decode (SPEC §1.4): golden range streams, strict messages, any split, and the
vectorised counts check against a frame-by-frame reference.

The range streams in ``firmware_protocol/vectors/vectors.json`` are built by ``make_vectors.py``
with ``struct``, independently of the codec, and carry the counters worked out by hand.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_protocol import (
    DeviceInfoFrame,
    ProtocolError,
    SamplesFrame,
    Side,
    StatusFrame,
    StreamDecoder,
    cobs_encode,
    crc16,
    encode_frame,
    encode_samples_frames,
    to_wire,
)
from firmware_protocol.decoder import _max_counts

VECTORS_DIR = Path(__file__).resolve().parents[1] / "firmware_protocol" / "vectors"
VECTORS_PATH = VECTORS_DIR / "vectors.json"
RANGE: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))[
    "range_streams"
]
COUNTERS = ("lost_frames", "malformed_frames", "out_of_range_frames", "discarded_bytes")

#: What strict mode names for the first refused frame of each stream (written by hand).
STRICT_MESSAGES = {
    "range_samples_rate_60000": "SAMPLES sample_rate_hz 60000 outside 1..10000",
    "range_samples_rate_0": "SAMPLES sample_rate_hz 0 outside 1..10000",
    "range_samples_no_sensors": "SAMPLES n_sensors 0 outside 1..128",
    "range_samples_no_samples": "SAMPLES n_samples 0 outside 1..32",
    "range_samples_129_sensors": "SAMPLES n_sensors 129 outside 1..128",
    "range_samples_33_samples": "SAMPLES n_samples 33 outside 1..32",
    "range_frame_over_1024_bytes": "SAMPLES frame length 1042 outside 14..1024",
    "range_device_info_fields": "DEVICE_INFO adc_bits 40 outside 1..16",
    "range_counts_over_adc_bits": "SAMPLES count 4096 outside 0..4095",
    "range_counts_per_device": "SAMPLES count 5000 outside 0..4095",
}


def _wire_frames(vector: dict[str, Any]) -> list[bytes]:
    """The stream cut after each delimiter: one frame's wire bytes per entry."""
    parts = bytes.fromhex(vector["wire_hex"]).split(b"\x00")[:-1]
    return [p + b"\x00" for p in parts]


def _check(vector: dict[str, Any], dec: StreamDecoder, seqs: list[int], lost: list[int]) -> None:
    exp = vector["expected"]
    assert seqs == exp["delivered_seq"]
    assert lost == exp["lost_before"]
    for name in COUNTERS:
        assert getattr(dec.stats, name) == exp[name], name
    assert dec.stats.frames == len(exp["delivered_seq"])
    assert dec.stats.crc_errors == dec.stats.cobs_errors == dec.stats.short_frames == 0


def test_every_range_stream_has_a_strict_message() -> None:
    assert {v["name"] for v in RANGE} == set(STRICT_MESSAGES)


@pytest.mark.parametrize("vector", RANGE, ids=[v["name"] for v in RANGE])
def test_range_stream_whole(vector: dict[str, Any]) -> None:
    dec = StreamDecoder()
    table = dec.feed_table(bytes.fromhex(vector["wire_hex"]))
    _check(vector, dec, table.seq.tolist(), table.lost_before.tolist())


@pytest.mark.parametrize("vector", RANGE, ids=[v["name"] for v in RANGE])
def test_range_stream_feed_byte_by_byte_and_random_splits(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    rng = np.random.default_rng(len(wire))
    for sizes in ([1], [int(x) for x in rng.integers(1, 60, 200)]):
        dec = StreamDecoder()
        seqs: list[int] = []
        lost: list[int] = []
        pos = 0
        i = 0
        while pos < len(wire):
            size = sizes[i % len(sizes)]
            table = dec.feed_table(wire[pos : pos + size])
            seqs += table.seq.tolist()
            lost += table.lost_before.tolist()
            pos += size
            i += 1
        _check(vector, dec, seqs, lost)
    # `feed` (frame objects) gives the same frames.
    dec = StreamDecoder()
    frames = [f for part in _wire_frames(vector) for f in dec.feed(part)]
    assert [f.seq for f in frames] == vector["expected"]["delivered_seq"]
    assert dec.stats.out_of_range_frames == vector["expected"]["out_of_range_frames"]


@pytest.mark.parametrize("vector", RANGE, ids=[v["name"] for v in RANGE])
def test_strict_mode_names_the_field_and_its_range(vector: dict[str, Any]) -> None:
    parts = _wire_frames(vector)
    first_bad = vector["expected"]["refused_frames"][0]
    before = b"".join(parts[:first_bad])
    dec = StreamDecoder(strict=True)
    dec.feed(before)  # the frames before the first refused one are fine
    with pytest.raises(ProtocolError) as info:
        dec.feed(parts[first_bad])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(STRICT_MESSAGES[vector["name"]])
    assert message.endswith(f"at stream offset {len(before)}")
    assert info.value.offset == len(before)
    # The whole stream at once raises the same.
    with pytest.raises(ProtocolError, match=STRICT_MESSAGES[vector["name"]]):
        StreamDecoder(strict=True).feed(bytes.fromhex(vector["wire_hex"]))


def test_out_of_range_frames_are_part_of_malformed_and_errors() -> None:
    vector = next(v for v in RANGE if v["name"] == "range_device_info_fields")
    dec = StreamDecoder()
    dec.feed(bytes.fromhex(vector["wire_hex"]))
    stats = dec.stats.as_dict()
    assert stats["out_of_range_frames"] == stats["malformed_frames"] == 7
    assert dec.stats.errors == 7
    assert list(stats).index("out_of_range_frames") == list(stats).index("malformed_frames") + 1


def test_battery_101_to_254_is_unknown_not_refused() -> None:
    frames = [StatusFrame(1, Side.LEFT, i, i, b, 0, 0) for i, b in enumerate((0, 100, 101, 254))]
    dec = StreamDecoder(strict=True)
    assert dec.feed(b"".join(to_wire(f) for f in frames)) == frames
    assert dec.stats.out_of_range_frames == 0


# ------------------------------------------------------------------------ encoders refuse too


def test_encoders_refuse_what_the_decoder_refuses() -> None:
    info = (1, Side.LEFT, 0, 0, (1, 0, 0), 1)
    for n_sensors, adc_bits, rate, field in (
        (16, 40, 200, "adc_bits"),
        (16, 0, 200, "adc_bits"),
        (0, 12, 200, "n_sensors"),
        (129, 12, 200, "n_sensors"),
        (16, 12, 0, "sample_rate_hz"),
        (16, 12, 60000, "sample_rate_hz"),
    ):
        with pytest.raises(ProtocolError, match=field):
            encode_frame(DeviceInfoFrame(*info, n_sensors, adc_bits, rate, "x"))
    with pytest.raises(ProtocolError, match="sample_rate_hz"):
        encode_frame(SamplesFrame(1, Side.LEFT, 0, 0, 60000, np.zeros((1, 1), np.uint16)))
    with pytest.raises(ProtocolError, match="exceeds 1024"):
        encode_frame(SamplesFrame(1, Side.LEFT, 0, 0, 200, np.zeros((4, 128), np.uint16)))
    many = {"device_id": 1, "side": Side.LEFT, "seq": np.arange(2), "timestamp_us": np.arange(2)}
    with pytest.raises(ProtocolError, match="sample_rate_hz"):
        encode_samples_frames(**many, sample_rate_hz=60000, counts=np.zeros((2, 1, 1), np.uint16))
    with pytest.raises(ProtocolError, match="frame length"):
        encode_samples_frames(**many, sample_rate_hz=200, counts=np.zeros((2, 4, 128), np.uint16))


# ----------------------------------------- random streams: any split, and against a reference


def _raw_samples(side: int, seq: int, rate: int, counts: np.ndarray, dev: int = 5) -> bytes:
    """A SAMPLES frame laid out with struct (any field value), COBS-framed."""
    n_samples, n_sensors = counts.shape
    raw = struct.pack("<BBBBHHI", 1, 1, side, 0, dev, seq, seq * 30_000)
    raw += struct.pack("<HBB", rate, n_sensors, n_samples) + counts.astype("<u2").tobytes()
    return cobs_encode(raw + struct.pack("<H", crc16(raw))) + b"\x00"


def _raw_info(side: int, seq: int, adc_bits: int, dev: int = 5) -> bytes:
    raw = struct.pack("<BBBBHHI", 1, 2, side, 0, dev, seq, seq * 30_000)
    raw += struct.pack("<BBBBBBHB", 1, 0, 0, 1, 4, adc_bits, 200, 0)
    return cobs_encode(raw + struct.pack("<H", crc16(raw))) + b"\x00"


def _random_stream(seed: int, n: int, uniform: bool) -> tuple[bytes, list[tuple[int, int]]]:
    """SAMPLES frames of two insoles with DEVICE_INFO, STATUS and out-of-range frames mixed in.

    Returns the stream and the ``(side, seq)`` of the frames a reader must deliver, decided
    frame by frame from SPEC §1.4 (the loss accounting aside: no duplicates, no late frames).
    """
    rng = np.random.default_rng(seed)
    bits = {0: 16, 1: 16}  # no DEVICE_INFO yet: only the u16 type limits counts
    seq = {0: 0, 1: 0}
    out = []
    keep = []
    for _ in range(n):
        side = int(rng.integers(0, 2))
        s = seq[side]
        seq[side] += 1
        kind = rng.random()
        if kind < 0.03:
            new_bits = int(rng.choice([8, 10, 12, 16, 0, 40]))
            out.append(_raw_info(side, s, new_bits))
            if 1 <= new_bits <= 16:
                bits[side] = new_bits
                keep.append((side, s))
        elif kind < 0.05:
            out.append(to_wire(StatusFrame(5, Side(side), s, s * 30_000, 80, 0, 0)))
            keep.append((side, s))
        else:
            n_samples = 6 if uniform else int(rng.integers(1, 8))
            rate = 200 if rng.random() > 0.02 else int(rng.choice([0, 10001, 60000]))
            limit = (1 << bits[side]) - 1
            counts = rng.integers(0, limit + 1, (n_samples, 4))
            if rng.random() < 0.05:
                counts[rng.integers(0, n_samples), rng.integers(0, 4)] = min(
                    limit + 1 + int(rng.integers(0, 100)), 0xFFFF
                )
            out.append(_raw_samples(side, s, rate, counts))
            if 1 <= rate <= 10000 and int(counts.max()) <= limit:
                keep.append((side, s))
    return b"".join(out), keep


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    uniform=st.booleans(),
    cuts=st.lists(st.integers(0, 10**6), max_size=40),
)
def test_any_split_refuses_the_same_frames_as_the_rules(
    seed: int, uniform: bool, cuts: list[int]
) -> None:
    data, keep = _random_stream(seed, 600, uniform)
    whole = StreamDecoder()
    table = whole.feed_table(data)
    assert list(zip(table.side.tolist(), table.seq.tolist(), strict=True)) == keep
    split = StreamDecoder()
    got: list = []
    prev = 0
    for c in sorted({c % (len(data) + 1) for c in cuts}):
        got += split.feed(data[prev:c])
        prev = c
    got += split.feed(data[prev:])
    assert [(int(f.side), f.seq) for f in got] == keep
    assert split.stats == whole.stats
    assert whole.stats.out_of_range_frames == whole.stats.malformed_frames


def test_counts_check_paths_agree() -> None:
    # Equal-spaced runs (one 2-D view per run) and many short runs (reduceat) against a loop.
    rng = np.random.default_rng(3)
    n = 400
    n_counts = rng.integers(1, 40, n)
    gaps = rng.integers(3, 30, n)
    first = np.cumsum(gaps + 2 * n_counts) - 2 * n_counts
    buf = rng.integers(0, 256, int(first[-1] + 2 * n_counts[-1] + 2)).astype(np.uint8)
    buf[1::2] &= 0x0F  # counts mostly 12-bit
    buf[rng.integers(0, len(buf), 30) | 1] = 0x10  # a few 13-bit values
    data = buf.tobytes()
    limit = rng.choice([4095, 8191], n)
    expected = np.array(
        [
            np.frombuffer(data, "<u2", int(k), int(f)).max() > lim
            for f, k, lim in zip(first, n_counts, limit, strict=True)
        ]
    )
    assert expected.any()
    assert not expected.all()
    assert np.array_equal(_max_counts(data, first, n_counts, limit), expected)  # reduceat
    same = np.full(n, 7)
    regular = np.arange(n) * 21 + 5  # one run, odd spacing: unaligned rows
    exp_regular = np.array(
        [np.frombuffer(data, "<u2", 7, int(f)).max() > 4095 for f in regular]
    )
    assert np.array_equal(_max_counts(data, regular, same, 4095), exp_regular)
    assert np.array_equal(_max_counts(data, regular, same, np.full(n, 4095)), exp_regular)
