"""BLE reader against emulated insoles: the real bumble stack, the real bleak code, no mocks.

Every test runs the project's `BleReader` (plain ``BleakScanner`` / ``BleakClient`` calls) through
bleak's ``backend=`` hook on a bumble central, connected over bumble's in-process virtual link to
two emulated insoles (`insole.sources.devices.ble_insole`) streaming simulated runs at 200 Hz. The
emulator knows exactly which frames it could not deliver; the decoder must count the same.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

pytest.importorskip("bleak", reason="BLE tests need bleak (pip install 'insole[ble]')")
pytest.importorskip("bumble", reason="BLE tests need bumble (the emulated insoles)")

from firmware_protocol import SamplesFrame, Side, StreamDecoder  # noqa: E402
from insole.sources.devices.ble_insole import EmulatedInsole, Fault, VirtualBleLink  # noqa: E402
from insole.sources.readers import open_reader  # noqa: E402
from insole.sources.readers.base import ReaderError  # noqa: E402
from insole.sources.readers.ble import BleReader, open_ble_reader, scan, scan_command  # noqa: E402

pytestmark = pytest.mark.timeout(60)

RATE_HZ = 200


def _source_frames(insole: EmulatedInsole) -> list[Any]:
    """The frames the emulated insole streams, decoded straight from its bytes."""
    return StreamDecoder().feed(insole.stream.data)


def _seqs(frames: list[Any]) -> np.ndarray:
    return np.array([f.seq for f in frames])


def _assert_clean(dec: StreamDecoder) -> None:
    st = dec.stats
    assert st.lost_frames == 0
    assert st.errors == 0
    assert st.duplicate_frames == 0
    assert st.out_of_order_frames == 0
    assert st.discarded_bytes == 0


def test_two_insoles_stream_in_order_without_loss(
    ble_link: VirtualBleLink, ble_capture: Callable[..., Any]
) -> None:
    left, right = ble_link.add_insole_pair(duration_s=5.0, sample_rate_hz=RATE_HZ, seed=1)
    reader = open_reader("ble:?timeout=5", backend=ble_link.backend)  # discovery by service UUID
    cap = ble_capture(reader)

    assert cap.complete
    assert [s.label for s in reader.streams] == [left.name, right.name]
    for sid, insole in ((0, left), (1, right)):
        kinds = [e.kind for e in cap.events_of(sid)]
        assert kinds == ["connected", "disconnected"]
        connected = cap.events_of(sid)[0].detail
        assert connected["name"] == insole.name
        assert connected["side"] == insole.side.label
        assert connected["mtu"] == 247
        assert connected["flush_decoder"] is connected["flush_partial"] is False
        assert connected["serial"] == f"{insole.device_id:04x}"
        assert cap.events_of(sid)[1].detail["reason"] == "stopped"
        _assert_clean(cap.decoders[sid])
        got = cap.frames[sid]
        assert np.all(np.diff(_seqs(got)) == 1)  # continuous, in order
        assert got == _source_frames(insole)  # every sample, bit for bit
        # MTU 247: one whole frame per notification, nothing arrived twice.
        assert len(cap.chunks[sid]) == insole.stats.notifications == insole.stats.frames_total
        assert all(c.data.endswith(b"\x00") for c in cap.chunks[sid])
        assert cap.link_stats[sid]["stale_notifications"] == 0
        times = [c.host_time_s for c in cap.chunks[sid]]
        assert times == sorted(times)
        n_samples = sum(f.n_samples for f in got if isinstance(f, SamplesFrame))
        assert n_samples == 5 * RATE_HZ - (5 * RATE_HZ) % 6
    assert [e.detail["battery_pct"] for e in cap.events if e.kind == "battery"] in (
        [96, 91],
        [91, 96],
    )


def test_dropped_link_reconnects_and_the_gap_is_counted_exactly(
    ble_link: VirtualBleLink, ble_capture: Callable[..., Any]
) -> None:
    left, right = ble_link.add_insole_pair(
        duration_s=5.0,
        sample_rate_hz=RATE_HZ,
        faults={
            Side.LEFT: [Fault(1.5, "disconnect", outage_s=0.6), Fault(3.5, "disconnect", 0.2)],
            Side.RIGHT: [Fault(2.5, "disconnect", outage_s=0.3)],
        },
    )
    reader = open_ble_reader("insole-L-1a01,insole-R-1a02", {}, backend=ble_link.backend)
    cap = ble_capture(reader)

    assert cap.complete
    for sid, insole, drops in ((0, left, 2), (1, right, 1)):
        kinds = [e.kind for e in cap.events_of(sid)]
        assert kinds == ["connected"] + ["disconnected", "reconnecting", "connected"] * drops + [
            "disconnected"
        ]
        reconnects = [e.detail for e in cap.events_of(sid) if e.kind == "connected"][1:]
        assert all(d["reconnect"] and d["flush_decoder"] and d["flush_partial"] for d in reconnects)
        assert insole.stats.disconnects == drops
        assert insole.stats.frames_unsent > 0
        st = cap.decoders[sid].stats
        # The gap is what the insole could not send, no more, no less ...
        assert st.lost_frames == insole.stats.frames_lost == insole.stats.frames_unsent
        assert st.errors == 0
        # ... and no notification arrived twice (bleak #2002): same count, same bytes.
        assert st.duplicate_frames == 0
        assert len(cap.chunks[sid]) == insole.stats.notifications
        assert cap.bytes_of(sid) == insole.stats.bytes_notified
        assert cap.link_stats[sid]["stale_notifications"] == 0
        assert cap.link_stats[sid]["connections"] == drops + 1
        # Every frame that was sent arrived, in order; the missing ones are exactly the unsent.
        sent = _seqs(_source_frames(insole))[~np.isnan(insole.sent_time_s)]
        assert np.array_equal(_seqs(cap.frames[sid]), sent)


def test_mtu_23_reassembles_frames_from_20_byte_notifications(
    ble_link: VirtualBleLink, ble_capture: Callable[..., Any]
) -> None:
    # 16 sensors at 100 Hz fit a 20-byte-notification link (SPEC §4.2). The left insole's link
    # drops in the middle of a frame: the cut frame must be discarded, not merged.
    left, right = ble_link.add_insole_pair(
        duration_s=4.0,
        sample_rate_hz=100,
        max_mtu=23,
        faults={Side.LEFT: [Fault(2.0, "disconnect", outage_s=0.3)]},
    )
    reader = open_ble_reader(
        "left=F0:00:00:00:1A:01,right=insole-R-1a02", {"timeout": 5}, backend=ble_link.backend
    )
    cap = ble_capture(reader)

    assert cap.complete
    for sid, insole in ((0, left), (1, right)):
        assert all(e.detail["mtu"] == 23 for e in cap.events_of(sid) if e.kind == "connected")
        assert set(insole.stats.mtus) == {23}
        sizes = np.array([len(c.data) for c in cap.chunks[sid]])
        assert sizes.max() == 20
        assert len(cap.chunks[sid]) > 5 * insole.stats.frames_sent  # ~11 notifications a frame
    # Right: clean, every frame reassembled.
    _assert_clean(cap.decoders[1])
    assert cap.frames[1] == _source_frames(right)
    # Left: the frame cut by the disconnect is one bad piece; the gap equals what was not sent.
    st = cap.decoders[0].stats
    assert left.stats.frames_cut == 1
    assert st.lost_frames == left.stats.frames_unsent
    assert st.errors == left.stats.frames_cut
    assert st.discarded_bytes > 0
    assert cap.bytes_of(0) == left.stats.bytes_notified


def test_malformed_notifications_are_counted_not_fatal(
    ble_link: VirtualBleLink, ble_capture: Callable[..., Any]
) -> None:
    faults = [
        Fault(0.5, "garbage"),
        Fault(0.8, "empty"),
        Fault(1.0, "bad_crc"),
        Fault(1.5, "short_frame"),
        Fault(2.0, "garbage"),
    ]
    left, right = ble_link.add_insole_pair(
        duration_s=3.0, sample_rate_hz=RATE_HZ, faults={Side.LEFT: faults}
    )
    reader = BleReader(left="insole-L-1a01", right="insole-R-1a02", backend=ble_link.backend)
    cap = ble_capture(reader)

    assert cap.complete
    assert not any(e.kind == "error" for e in cap.events)
    st = cap.decoders[0].stats
    assert (st.cobs_errors, st.crc_errors, st.short_frames) == (2, 1, 1)
    assert left.stats.garbage_notifications == 2
    assert left.stats.empty_notifications == 1
    assert st.lost_frames == left.stats.frames_corrupted == 2
    assert len(cap.frames[0]) == left.stats.frames_total - 2
    assert [e.kind for e in cap.events_of(0)] == ["connected", "disconnected"]
    _assert_clean(cap.decoders[1])


def test_scan_finds_both_insoles_with_side_and_battery(
    ble_link: VirtualBleLink, capsys: pytest.CaptureFixture[str]
) -> None:
    left, right = ble_link.add_insole_pair(duration_s=1.0)
    found = scan(0.5, ble_link.backend)
    assert [(d["name"], d["address"], d["side"], d["battery"]) for d in found] == [
        (left.name, left.address, "left", 96),
        (right.name, right.address, "right", 91),
    ]
    assert all(isinstance(d["rssi"], int) for d in found)

    args = argparse.Namespace(timeout=0.5, json=True, backend=ble_link.backend)
    assert scan_command(args) == 0
    assert json.loads(capsys.readouterr().out) == found
    args.json = False
    assert scan_command(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:3] == [left.name, left.address, "left"]
    assert table[2].split()[-2:] == ["91", "%"]


def test_a_missing_insole_fails_with_a_clear_error(ble_link: VirtualBleLink) -> None:
    ble_link.add_insole_pair(duration_s=1.0)
    reader = open_ble_reader(
        "left=insole-L-1a01,right=insole-R-ffff", {"timeout": "0.5"}, backend=ble_link.backend
    ).start()
    reader._thread.join(10.0)  # the first scan gives up after 0.5 s
    assert [e.kind for e in reader.read(0.1)] == ["error"]
    with pytest.raises(ReaderError, match=r"no insole 'insole-R-ffff' found.*insole scan"):
        reader.stop()


@pytest.mark.parametrize(
    ("rest", "options", "targets"),
    [
        ("", {}, [(0, None, Side.LEFT), (1, None, Side.RIGHT)]),
        ("insole-R-1a02", {}, [(1, "insole-R-1a02", Side.RIGHT)]),
        ("AA:BB:CC:DD:EE:01", {}, [(0, "AA:BB:CC:DD:EE:01", None)]),
        ("left=AA:BB:CC:DD:EE:01,right=x", {}, [(0, "AA:BB:CC:DD:EE:01", Side.LEFT),
                                                 (1, "x", Side.RIGHT)]),
        ("", {"right": "insole-R-1a02"}, [(1, "insole-R-1a02", Side.RIGHT)]),
        ("dev1,insole-L-1a01", {}, [(1, "dev1", None), (0, "insole-L-1a01", Side.LEFT)]),
    ],
)
def test_url_forms(rest: str, options: dict[str, str], targets: list[Any]) -> None:
    reader = open_ble_reader(rest, options)
    got = [(link.stream_id, link.target, link.side) for link in reader._links]
    assert got == targets
    assert [s.stream_id for s in reader.streams] == [t[0] for t in targets]


@pytest.mark.parametrize(
    ("rest", "options", "message"),
    [
        ("left=a,b", {}, "not a mix"),
        ("up=a", {}, "expected left="),
        ("left=a,left=b", {}, "given twice"),
        ("a", {"left": "b"}, "not both"),
        ("", {"speed": "2"}, "unknown ble option 'speed'"),
        ("", {"timeout": "-1"}, "must be > 0"),
        ("", {"reconnect": "maybe"}, "true or false"),
    ],
)
def test_bad_urls_say_what_is_accepted(rest: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(ReaderError, match=message):
        open_ble_reader(rest, options)
