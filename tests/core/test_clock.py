"""Clock sync: lower-envelope fit of device clocks onto the host clock."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from firmware_protocol import StreamDecoder
from insole.core.clock import ClockSync, DeviceClocks, align_clocks, fit_clock
from insole.sources.readers.sim import SimFeed

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _synthetic(
    rng: np.random.Generator,
    *,
    drift_ppm: float,
    offset_s: float,
    n: int = 6000,
    start_us: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames every 30 ms; host = offset + device/(1+drift) + skewed latency with spikes."""
    device_s = np.arange(n) * 0.03
    latency = 0.002 + rng.exponential(0.004, n)
    spikes = rng.random(n) < 0.05
    latency[spikes] += rng.uniform(0.05, 0.3, spikes.sum())  # retransmissions, backlogs
    host = offset_s + device_s / (1 + drift_ppm * 1e-6) + latency
    device_us = (start_us + np.round(device_s * 1e6).astype(np.int64)) & 0xFFFFFFFF
    return device_us, host


def test_recovers_drift_and_offset_despite_skewed_latency() -> None:
    rng = np.random.default_rng(1)
    dev, host = _synthetic(rng, drift_ppm=-37.0, offset_s=12.5)
    fit = fit_clock(dev, host)
    assert fit.drift_ppm == pytest.approx(-37.0, abs=1.0)
    # The offset includes the minimum latency (2 ms), which cannot be told apart from it.
    assert fit.offset_s == pytest.approx(12.502, abs=0.0005)
    # A least-squares line through all points is pulled by the spikes; the envelope is not.
    ls = np.polyfit(np.arange(len(dev)) * 0.03, host, 1)[0]
    assert abs((1 / ls - 1) * 1e6 - (-37.0)) > abs(fit.drift_ppm - (-37.0))
    assert fit.to_host(fit.device_origin_s + 60.0) == pytest.approx(
        12.502 + 60.0 / (1 - 37e-6), abs=0.001
    )
    assert float(fit.to_device(fit.to_host(100.0))) == pytest.approx(100.0)


def test_streaming_equals_offline_for_any_split_and_across_wraparound() -> None:
    rng = np.random.default_rng(2)
    # The device clock wraps (2**32 µs) about 20 s into the data.
    dev, host = _synthetic(rng, drift_ppm=80.0, offset_s=3.0, start_us=2**32 - 20_000_000)
    assert (np.diff(dev) < 0).any()
    offline = fit_clock(dev, host)
    assert offline.drift_ppm == pytest.approx(80.0, abs=1.0)
    for _ in range(5):
        cuts = np.sort(rng.choice(np.arange(1, len(dev)), size=40, replace=False))
        sync = ClockSync()
        for d, h in zip(np.split(dev, cuts), np.split(host, cuts), strict=True):
            sync.update(d, h)
        assert sync.estimate() == offline


def test_needs_two_windows_and_matching_lengths() -> None:
    sync = ClockSync(window_s=2.0).update([0, 1000, 2000], [0.0, 0.001, 0.002])
    with pytest.raises(ValueError, match="at least 2 windows"):
        sync.estimate()
    with pytest.raises(ValueError, match="same length"):
        sync.update([1, 2], [0.0])
    with pytest.raises(ValueError, match="window_s"):
        ClockSync(window_s=0)


def _clocks_from_feed(feed: SimFeed) -> DeviceClocks:
    """Decode every stream of a simulated feed and feed its frames to DeviceClocks."""
    chunks = list(feed)
    clocks = DeviceClocks()
    for sid in {c.stream_id for c in chunks}:
        mine = [c for c in chunks if c.stream_id == sid]
        ends = np.cumsum([len(c.data) for c in mine])
        times = np.array([c.time_s for c in mine])
        table = StreamDecoder().feed_table(b"".join(c.data for c in mine))
        clocks.update(table, times[np.searchsorted(ends, table.wire_end, side="left")])
    return clocks


@pytest.mark.parametrize("link", ["ble", "serial"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_injected_drift_of_50_ppm_is_estimated_within_5_ppm(
    link: Literal["ble", "serial"], seed: int
) -> None:
    feed = SimFeed(
        link=link,
        duration_s=30,
        drift_ppm=50.0,
        clock_offset_s=0.2,
        seed=seed,
        loss=0.02,
        pauses=((10.0, 1.5),),
    )
    clocks = _clocks_from_feed(feed)
    fits = clocks.fits()
    assert {side for _, side in fits} == {"left", "right"}
    alignment = clocks.alignment()
    assert alignment is not None
    assert alignment.drift_ppm == pytest.approx(50.0, abs=5.0)
    assert alignment.offset_ms == pytest.approx(200.0, abs=0.5)
    # Each insole against the host: the simulator's left clock runs at host rate.
    left = next(f for (_, side), f in fits.items() if side == "left")
    assert left.drift_ppm == pytest.approx(0.0, abs=5.0)


def test_alignment_is_antisymmetric() -> None:
    rng = np.random.default_rng(3)
    a = fit_clock(*_synthetic(rng, drift_ppm=10.0, offset_s=1.0))
    b = fit_clock(*_synthetic(rng, drift_ppm=-20.0, offset_s=1.3))
    ab, ba = align_clocks(a, b, at_host_s=50.0), align_clocks(b, a, at_host_s=50.0)
    assert ab.drift_ppm == pytest.approx(-ba.drift_ppm, abs=0.01)
    assert ab.offset_ms == pytest.approx(-ba.offset_ms, abs=1e-6)
    assert ab.drift_ppm == pytest.approx(-30.0, abs=2.0)


def test_host_times_that_do_not_advance_give_no_fit_not_a_crash(tmp_path) -> None:
    # Chunk times damaged in a file (all the same, or running backwards) fit a slope of zero
    # or less: `info` divided by it (ZeroDivisionError from a fuzzed recording, 2026-12-07).
    dev = np.arange(0, 20_000_000, 30_000)
    for host in (np.full(dev.size, 5.0), 100.0 - dev / 1e6):
        with pytest.raises(ValueError, match="do not advance"):
            ClockSync().update(dev, host).estimate()
        clocks = DeviceClocks()
        clocks.clocks[(1, "left")] = ClockSync().update(dev, host)
        assert clocks.fits() == {}

    from insole.recordings.container import RecordingWriter, read_raw_recording
    from insole.recordings.loader import recording_info

    example = read_raw_recording(RECORDINGS / "run_rearfoot_20s.insrec")
    path = tmp_path / "same_times.insrec"
    with RecordingWriter(path, example.header) as writer:
        for sid, stream in example.streams.items():
            for _, data in stream.iter_chunks():
                writer.write_chunk(sid, bytes(data), host_time_s=1.0)
    info = recording_info(path)
    assert info["frames"] > 1000
    assert info["clocks"] == {}  # no clock fitted to times that never advance
