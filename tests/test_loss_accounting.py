"""Frame-loss accounting (SPEC §2.1): golden loss streams, the rules case by case, and the
vectorised common path against the frame-by-frame rules.

The loss streams in ``firmware_protocol/vectors/vectors.json`` are built by ``make_vectors.py``
with ``struct``, independently of the codec, and carry the counters worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_protocol import (
    DeviceInfoFrame,
    FrameType,
    SamplesFrame,
    Side,
    StatusFrame,
    StreamDecoder,
    encode_frame,
    to_wire,
)
from firmware_protocol.decoder import LATE_WINDOW, _classify

VECTORS_DIR = Path(__file__).resolve().parents[1] / "firmware_protocol" / "vectors"
VECTORS_PATH = VECTORS_DIR / "vectors.json"
LOSS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["loss_streams"]
COUNTERS = ("lost_frames", "duplicate_frames", "out_of_order_frames", "restarts", "clock_restarts")
PERIOD_US = 30_000  # 6 samples at 200 Hz


def _check(vector: dict[str, Any], frames: list, dec: StreamDecoder, lost: list[int]) -> None:
    exp = vector["expected"]
    assert [f.seq for f in frames] == exp["delivered_seq"]
    assert lost == exp["lost_before"]
    for name in COUNTERS:
        assert getattr(dec.stats, name) == exp[name], name
    assert dec.stats.frames == len(exp["delivered_seq"])
    assert sum(dec.stats.lost_by_device.values()) == exp["lost_frames"]


@pytest.mark.parametrize("vector", LOSS, ids=[v["name"] for v in LOSS])
def test_loss_stream_whole(vector: dict[str, Any]) -> None:
    dec = StreamDecoder()
    table = dec.feed_table(bytes.fromhex(vector["wire_hex"]))
    _check(vector, table.to_frames(), dec, table.lost_before.tolist())


@pytest.mark.parametrize("vector", LOSS, ids=[v["name"] for v in LOSS])
def test_loss_stream_byte_by_byte_and_random_splits(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    rng = np.random.default_rng(len(wire))
    for sizes in ([1], [int(x) for x in rng.integers(1, 40, 200)]):
        dec = StreamDecoder()
        frames: list = []
        lost: list[int] = []
        pos = 0
        i = 0
        while pos < len(wire):
            size = sizes[i % len(sizes)]
            table = dec.feed_table(wire[pos : pos + size])
            frames += table.to_frames()
            lost += table.lost_before.tolist()
            pos += size
            i += 1
        _check(vector, frames, dec, lost)


@pytest.mark.parametrize("vector", LOSS, ids=[v["name"] for v in LOSS])
def test_loss_stream_frames_match_their_fields(vector: dict[str, Any]) -> None:
    # The stream is the frames' wire bytes, each frame as the codec encodes it.
    wire = bytes.fromhex(vector["wire_hex"])
    got = b""
    for fields in vector["frames"]:
        side = Side.LEFT if fields["side"] == "left" else Side.RIGHT
        common = (fields["device_id"], side, fields["seq"], fields["timestamp_us"])
        frame: SamplesFrame | DeviceInfoFrame | StatusFrame
        if fields["frame_type"] == "SAMPLES":
            counts = np.array(fields["counts"], np.uint16)
            frame = SamplesFrame(*common, fields["sample_rate_hz"], counts)
        elif fields["frame_type"] == "STATUS":
            frame = StatusFrame(
                *common, fields["battery_pct"], fields["error_flags"], fields["frames_dropped"]
            )
        else:
            frame = DeviceInfoFrame(
                *common,
                tuple(fields["fw_version"]),
                fields["hw_revision"],
                fields["n_sensors"],
                fields["adc_bits"],
                fields["sample_rate_hz"],
                fields["name"],
            )
        assert len(encode_frame(frame)) >= 14
        got += to_wire(frame)
    assert got == wire


def test_every_rule_has_a_loss_stream() -> None:
    exp = [v["expected"] for v in LOSS]
    assert any(e["duplicate_frames"] for e in exp)
    assert any(e["out_of_order_frames"] for e in exp)
    assert any(e["restarts"] for e in exp)
    assert any(e["clock_restarts"] for e in exp)
    assert any(e["lost_frames"] > 65536 for e in exp)


# ------------------------------------------------------------------------- the rules, one by one

P = (6, 200)  # n_samples, sample_rate_hz: a 30 ms frame period
NONE = (0, 0)


@pytest.mark.parametrize(
    ("ref", "seq", "ts", "flags", "expected"),
    [
        (None, 5, 0, 0, ("first", 0)),
        ((10, 0), 11, PERIOD_US, 0, ("normal", 0)),
        ((10, 0), 14, 4 * PERIOD_US, 0, ("normal", 3)),
        ((65535, 2**32 - PERIOD_US), 0, 0, 0, ("normal", 0)),  # both counters wrap
        ((1, PERIOD_US), 70002 & 0xFFFF, 70002 * PERIOD_US, 0, ("normal", 70000)),
        ((10, 10 * PERIOD_US), 10, 10 * PERIOD_US, 0, ("dup", 0)),
        ((2, 2 * PERIOD_US), 1, PERIOD_US, 0, ("late", 0)),
        ((300, 300 * PERIOD_US), 300 - LATE_WINDOW, (300 - LATE_WINDOW) * PERIOD_US, 0,
         ("late", 0)),
        # Further behind than the window: a restart, not a late frame.
        ((300, 300 * PERIOD_US), 299 - LATE_WINDOW, 1_000, 0, ("restart", 0)),
        ((40000, 1_200_000_000), 0, 2_000, 0, ("restart", 0)),
        ((40000, 3_000_000_000), 0, 2_000, 0, ("restart", 0)),  # old clock past 2**31 us
        ((102, 2_000_000_000), 103, 1_000, 0x10, ("clock", 0)),
        ((102, 200_000), 103, 260_000, 0x10, ("normal", 0)),  # flag, but the clock agrees
        ((9, 1_000_000_000), 10, 0, 0, ("clock", 0)),
        ((2, 2 * PERIOD_US), 3, 2 * PERIOD_US + 1_200_000_000, 0, ("normal", 0)),  # pause
        ((2, 2 * PERIOD_US), 6, 2 * PERIOD_US + 1_200_000_000, 0, ("normal", 3)),
    ],
)
def test_classify_rules(ref, seq: int, ts: int, flags: int, expected) -> None:
    assert _classify(ref, seq, ts, P, P, flags) == expected


def test_no_frame_period_yet_uses_the_sequence_alone() -> None:
    assert _classify((0, 0), 3, 5_000_000_000 % 2**32, NONE, NONE) == ("normal", 2)
    assert _classify((3, 100), 3, 100, NONE, NONE) == ("dup", 0)


def test_rate_change_during_a_gap_uses_both_periods() -> None:
    # 200 Hz before, 100 Hz after (throughput limited): 10 frames of 60 ms lost.
    assert _classify((0, 0), 11, 30_000 + 10 * 60_000, P, (6, 100)) == ("normal", 10)


# ------------------------------------------------ vectorised common path == frame-by-frame rules


def _device_stream(rng: np.random.Generator, n: int) -> list:
    """One device's frames with losses, duplicates, late frames, pauses and restarts."""
    frames: list = []
    seq, t = int(rng.integers(0, 65536)), int(rng.integers(0, 2**32))
    counts = np.ones((6, 2), np.uint16)
    emitted: list = []
    for _ in range(n):
        r = rng.random()
        if r < 0.05:
            seq = (seq + int(rng.integers(2, 300))) & 0xFFFF  # lost frames
            t += int(rng.integers(2, 300)) * PERIOD_US
        elif r < 0.06:
            t += int(rng.integers(1000, 80000)) * PERIOD_US  # pause (STOP/START)
        elif r < 0.07 and emitted:
            frames.append(emitted[-1])  # duplicate
            continue
        elif r < 0.08 and len(emitted) > 3:
            frames.append(emitted[-int(rng.integers(2, 4))])  # late
            continue
        elif r < 0.085:
            seq, t = 0, int(rng.integers(0, 10**6))  # reboot
        elif r < 0.09:
            seq = (seq + 1) & 0xFFFF
            t = int(rng.integers(0, 10**6))
            f = StatusFrame(3, Side.LEFT, seq, t, 80, 0x10, 0)  # clock restart
            frames.append(f)
            emitted.append(f)
            continue
        else:
            seq = (seq + 1) & 0xFFFF
            t += PERIOD_US
        t &= 0xFFFFFFFF
        if rng.random() < 0.05:
            f = StatusFrame(3, Side.LEFT, seq, (t + 25_000) & 0xFFFFFFFF, 80, 0, 0)
        else:
            f = SamplesFrame(3, Side.LEFT, seq, t, 200, counts)
        frames.append(f)
        emitted.append(f)
    return frames


