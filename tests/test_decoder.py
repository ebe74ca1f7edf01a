"""Properties of the wire codec: round trips, any-split invariance, resync, loss accounting."""

from __future__ import annotations

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
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode_frame,
    encode_samples_frames,
    to_wire,
)


def _frames(
    n: int, *, seed: int = 0, n_sensors: int = 16, batch: int = 6, status: bool = True
) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        side = Side(i % 2)
        seq = (i // 2) & 0xFFFF
        if status and i % 17 == 5:
            out.append(StatusFrame(10 + int(side), side, seq, i * 1000, 80, 0, 0))
            continue
        counts = rng.integers(0, 4096, (batch, n_sensors)).astype(np.uint16)
        counts[rng.random(counts.shape) < 0.4] = 0
        out.append(SamplesFrame(10 + int(side), side, seq, i * 30000, 200, counts))
    return out


def _stream(frames: list) -> bytes:
    return b"".join(to_wire(f) for f in frames)


def _feed_split(data: bytes, cuts: list[int]) -> tuple[list, StreamDecoder]:
    dec = StreamDecoder()
    out = []
    prev = 0
    for c in sorted(set(cuts)):
        out += dec.feed(data[prev:c])
        prev = c
    out += dec.feed(data[prev:])
    return out, dec


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


@pytest.mark.parametrize(
    "frame",
    [
        SamplesFrame(1, Side.LEFT, 0, 0, 200, np.zeros((1, 1), np.uint16)),
        SamplesFrame(
            65535,
            Side.RIGHT,
            65535,
            2**32 - 1,
            1000,
            np.full((16, 16), 4095, np.uint16),
            np.full((16, 6), -1, np.int16),
        ),
        DeviceInfoFrame(3, Side.LEFT, 1, 5, (1, 2, 3), 4, 16, 12, 200, "insole-L-0003"),
        StatusFrame(3, Side.RIGHT, 2, 7, 255, 0x1F, 65535),
    ],
)
def test_frame_round_trip(frame) -> None:
    assert decode_frame(encode_frame(frame)) == frame
    assert StreamDecoder().feed(to_wire(frame)) == [frame]


def test_encoder_rejects_out_of_range_fields() -> None:
    with pytest.raises(ProtocolError, match="n_sensors"):
        encode_frame(SamplesFrame(1, Side.LEFT, 0, 0, 200, np.zeros((1, 129), np.uint16)))
    with pytest.raises(ProtocolError, match="seq"):
        encode_frame(StatusFrame(1, Side.LEFT, 70000, 0, 1, 0, 0))
    with pytest.raises(ProtocolError, match="name"):
        encode_frame(DeviceInfoFrame(1, Side.LEFT, 0, 0, (1, 0, 0), 1, 16, 12, 200, "x" * 25))


def test_decode_frame_is_strict() -> None:
    raw = bytearray(encode_frame(StatusFrame(1, Side.LEFT, 0, 0, 50, 0, 0)))
    raw[-1] ^= 0x01
    with pytest.raises(ProtocolError, match="CRC"):
        decode_frame(bytes(raw))
    with pytest.raises(ProtocolError, match="shorter"):
        decode_frame(b"\x01\x03\x00")


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(cuts=st.lists(st.integers(0, 4000), max_size=60))
def test_any_split_gives_identical_frames_and_counters(cuts: list[int]) -> None:
    frames = _frames(40)
    data = _stream(frames)
    whole = StreamDecoder()
    expected = whole.feed(data)
    assert expected == frames
    got, dec = _feed_split(data, [c % (len(data) + 1) for c in cuts])
    assert got == expected
    assert dec.stats == whole.stats


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    garbage=st.lists(
        st.tuples(st.integers(0, 3999), st.binary(min_size=1, max_size=40)), max_size=8
    ),
    cuts=st.lists(st.integers(0, 5000), max_size=40),
)
def test_garbage_never_raises_and_decoder_resynchronises(garbage, cuts) -> None:
    frames = _frames(40, seed=1)
    data = bytearray(_stream(frames))
    for at, junk in sorted(garbage, reverse=True):
        data[at % len(data) : at % len(data)] = junk
    data = bytes(data)
    whole = StreamDecoder()
    got = whole.feed(data)
    # Every delivered frame is one of the frames sent, in order (a CRC can't be fooled here).
    sent = [f for f in frames]
    pos = 0
    for f in got:
        while pos < len(sent) and sent[pos] != f:
            pos += 1
        assert pos < len(sent)
    # Garbage destroys at most the frames it touches.
    assert len(got) >= len(frames) - 2 * len(garbage)
    split, dec = _feed_split(data, [c % (len(data) + 1) for c in cuts])
    assert split == got
    assert dec.stats == whole.stats


