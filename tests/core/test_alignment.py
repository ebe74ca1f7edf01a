"""Left/right alignment: right-insole times put on the left insole's clock from clock sync."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.core.pipeline import Pipeline
from insole.recordings.container import RecordingWriter, read_raw_recording
from insole.session.analysis import SessionAnalysis
from insole.session.report import _on_own_clocks


def _truth(path: Path) -> dict[str, np.ndarray]:
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        side: np.array([float(r["heel_strike_s"]) for r in rows if r["side"] == side])
        for side in ("left", "right")
    }


def _within_one_sample(detected: list[float], truth: np.ndarray, fs: float = 200.0) -> float:
    """Share of true heel strikes with a detection within one sample."""
    det = np.asarray(detected)
    err = np.array([np.min(np.abs(det - t)) for t in truth])
    return float(np.mean(err <= 1.0 / fs + 1e-9))


@pytest.fixture(scope="module")
def drifting(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    d = tmp_path_factory.mktemp("drift")
    simulate_to_file(
        SimulationRequest(duration_s=120, seed=4, drift_ppm=300), d / "r.insrec",
        truth_path=d / "t.csv",
    )
    return d / "r.insrec", _truth(d / "t.csv")


def test_clock_drift_is_measured_and_removed(drifting) -> None:
    path, truth = drifting
    a = SessionAnalysis().run(path)
    al = a.summary_["clock_alignment"]
    assert al["applied"]
    assert al["reason"] == ""
    # The right clock runs 300 ppm fast: right seconds count 300 ppm short on the left clock.
    assert al["right_drift_ppm"] == pytest.approx(-300.0, abs=5.0)
    assert abs(al["right_offset_ms"]) < 1.0  # both insoles started together
    aligned = [r["heel_strike_s"] for r in a.steps_ if r["side"] == "right"]
    raw = [r.heel_strike_s for r in a.records_ if r.side == "right"]
    assert _within_one_sample(aligned, truth["right"]) >= 0.995
    assert _within_one_sample(raw, truth["right"]) < 0.5  # 36 ms off after two minutes
    left = [r["heel_strike_s"] for r in a.steps_ if r["side"] == "left"]
    assert left == [r.heel_strike_s for r in a.records_ if r.side == "left"]  # the reference


def _without_first_seconds(src: Path, out: Path, stream_id: int, seconds: float) -> None:
    """Copy a recording, dropping one stream's chunks of its first ``seconds``."""
    raw = read_raw_recording(src)
    header = {k: v for k, v in raw.header.items() if k not in ("format_version", "software")}
    writer = RecordingWriter(out, header)
    chunks = []
    for sid, stream in raw.streams.items():
        for t, data in stream.iter_chunks():
            if sid != stream_id or t >= seconds:
                chunks.append((t, sid, data))
    for t, sid, data in sorted(chunks, key=lambda c: c[0]):
        writer.write_chunk(sid, data, host_time_s=t)
    writer.close()


def test_an_insole_that_starts_late_is_aligned(tmp_path: Path) -> None:
    # The right insole's first 2 s never arrive (connected late): without alignment its times
    # would count from its own first frame, 2 s after the left's.
    full = tmp_path / "full.insrec"
    simulate_to_file(
        SimulationRequest(duration_s=60, seed=6), full, truth_path=tmp_path / "t.csv"
    )
    truth = _truth(tmp_path / "t.csv")
    late = tmp_path / "late.insrec"
    _without_first_seconds(full, late, stream_id=1, seconds=2.0)
    a = SessionAnalysis().run(late)
    al = a.summary_["clock_alignment"]
    assert al["applied"]
    assert al["right_offset_ms"] == pytest.approx(2000.0, abs=40.0)  # its first frame's time
    aligned = [r["heel_strike_s"] for r in a.steps_ if r["side"] == "right"]
    assert _within_one_sample(aligned, truth["right"][truth["right"] > 6.0]) >= 0.995
    # Reports cut curves from each insole's own samples: the inverse map gives the pipeline's
    # own right-insole times back.
    own = _on_own_clocks(a.steps_, al)
    np.testing.assert_allclose(
        [r["heel_strike_s"] for r in own if r["side"] == "right"],
        [r.heel_strike_s for r in a.records_ if r.side == "right"],
        atol=1e-6,
    )
    ref = SessionAnalysis().run(full).summary_
    for key in ("flight_time_s", "cadence_spm"):
        assert a.summary_[key] == pytest.approx(ref[key], rel=0.02), key


def test_no_alignment_without_host_times_or_with_one_insole(drifting) -> None:
    path, _ = drifting
    raw = read_raw_recording(path)
    pipe = Pipeline(raw.header)
    for sid in raw.streams:
        for data in raw.stream_pieces(sid):
            pipe.feed(sid, data)  # no host times
    pipe.finish()
    al = pipe.alignment()
    assert not al.applied
    assert "windows" in al.reason
    assert al.to_left(1.5) == 1.5
    one = Pipeline(raw.header)
    for t, data in raw.streams[0].iter_chunks():
        one.feed(0, data, t)
    assert not one.alignment().applied
    assert "one left and one right" in one.alignment().reason


def test_host_times_on_another_scale_are_refused(drifting) -> None:
    # A feeder that stamps one insole's chunks on another time scale (here 4x compressed)
    # makes the two clocks look 750 000 ppm apart: not applied, and the reason says why.
    path, _ = drifting
    raw = read_raw_recording(path)
    pipe = Pipeline(raw.header)
    for sid, stream in raw.streams.items():
        scale = 1.0 if sid == 0 else 0.25
        for t, data in stream.iter_chunks():
            pipe.feed(sid, data, t * scale)
    pipe.finish()
    al = pipe.alignment()
    assert not al.applied
    assert "implausible" in al.reason
    assert abs(al.drift_ppm) == 0.0
    assert al.to_left(2.0) == 2.0


def test_timed_pieces_are_the_stream_pieces_with_times(drifting) -> None:
    path, _ = drifting
    raw = read_raw_recording(path)
    for sid, stream in raw.streams.items():
        timed = raw.timed_pieces(sid)
        assert [d for d, _, _ in timed] == raw.stream_pieces(sid)
        ends = np.concatenate([e for _, e, _ in timed if e is not None])
        times = np.concatenate([t for _, _, t in timed if t is not None])
        assert times.tolist() == stream.chunk_time_s.tolist()
        assert ends.tolist() == stream.chunk_end.tolist()  # one piece: no reconnects here


def test_feeding_a_recording_at_once_equals_feeding_it_chunk_by_chunk(drifting) -> None:
    path, _ = drifting
    raw = read_raw_recording(path)
    by_chunk = Pipeline(raw.header)
    for sid, stream in raw.streams.items():
        for t, data in stream.iter_chunks():
            by_chunk.feed(sid, data, t)
    at_once = Pipeline(raw.header)
    for sid, stream in raw.streams.items():
        at_once.feed(sid, stream.data, stream.chunk_time_s, chunk_ends=stream.chunk_end)
    assert by_chunk.alignment() == at_once.alignment()
    assert by_chunk.alignment().applied