def _reference(frames: list) -> tuple[list[int], dict[str, int]]:
    """Every frame through `_classify`, one by one."""
    ref = None
    period = NONE
    lost: list[int] = []
    c = {"dup": 0, "late": 0, "restart": 0, "clock": 0, "lost": 0}
    for f in frames:
        cur = (f.n_samples, f.sample_rate_hz) if f.frame_type == FrameType.SAMPLES else NONE
        flags = f.error_flags if f.frame_type == FrameType.STATUS else 0
        kind, n = _classify(ref, f.seq, f.timestamp_us, period, cur, flags)
        if cur != NONE:
            period = cur
        if kind in c:
            c[kind] += 1
        if kind != "dup":
            lost.append(n)
            c["lost"] += n
        if kind not in ("dup", "late"):
            ref = (f.seq, f.timestamp_us)
    counters = {
        "lost_frames": c["lost"],
        "duplicate_frames": c["dup"],
        "out_of_order_frames": c["late"],
        "restarts": c["restart"],
        "clock_restarts": c["clock"],
    }
    return lost, counters


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 10**6), max_size=30))
def test_vectorised_accounting_equals_frame_by_frame_rules(seed: int, cuts: list[int]) -> None:
    rng = np.random.default_rng(seed)
    frames = _device_stream(rng, 400)
    data = b"".join(to_wire(f) for f in frames)
    lost_ref, counters_ref = _reference(frames)
    whole = StreamDecoder()
    table = whole.feed_table(data)
    assert table.lost_before.tolist() == lost_ref
    assert {k: getattr(whole.stats, k) for k in counters_ref} == counters_ref
    # Any split: identical frames and counters.
    dec = StreamDecoder()
    got: list = []
    lost: list[int] = []
    prev = 0
    for c in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        t = dec.feed_table(data[prev:c])
        got += t.to_frames()
        lost += t.lost_before.tolist()
        prev = c
    assert got == table.to_frames()
    assert lost == lost_ref
    assert dec.stats == whole.stats


def test_two_devices_interleaved_are_accounted_apart() -> None:
    rng = np.random.default_rng(11)
    left = _device_stream(rng, 300)
    right = [
        SamplesFrame(4, Side.RIGHT, f.seq, f.timestamp_us, 200, f.counts)
        if isinstance(f, SamplesFrame)
        else StatusFrame(4, Side.RIGHT, f.seq, f.timestamp_us, 80, f.error_flags, 0)
        for f in _device_stream(rng, 300)
    ]
    mixed = [f for pair in zip(left, right, strict=True) for f in pair]
    dec = StreamDecoder()
    dec.feed(b"".join(to_wire(f) for f in mixed))
    lost_l, c_l = _reference(left)
    lost_r, c_r = _reference(right)
    assert dec.stats.lost_by_device == {(3, Side.LEFT): sum(lost_l), (4, Side.RIGHT): sum(lost_r)}
    for k in c_l:
        assert getattr(dec.stats, k) == c_l[k] + c_r[k]