def test_loss_and_duplicates_are_counted_exactly() -> None:
    frames = _frames(400, seed=2, status=False)
    rng = np.random.default_rng(5)
    drop = rng.random(len(frames)) < 0.1
    drop[:2] = False
    kept = [f for f, d in zip(frames, drop, strict=True) if not d]
    data = _stream(kept[:50]) + to_wire(kept[49]) + _stream(kept[50:])  # one duplicate
    dec = StreamDecoder()
    got = dec.feed(data)
    assert got == kept
    assert dec.stats.lost_frames == int(drop.sum()) - _trailing_drops(frames, drop)
    assert dec.stats.duplicate_frames == 1
    by_side = {k[1]: v for k, v in dec.stats.lost_by_device.items()}
    for side in (Side.LEFT, Side.RIGHT):
        idx = [i for i, f in enumerate(frames) if f.side == side]
        last_kept = max(i for i in idx if not drop[i])
        assert by_side[side] == sum(1 for i in idx if drop[i] and i < last_kept)


def _trailing_drops(frames, drop) -> int:
    n = 0
    for side in (Side.LEFT, Side.RIGHT):
        idx = [i for i, f in enumerate(frames) if f.side == side]
        last_kept = max(i for i in idx if not drop[i])
        n += sum(1 for i in idx if drop[i] and i > last_kept)
    return n


def test_sequence_wrap_around_is_not_a_loss() -> None:
    counts = np.ones((100, 2, 4), np.uint16)
    seq = (np.arange(100) + 65500) & 0xFFFF
    wire, _ = encode_samples_frames(
        device_id=1,
        side=Side.LEFT,
        seq=seq,
        timestamp_us=np.arange(100) * 10000,
        sample_rate_hz=200,
        counts=counts,
    )
    dec = StreamDecoder()
    assert len(dec.feed(wire.tobytes())) == 100
    assert dec.stats.lost_frames == 0


def test_gap_longer_than_counter_period_uses_device_clock() -> None:
    # 2 samples at 200 Hz = 10 ms a frame; a 70000-frame outage wraps the counter once.
    seq = np.array([0, 1, 70002 & 0xFFFF, 70003 & 0xFFFF])
    ts = np.array([0, 1, 70002, 70003]) * 10_000
    wire, _ = encode_samples_frames(
        device_id=1,
        side=Side.LEFT,
        seq=seq,
        timestamp_us=ts,
        sample_rate_hz=200,
        counts=np.ones((4, 2, 4), np.uint16),
    )
    dec = StreamDecoder()
    dec.feed(wire.tobytes())
    assert dec.stats.lost_frames == 70000


def test_cut_frame_after_disconnect_is_counted_not_merged() -> None:
    frames = _frames(6, seed=3)
    a, b = to_wire(frames[0]), to_wire(frames[2])
    dec = StreamDecoder()
    got = dec.feed(a + to_wire(frames[1])[:20])
    got += dec.flush_partial()
    got += dec.feed(b)
    assert got == [frames[0], frames[2]]
    assert dec.stats.cobs_errors + dec.stats.crc_errors == 1
    assert dec.stats.discarded_bytes == 20


def test_overlong_run_is_discarded_identically_for_any_split() -> None:
    frames = _frames(4, seed=4)
    data = to_wire(frames[0]) + bytes(range(1, 256)) * 6 + b"\x00" + to_wire(frames[1])
    whole = StreamDecoder()
    got = whole.feed(data)
    assert got == frames[:2]
    assert whole.stats.discarded_bytes == 255 * 6
    for step in (1, 7, 300, 1200):
        dec = StreamDecoder()
        out = []
        for i in range(0, len(data), step):
            out += dec.feed(data[i : i + step])
        assert out == got
        assert dec.stats == whole.stats


def test_strict_mode_raises_with_offset() -> None:
    frames = _frames(3, seed=6)
    data = to_wire(frames[0]) + b"\x07\x07\x07\x00" + to_wire(frames[1])
    with pytest.raises(ProtocolError) as info:
        StreamDecoder(strict=True).feed(data)
    assert info.value.offset == len(to_wire(frames[0]))


def test_unknown_frame_type_is_skipped_and_counted() -> None:
    import struct

    raw = struct.pack("<BBBBHHI", 1, 0x7E, 0, 0, 1, 0, 0) + b"xyz"
    raw += struct.pack("<H", crc16(raw))
    frames = _frames(2, seed=7)
    dec = StreamDecoder()
    got = dec.feed(to_wire(frames[0]) + cobs_encode(raw) + b"\x00" + to_wire(frames[1]))
    assert got == frames[:2]
    assert dec.stats.unknown_frames == 1


