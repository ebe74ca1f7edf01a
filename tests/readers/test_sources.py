"""Sources by URL: parsing, the simulator source, file replay and the single-frame helpers."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_protocol import StreamDecoder, cobs_decode, cobs_encode, cobs_encode_many
from insole.recordings.container import RecordingWriter
from insole.sources.readers import Chunk, ReaderError, ReaderEvent, open_reader, parse_source
from insole.sources.readers.file import FileReader
from insole.sources.readers.sim import SimFeed, SimReader, restamp_frame


def _drain(reader, timeout_s: float = 10.0) -> list[Chunk | ReaderEvent]:
    """Read until a finite source ends."""
    items: list[Chunk | ReaderEvent] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = reader.read(0.05)
        items.extend(got)
        if not got and not reader.running:
            items.extend(reader.read(None))
            return items
    raise AssertionError("source did not end")


# -- URLs ------------------------------------------------------------------------------------


def test_parse_source_forms() -> None:
    s = parse_source("sim:?cadence=175&seed=3&loss=0.01&rate=200")
    assert (s.scheme, s.target) == ("sim", "")
    assert s.options == {"cadence": "175", "seed": "3", "loss": "0.01", "rate": "200"}
    assert parse_source("sim").scheme == "sim"
    assert parse_source("file:runs/a.insrec?speed=max").target == "runs/a.insrec"
    assert parse_source("file:///tmp/a.insrec").target == "/tmp/a.insrec"
    s = parse_source("serial:socket://localhost:7000?baud=115200")
    assert (s.target, s.options) == ("socket://localhost:7000", {"baud": "115200"})
    assert parse_source("ble:insole-L-1a01,insole-R-1a02?left=insole-L-1a01").target == (
        "insole-L-1a01,insole-R-1a02"
    )


@pytest.mark.parametrize(
    ("url", "kwargs", "message"),
    [
        ("usb:/dev/x", {}, "unknown source type 'usb'"),
        ("/dev/ttyUSB0", {}, "no source type"),
        ("", {}, "empty source"),
        ("sim:?rate=fast", {}, "option rate='fast': expected a whole number"),
        ("sim:?colour=red", {}, "unknown option 'colour'"),
        ("sim:?loss=2", {}, "option loss='2'"),
        ("sim:", {"speed": -1}, "option speed=-1"),
        ("sim:?seed=1&seed=2", {}, "given twice"),
        ("sim:?stand=-1", {}, "option stand='-1'"),
        ("sim:?stand=90&duration=60", {}, "a stand of 90 s does not fit"),
        ("file:", {}, "file: needs a path"),
        ("file:/nonexistent/x.insrec", {}, "x.insrec"),
        ("serial:", {}, "serial: needs a port"),
        ("serial:/dev/ttyUSB0?parity=odd", {}, "unknown option 'parity'"),
        ("serial:/dev/ttyUSB0?baud=abc", {}, "option baud='abc'"),
    ],
)
def test_bad_sources_raise_one_line_reader_errors(url: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ReaderError, match=message) as info:
        open_reader(url, **kwargs)
    text = str(info.value)
    assert "\n" not in text
    if "x.insrec" not in message:
        assert "accepted forms" in text


def test_ble_dispatches_lazily_to_the_ble_backend() -> None:
    try:
        import insole.sources.readers.ble  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(ReaderError, match="BLE"):
            open_reader("ble:")
        return
    reader = open_reader("ble:?left=insole-L-1a01&right=insole-R-1a02")
    assert type(reader).__module__ == "insole.sources.readers.ble"
    assert not reader.running
    with pytest.raises(ReaderError):
        open_reader("ble:?colour=red")


def test_import_is_light() -> None:
    code = (
        "import sys, insole.sources.readers; "
        "bad = [m for m in ('serial', 'bleak', 'numpy', 'insole.sources.readers.sim') "
        "if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_options_from_url_and_keywords() -> None:
    reader = open_reader("sim:?rate=100&seed=3&link=serial&duration=2", speed="max")
    assert isinstance(reader, SimReader)
    assert reader.speed == math.inf
    assert reader.feed.rate_hz == 100
    assert [s.transport for s in reader.streams] == ["sim"]
    ble = open_reader("sim:?rate=100", link="ble", duration=2)
    assert len(ble.streams) == 2


# -- simulator source -----------------------------------------------------------------------


def test_sim_source_paces_in_real_time_on_an_absolute_schedule() -> None:
    reader = open_reader("sim:?seed=1&rate=200")
    with reader:
        items: list[Chunk | ReaderEvent] = []
        deadline = time.monotonic() + 10
        while sum(isinstance(i, Chunk) for i in items) < 90 and time.monotonic() < deadline:
            for item in reader.read(0.1):
                items.append(item)
                # Stamps are the scheduled arrival times: never in the future when handed out.
                assert item.host_time_s <= time.monotonic() + 1e-6
        t_last = time.monotonic()
    chunks = [c for c in items if isinstance(c, Chunk)]
    events = [e for e in items if isinstance(e, ReaderEvent)]
    assert [e.kind for e in events] == ["connected", "connected"]
    start = events[0].host_time_s
    # 2 insoles x 200 Hz / 6 samples = 66.7 frames/s: 90 frames take about 1.3 s, not less.
    assert t_last - start >= chunks[89].host_time_s - start > 1.2
    feed = SimFeed(seed=1, rate_hz=200)
    expected = [start + c.time_s for _, c in zip(range(len(chunks)), feed, strict=False)]
    assert [c.host_time_s for c in chunks] == pytest.approx(expected, abs=1e-9)
    for sid in (0, 1):
        dec = StreamDecoder()
        dec.feed(b"".join(c.data for c in chunks if c.stream_id == sid))
        assert dec.stats.lost_frames == 0
        assert dec.stats.device_info_frames == 1


def test_sim_source_at_max_speed_ends_and_counts_injected_faults_exactly() -> None:
    reader = open_reader("sim:?seed=5&duration=70&loss=0.02&garbage=20&link=serial&speed=max")
    assert isinstance(reader, SimReader)
    with reader:
        items = _drain(reader)
    chunks = [c for c in items if isinstance(c, Chunk)]
    dec = StreamDecoder()
    dec.feed(b"".join(c.data for c in chunks))
    report = reader.feed.report
    assert report.frames_dropped > 10
    assert report.frames_corrupted > 5
    # Across the 60-s segment boundary too: sequence numbers run on, every loss is visible.
    assert dec.stats.lost_frames == report.frames_dropped + report.frames_corrupted
    assert dec.stats.out_of_order_frames == 0
    assert dec.stats.frames + dec.stats.lost_frames == report.frames_sent
    assert {d["side"] for d in reader.devices} == {"left", "right"}
    assert all(d["calibration"] and d["layout"] for d in reader.devices)


def test_sim_source_stands_before_the_gait_and_the_analysis_counts_no_step_there() -> None:
    from insole.core.pipeline import Pipeline

    reader = open_reader("sim:?seed=4&duration=30&stand=12&speed=max")
    with reader:
        items = _drain(reader)
        header = {"devices": reader.devices}
    pipe = Pipeline(header)
    steps = []
    for c in items:
        if isinstance(c, Chunk):
            steps += pipe.feed(c.stream_id, c.data).steps
    steps += pipe.finish().steps
    first = min(s.heel_strike_s for s in steps)
    assert 12.0 < first < 12.0 + 0.8  # the first step comes after the stand, within a stride
    assert len(steps) > 40  # 18 s of running at 170 steps/min: about 50
    assert sum(side.detector.weight_shifts_ for side in pipe.sides.values()) >= 2


def test_endless_sim_source_stands_only_in_its_first_block() -> None:
    feed = SimFeed(seed=4, stand_s=10.0)  # endless: a 10-minute gait block, looped
    first = feed._gait()
    looped = feed._loop_block()
    total = [np.asarray(c, np.int64).sum(axis=1) for c in (first[0], looped[0])]
    stand = slice(0, 9 * feed.rate_hz)  # the first 9 s: standing in the first block only
    assert total[0][stand].min() > 0.2 * total[0].max()  # loaded throughout
    assert total[1][stand].min() < 0.05 * total[1].max()  # swings: the foot in the air
    # The same insoles in both blocks, and the same gait once the stand is over.
    assert first[0].shape == looped[0].shape


# -- file replay -----------------------------------------------------------------------------


def _write_recording(path: Path) -> tuple[list[tuple[int, bytes, float]], int]:
    """A 2-s BLE recording with a disconnect/reconnect of stream 0; return chunks, event place."""
    feed = SimFeed(seed=2, duration_s=2.0, link="ble")
    chunks = [(c.stream_id, c.data, c.time_s) for c in feed]
    cut = next(i for i, c in enumerate(chunks) if i >= 40 and c[0] == 0)
    header = {
        "source": "sim",
        "streams": [{"stream_id": 0, "transport": "ble", "label": "L"},
                    {"stream_id": 1, "transport": "ble", "label": "R"}],
        "devices": feed.devices,
    }
    with RecordingWriter(path, header) as writer:
        for i, (sid, data, t) in enumerate(chunks):
            if i == cut:
                writer.write_event("disconnect", stream_id=0, host_time_s=t, reason="test")
                writer.write_event("reconnect", stream_id=0, host_time_s=t, attempt=1)
            writer.write_chunk(sid, data, t)
    return chunks, cut


def test_file_replay_hands_out_the_recorded_chunks_in_order(tmp_path: Path) -> None:
    path = tmp_path / "a.insrec"
    chunks, cut = _write_recording(path)
    reader = open_reader(f"file:{path}?speed=max")
    assert isinstance(reader, FileReader)
    assert [s.label for s in reader.streams] == ["L", "R"]
    with reader:
        items = _drain(reader)
    got = [(c.stream_id, c.data) for c in items if isinstance(c, Chunk)]
    want = sorted(chunks, key=lambda c: c[2])
    assert got == [(sid, data) for sid, data, _ in want]
    kinds = [(i, e.kind) for i, e in enumerate(items) if isinstance(e, ReaderEvent)]
    assert [k for _, k in kinds] == ["disconnected", "connected"]
    reconnect = next(e for e in items if isinstance(e, ReaderEvent) and e.kind == "connected")
    assert reconnect.detail["flush_decoder"] is True
    # The reconnect is replayed exactly before the chunk it preceded in the recording.
    at = items.index(reconnect)
    nxt = next(c for c in items[at:] if isinstance(c, Chunk) and c.stream_id == 0)
    assert nxt.data == chunks[cut][1]


def test_file_replay_keeps_recorded_pace(tmp_path: Path) -> None:
    path = tmp_path / "a.insrec"
    chunks, _ = _write_recording(path)
    duration = max(t for _, _, t in chunks)
    reader = open_reader(f"file:{path}", speed=4)
    t0 = time.monotonic()
    with reader:
        items = _drain(reader)
    elapsed = time.monotonic() - t0
    assert duration / 4 - 0.05 < elapsed < duration / 4 + 0.5
    stamps = np.array([c.host_time_s for c in items if isinstance(c, Chunk)])
    recorded = np.array(sorted(t for _, _, t in chunks))
    # Stamps are the recorded times scaled by 1/speed, shifted to the replay start.
    assert np.allclose(np.diff(stamps), np.diff(recorded) / 4, atol=1e-9)


# -- single-frame helpers --------------------------------------------------------------------


def test_single_frame_cobs_matches_the_vectorised_codec() -> None:
    rng = np.random.default_rng(0)
    cases = [b"\x00", b"\x01" * 254, b"\x01" * 254 + b"\x00", b"\x02" * 508, b"\x00\x00"]
    for n in (1, 13, 253, 254, 255, 400, 1024):
        cases.append(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        cases.append(rng.integers(1, 256, n, dtype=np.uint8).tobytes())
    for raw in cases:
        enc = cobs_encode(raw)
        wire, _ = cobs_encode_many(np.frombuffer(raw, np.uint8), np.array([len(raw)]))
        assert enc + b"\x00" == wire.tobytes()  # the plain loop and the vectorised encoder agree
        assert cobs_decode(enc) == raw
    with pytest.raises(ValueError, match="COBS"):
        cobs_decode(b"\x05\x01")


def test_restamp_frame_rewrites_seq_and_time() -> None:
    feed = SimFeed(seed=0, duration_s=1.0, link="serial")
    wire = next(c.data for c in feed if c.seq == 3)
    new = restamp_frame(wire, seq=70000, timestamp_us=2**32 + 5)
    assert new is not None
    (frame,) = StreamDecoder(strict=True).feed(new)
    assert (frame.seq, frame.timestamp_us) == (70000 & 0xFFFF, 5)
    assert restamp_frame(wire[:10] + b"\x00") is None


@pytest.mark.parametrize(("url", "words"), [(5, "a URL string, not int"),
                                             (None, "a URL string, not NoneType"),
                                             ("  ", "empty source")])
def test_a_source_that_is_not_a_url_string_says_so(url: object, words: str) -> None:
    with pytest.raises(ReaderError, match=words):
        open_reader(url)  # type: ignore[arg-type]


def test_a_file_source_that_cannot_be_read_is_also_a_file_error(tmp_path: Path) -> None:
    # docs/api.md: every error about one file derives from FileError, whose path names it.
    from insole.errors import FileError, RecordingError

    missing = tmp_path / "nope.insrec"
    with pytest.raises(FileError) as info:
        open_reader(f"file:{missing}")
    assert isinstance(info.value, ReaderError)
    assert isinstance(info.value, RecordingError)
    assert str(info.value.path) == str(missing)
    assert "no such recording" in str(info.value)
