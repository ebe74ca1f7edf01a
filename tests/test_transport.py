"""The simulated firmware and link: faults are injected on purpose and reported exactly."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol import SamplesFrame, Side, StatusFrame, StreamDecoder
from insole.sources.sim.transport import TransportConfig, transmit


def _counts(n: int, seed: int = 0) -> dict[Side, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s: rng.integers(0, 4096, (n, 16)).astype(np.uint16) for s in (Side.LEFT, Side.RIGHT)}


def _decode(streams):
    out = []
    stats = []
    for s in streams:
        dec = StreamDecoder()
        out += dec.feed(s.data)
        stats.append(dec.stats)
    return out, stats


@pytest.mark.parametrize("link", ["ble", "serial"])
def test_clean_link_delivers_every_sample_in_order(link: str) -> None:
    counts = _counts(6000)
    streams, report = transmit(counts, sample_rate_hz=200, config=TransportConfig(link=link))
    assert len(streams) == (2 if link == "ble" else 1)
    frames, stats = _decode(streams)
    assert sum(s.lost_frames for s in stats) == 0
    assert report.frames_dropped == report.frames_corrupted == 0
    for side in (Side.LEFT, Side.RIGHT):
        got = np.concatenate(
            [f.counts for f in frames if isinstance(f, SamplesFrame) and f.side == side]
        )
        assert np.array_equal(got, counts[side])
    for s in streams:
        assert np.all(np.diff(s.chunk_time_s) >= 0)
        assert s.chunk_end[-1] == len(s.data)


@pytest.mark.parametrize("link", ["ble", "serial"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_injected_loss_and_garbage_equal_decoder_counts(link: str, seed: int) -> None:
    cfg = TransportConfig(
        link=link, loss=0.02, burst_loss=0.03, garbage_per_min=20, seed=seed, pauses=((5.0, 1.5),)
    )
    streams, report = transmit(_counts(12000, seed), sample_rate_hz=200, config=cfg)
    _, stats = _decode(streams)
    assert report.frames_dropped > 0
    assert report.frames_corrupted > 0
    assert sum(s.lost_frames for s in stats) == report.frames_dropped + report.frames_corrupted
    assert sum(s.crc_errors + s.cobs_errors for s in stats) >= report.frames_corrupted
    for s in stats:
        for (_, side), lost in s.lost_by_device.items():
            label = side.label
            assert lost == report.dropped_by_side[label] + report.corrupted_by_side[label]


def test_pause_delays_delivery_without_loss() -> None:
    streams, report = transmit(
        _counts(4000), sample_rate_hz=200, config=TransportConfig(pauses=((4.0, 2.0),))
    )
    _, stats = _decode(streams)
    assert sum(s.lost_frames for s in stats) == 0
    for s in streams:
        t = s.chunk_time_s
        assert not np.any((t > 4.01) & (t < 6.0))
        assert np.sum(np.isclose(t, 6.0, atol=0.01)) > 10  # the backlog arrives at once


def test_clock_drift_shows_in_device_timestamps() -> None:
    streams, _ = transmit(
        _counts(40000),
        sample_rate_hz=200,
        config=TransportConfig(drift_ppm=50.0, clock_offset_s=0.3),
    )
    frames, _ = _decode(streams)
    ts = {}
    for side in (Side.LEFT, Side.RIGHT):
        fs = [f for f in frames if isinstance(f, SamplesFrame) and f.side == side]
        ts[side] = np.array([f.timestamp_us for f in fs], float)
    n = min(len(ts[Side.LEFT]), len(ts[Side.RIGHT]))
    diff = ts[Side.RIGHT][:n] - ts[Side.LEFT][:n]
    assert diff[0] == pytest.approx(0.3e6, abs=2)
    slope = np.polyfit(ts[Side.LEFT][:n], diff, 1)[0]
    assert slope * 1e6 == pytest.approx(50.0, abs=0.5)


def test_status_frames_carry_battery_and_end_the_stream() -> None:
    streams, _ = transmit(_counts(3000), sample_rate_hz=200)
    frames, _ = _decode(streams)
    status = [f for f in frames if isinstance(f, StatusFrame)]
    assert len(status) >= 2 * 3  # every 5 s plus a final one per insole
    for side in (Side.LEFT, Side.RIGHT):
        last = [f for f in frames if f.side == side][-1]
        assert isinstance(last, StatusFrame)


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="loss"):
        TransportConfig(loss=1.5)
    with pytest.raises(ValueError, match="batch"):
        TransportConfig(batch=0)


def test_serial_stream_interleaves_both_insoles_in_time() -> None:
    streams, _ = transmit(_counts(4000), sample_rate_hz=200, config=TransportConfig(link="serial"))
    (stream,) = streams
    dec = StreamDecoder()
    frames = []
    start = 0
    for end, t in zip(stream.chunk_end, stream.chunk_time_s, strict=True):
        for f in dec.feed(stream.data[start:end]):
            frames.append((t, f))
        start = end
    right = [t for t, f in frames if isinstance(f, SamplesFrame) and f.side == Side.RIGHT]
    left = [t for t, f in frames if isinstance(f, SamplesFrame) and f.side == Side.LEFT]
    assert abs(right[0] - left[0]) < 0.05  # both insoles arrive from the start
    assert abs(right[-1] - left[-1]) < 0.05


@pytest.mark.parametrize("kwargs", [
    {},
    {"link": "serial"},
    {"loss": 0.05, "burst_loss": 0.05, "garbage_per_min": 30.0, "drift_ppm": 80.0, "seed": 3},
    {"link": "serial", "loss": 0.05, "burst_loss": 0.1, "burst_len": 3.0,
     "garbage_per_min": 60.0, "clock_offset_s": 0.3, "seed": 4,
     "pauses": ((3.0, 1.5), (20.0, 0.2))},
    {"batch": 1, "loss": 0.02, "burst_loss": 0.3, "garbage_per_min": 600.0, "seed": 9},
], ids=["ble", "serial", "ble-faults", "serial-faults-pauses", "batch1-much-garbage"])
def test_transmission_in_blocks_gives_the_bytes_of_transmit(kwargs: dict) -> None:
    from insole.sources.sim.transport import Transmission

    counts = _counts(9000, seed=5)
    config = TransportConfig(**kwargs)
    streams, report = transmit(counts, sample_rate_hz=200, config=config)
    link = Transmission({s: c.shape for s, c in counts.items()}, sample_rate_hz=200,
                        config=config, counts_of=lambda side: iter([counts[side]]))
    assert link.report.as_dict() == report.as_dict()  # known before any byte is sent
    got: dict[int, list] = {sid: [] for sid, _ in link.streams}
    sizes, at = np.random.default_rng(1), 0
    while at < 9000:  # blocks of 0 .. 700 samples, not whole frames
        n = int(sizes.integers(0, 700))
        for sid, wire, lengths, host in link.feed({s: c[at:at + n] for s, c in counts.items()}):
            got[sid].append((wire, lengths, host))
        at += n
    for sid, wire, lengths, host in link.close():
        got[sid].append((wire, lengths, host))
    assert [(s.stream_id, s.label) for s in streams] == link.streams
    for s in streams:
        assert b"".join(w.tobytes() for w, _, _ in got[s.stream_id]) == s.data
        assert np.array_equal(np.cumsum(np.concatenate([n for _, n, _ in got[s.stream_id]])),
                              s.chunk_end)
        assert np.array_equal(np.concatenate([h for _, _, h in got[s.stream_id]]),
                              s.chunk_time_s)


def test_link_faults_out_of_range_are_refused() -> None:
    for kwargs, words in (({"garbage_per_min": -1.0}, "garbage_per_min"),
                          ({"garbage_per_min": float("nan")}, "garbage_per_min"),
                          ({"drift_ppm": 1e9}, "drift_ppm must be within ±1000 ppm"),
                          ({"drift_ppm": float("nan")}, "drift_ppm"),
                          ({"burst_len": 0.5}, "burst_len")):
        with pytest.raises(ValueError, match=words):
            TransportConfig(**kwargs)


def test_garbage_in_long_frames_places_it_by_their_counts() -> None:
    # 64 sensors: 786-byte frames, whose COBS length depends on the zeros among the counts,
    # so the link frames the counts once more (counts_of) to place the garbage.
    from insole.sources.sim.transport import Transmission

    rng = np.random.default_rng(7)
    counts = {s: rng.integers(0, 4096, (6000, 64)).astype(np.uint16) for s in Side}
    for c in counts.values():
        c[::7] = 0
    config = TransportConfig(garbage_per_min=60.0, loss=0.03, seed=2)
    streams, report = transmit(counts, sample_rate_hz=200, config=config)
    assert report.frames_corrupted > 20
    asked = []

    def counts_of(side: Side):
        asked.append(side)
        return (counts[side][i:i + 500] for i in range(0, 6000, 500))

    link = Transmission({s: c.shape for s, c in counts.items()}, sample_rate_hz=200,
                        config=config, counts_of=counts_of)
    assert asked == [Side.LEFT, Side.RIGHT]
    assert link.report.as_dict() == report.as_dict()
    got = link.feed(counts) + link.close()
    for s in streams:
        assert b"".join(w.tobytes() for sid, w, _, _ in got if sid == s.stream_id) == s.data
    with pytest.raises(ValueError, match="counts_of"):
        Transmission({s: c.shape for s, c in counts.items()}, sample_rate_hz=200,
                     config=config)