@pytest.mark.parametrize("fast", [False, True])
def test_a_frame_of_an_unknown_type_takes_its_seq_and_loses_nothing(fast: bool) -> None:
    # SPEC §2: one seq counter for all of a device's frames, whatever the type; §7: readers
    # skip unknown types. A firmware that sends a new frame type between SAMPLES frames must
    # not read as frame loss (it read as 50 % loss).
    import struct

    def unknown(device: int, side: Side, seq: int, ts: int) -> bytes:
        raw = struct.pack("<BBBBHHI", 1, 0x04, int(side), 0, device, seq, ts) + b"new event"
        return cobs_encode(raw + struct.pack("<H", crc16(raw))) + b"\x00"

    rng = np.random.default_rng(3)
    wire, sent = b"", []
    for seq in range(80):
        for side in (Side.LEFT, Side.RIGHT):
            if seq % 2:
                wire += unknown(10 + int(side), side, seq, seq * 30000)
                continue
            counts = rng.integers(0, 4096, (6, 16)).astype(np.uint16)
            frame = SamplesFrame(10 + int(side), side, seq, seq * 30000, 200, counts)
            sent.append(frame)
            wire += to_wire(frame)
    dec = StreamDecoder(fast=fast)
    got = dec.feed(wire)
    assert got == sent
    assert dec.stats.unknown_frames == 80
    assert dec.stats.lost_frames == 0
    # A frame lost between them is still seen as lost: drop one unknown and one SAMPLES frame.
    pieces = wire.split(b"\x00")[:-1]
    del pieces[9], pieces[20]
    dec = StreamDecoder(fast=fast)
    dec.feed(b"".join(p + b"\x00" for p in pieces))
    assert dec.stats.lost_frames == 2


def test_cobs_round_trip_on_long_runs() -> None:
    for data in (bytes(range(1, 256)) * 3, b"\x00" * 300, bytes([1] * 254), bytes([1] * 508)):
        assert cobs_decode(cobs_encode(data)) == data
        assert b"\x00" not in cobs_encode(data)


def test_vectorised_encoder_equals_single_frame_encoder() -> None:
    rng = np.random.default_rng(8)
    counts = rng.integers(0, 4096, (20, 6, 16)).astype(np.uint16)
    counts[rng.random(counts.shape) < 0.5] = 0
    wire, lengths = encode_samples_frames(
        device_id=9,
        side=Side.RIGHT,
        seq=np.arange(20) + 65530,
        timestamp_us=np.arange(20) * 7,
        sample_rate_hz=200,
        counts=counts,
    )
    singles = [
        to_wire(SamplesFrame(9, Side.RIGHT, (65530 + i) & 0xFFFF, i * 7, 200, counts[i]))
        for i in range(20)
    ]
    assert wire.tobytes() == b"".join(singles)
    assert lengths.tolist() == [len(s) for s in singles]


def test_frame_table_samples_match_frames() -> None:
    frames = _frames(30, seed=9)
    dec = StreamDecoder()
    table = dec.feed_table(_stream(frames))
    counts, frame_index, imu = table.samples(11, Side.RIGHT)
    expected = np.concatenate(
        [f.counts for f in frames if isinstance(f, SamplesFrame) and f.side == Side.RIGHT]
    )
    assert np.array_equal(counts, expected)
    assert imu is None
    assert (np.diff(frame_index) >= 0).all()


# ------------------------------------------------- vectorised paths (many equal-length frames)


def _corrupt(data: bytes, seed: int, n_edits: int) -> bytes:
    """Flip, delete, insert and zero bytes at random places."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    for _ in range(n_edits):
        i = int(rng.integers(0, len(buf)))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            buf[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            del buf[i]
        elif kind == 2:
            buf.insert(i, int(rng.integers(0, 256)))
        else:
            buf[i] = 0
    return bytes(buf)


def _reference_decode(data: bytes) -> tuple[list, dict]:
    """Frames and counters from small pieces: every segment takes the plain walk."""
    frames, dec = _feed_split(data, list(range(0, len(data), 997)))
    return frames, dec.stats.as_dict()


def _same_frames(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if type(x) is not type(y):
            return False
        if isinstance(x, SamplesFrame):
            if (x.device_id, x.side, x.seq, x.timestamp_us, x.sample_rate_hz) != (
                y.device_id,
                y.side,
                y.seq,
                y.timestamp_us,
                y.sample_rate_hz,
            ) or not np.array_equal(x.counts, y.counts):
                return False
        elif x != y:
            return False
    return True


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_edits=st.integers(0, 60))
def test_whole_feed_of_many_frames_equals_piecewise_feed(seed: int, n_edits: int) -> None:
    # 1500 SAMPLES frames of one length: fed at once they take the 2-D path (COBS and CRC
    # byte position by byte position); fed in 997-byte pieces every piece takes the walk.
    data = _corrupt(_stream(_frames(1500, seed=seed % 1000, status=True)), seed, n_edits)
    whole = StreamDecoder()
    frames = whole.feed(data)
    ref_frames, ref_stats = _reference_decode(data)
    assert whole.stats.as_dict() == ref_stats
    assert _same_frames(frames, ref_frames)


def test_decode_equal_matches_single_segment_decoder() -> None:
    from firmware_protocol.cobs import _decode_one, cobs_decode_equal

    rng = np.random.default_rng(3)
    for length in (1, 2, 13, 200, 254):
        # Valid encodings of random frames (with many zeros), then random non-zero garbage.
        segs = []
        while len(segs) < 300:
            raw = rng.integers(0, 256, 300, dtype=np.uint8)
            raw[rng.random(300) < 0.3] = 0
            enc = cobs_encode(raw[: length - 1].tobytes())
            if len(enc) == length:
                segs.append(enc)
        segs += [rng.integers(1, 256, length, dtype=np.uint8).tobytes() for _ in range(300)]
        buf = np.frombuffer(b"\x00".join(segs) + b"\x00", np.uint8)
        starts = np.arange(len(segs)) * (length + 1)
        rows, valid, crc = cobs_decode_equal(buf, starts, length, crc_length=max(length - 3, 0))
        for k, seg in enumerate(segs):
            ref = _decode_one(seg)
            assert valid[k] == (ref is not None)
            if ref is not None:
                assert rows[k].tobytes() == ref
                if length >= 4:
                    assert crc is not None
                    assert crc[k] == crc16(ref[: length - 3])


def test_decode_segments_fast_path_equals_walk() -> None:
    from firmware_protocol.cobs import _decode_walk, decode_segments

    rng = np.random.default_rng(4)
    data = _corrupt(_stream(_frames(2500, seed=5)), 6, 200)
    buf = np.frombuffer(data, np.uint8)
    delims = np.flatnonzero(buf == 0)
    starts = np.concatenate(([0], delims[:-1] + 1)).astype(np.int64)
    ends = delims.astype(np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    pieces, ds, dl, valid, crc = decode_segments(buf, starts, ends, crc_min=14)
    decoded = np.concatenate(pieces)
    ref, rds, rdl, rvalid = _decode_walk(buf, starts, ends)
    assert np.array_equal(valid, rvalid)
    assert np.array_equal(dl, rdl)
    for k in rng.permutation(len(ds)):
        got = decoded[ds[k] : ds[k] + dl[k]].tobytes()
        assert got == ref[rds[k] : rds[k] + rdl[k]].tobytes()
        if dl[k] >= 14:
            assert crc[k] == crc16(got[:-2])
        else:
            assert crc[k] == -1


def test_crc_lanes_match_crc16() -> None:
    from firmware_protocol.crc import crc16_rows

    rng = np.random.default_rng(5)
    for n, length in ((1, 1), (7, 9), (9, 14), (1000, 210)):
        rows = rng.integers(0, 256, (n, length), dtype=np.uint8)
        assert crc16_rows(rows).tolist() == [crc16(r.tobytes()) for r in rows]


def test_garbage_feed_memory_is_bounded() -> None:
    import tracemalloc

    data = np.random.default_rng(6).bytes(5_000_000)
    tracemalloc.start()
    try:
        dec = StreamDecoder()
        dec.feed_table(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert dec.stats.discarded_bytes > 0.99 * len(data)
    assert peak < 6 * len(data)  # was ~26x (one 8-byte index per byte, then a sort)


def test_large_inputs_are_decoded_in_slices_with_identical_results(monkeypatch) -> None:
    import os

    from firmware_protocol import decoder

    rng = np.random.default_rng(3)
    data = bytearray(_stream(_frames(400, seed=3)))
    for pos in rng.integers(0, len(data), 40):  # some damage, and garbage in the middle
        data[pos] ^= 0x5A
    data[len(data) // 2 : len(data) // 2] = os.urandom(20000)
    whole = StreamDecoder()
    frames_whole = whole.feed_table(bytes(data)).to_frames()
    monkeypatch.setattr(decoder, "FEED_SLICE_BYTES", 997)  # many slices, cut anywhere
    sliced = StreamDecoder()
    table = sliced.feed_table(bytes(data))
    assert table.to_frames() == frames_whole
    assert sliced.stats.as_dict() == whole.stats.as_dict()
    assert len(frames_whole) > 300


def test_fifty_megabytes_of_garbage_in_one_feed_stay_bounded() -> None:
    import os
    import tracemalloc

    data = os.urandom(50 * 1024 * 1024)
    dec = StreamDecoder()
    tracemalloc.start()
    dec.feed_table(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 60 * 1024 * 1024  # temporaries of one 4 MiB slice (22 MB), not of 50 MB
    assert dec.stats.bytes_in == len(data)
