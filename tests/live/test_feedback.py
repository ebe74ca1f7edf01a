"""Heel-strike feedback: cues through a recording sink, from real file and sim sources."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from insole.cli import main
from insole.live.feedback import (
    BellSink,
    FeedbackEngine,
    FeedbackTarget,
    FlashSignal,
    RecordingSink,
    audio_sink,
)
from insole.live.loadwatch import RecentMax
from insole.live.runtime import LiveRuntime
from insole.session.analysis import SessionAnalysis
from insole.session.history import HistoryDB

REC = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"
#: The detector's start-up: steps before this are not compared (the first contacts of a file).
SETTLED_S = 3.5


def _run(engine: FeedbackEngine) -> LiveRuntime:
    rt = LiveRuntime(f"file:{REC}?speed=max", feedback=engine).start()
    assert rt.wait_ended(60)
    rt.stop()
    return rt


def test_strike_cues_every_heel_strike_before_its_step() -> None:
    sink = RecordingSink()
    engine = FeedbackEngine("strike", [sink])
    rt = _run(engine)
    steps = rt.steps
    cues = sink.cues
    assert engine.strikes == len(cues) + engine.late_strikes
    assert engine.late_strikes <= 8  # the detector's start-up: announced too late to cue
    cue_times = {(c.side, c.heel_strike_s) for c in cues}
    cued = [s for s in steps if s.heel_strike_s >= SETTLED_S]
    assert len(cued) > 45
    for s in cued:  # each step's heel strike was cued, with the same time
        assert (s.side, s.heel_strike_s) in cue_times
    for c in cues:  # announced at most 150 ms after the contact, long before toe-off
        assert 0 <= c.frame_time_s - c.heel_strike_s <= 0.15
    assert all(c.kind == "strike" and c.cue_host_s >= c.trigger_host_s for c in cues)
    lat = sink.latencies_ms()
    assert len(lat) == len(cues)
    assert (lat >= 0).all()


def test_heel_cues_follow_the_target_not_an_absolute_threshold() -> None:
    offline = SessionAnalysis().run(REC).steps_
    heel = np.asarray(offline.column("heel_peak_n"), float)
    rate = np.asarray(offline.column("loading_rate_index"), float)
    # A target relative to the runner's own steps: half of them are above it.
    heel_t = FeedbackTarget.from_values(heel, source="history", above_pct=0.0)
    assert heel_t is not None
    heel_t = FeedbackTarget(heel_t.mean, heel_t.sd, float(np.nanmedian(heel)), "history", 56)
    rate_t = FeedbackTarget(float(np.nanmean(rate)), 0.0, 10.0 * float(np.nanmax(rate)),
                            "history", 56)  # out of reach: only the heel peak cues here
    sink = RecordingSink()
    rt = _run(FeedbackEngine("heel", [sink], heel_target=heel_t, rate_target=rate_t))
    cued = {(c.side, round(c.heel_strike_s, 6)) for c in sink.cues}
    assert all(c.what == "heel peak" and c.value > heel_t.limit for c in sink.cues)
    checked = 0
    for s in rt.steps:
        if s.heel_strike_s < SETTLED_S:
            continue
        key = (s.side, round(s.heel_strike_s, 6))
        if s.load.heel_peak_n > 1.01 * heel_t.limit:
            assert key in cued, s
            checked += 1
        elif s.load.heel_peak_n < 0.99 * heel_t.limit:
            assert key not in cued, s
    assert checked > 15
    for c in sink.cues:  # long before the step record (toe-off, ~250 ms after contact)
        assert c.frame_time_s - c.heel_strike_s < 0.2


def test_loading_rate_cue_at_the_frame_completing_the_impact_peak() -> None:
    offline = SessionAnalysis().run(REC).steps_
    rate = np.asarray(offline.column("loading_rate_index"), float)
    limit = float(np.nanmedian(rate))
    rate_t = FeedbackTarget(limit, 0.0, limit, "history", 56)
    heel_t = FeedbackTarget(1.0, 0.0, 1e9, "history", 56)  # out of reach
    sink = RecordingSink()
    rt = _run(FeedbackEngine("heel", [sink], heel_target=heel_t, rate_target=rate_t))
    by_key = {(c.side, round(c.heel_strike_s, 6)): c for c in sink.cues}
    checked = 0
    for s in rt.steps:
        if s.heel_strike_s < SETTLED_S or not np.isfinite(s.load.loading_rate_index):
            continue
        key = (s.side, round(s.heel_strike_s, 6))
        if s.load.loading_rate_index > 1.02 * limit:
            c = by_key[key]
            assert c.what == "loading rate"
            assert c.value == pytest.approx(s.load.loading_rate_index, rel=0.02)
            assert s.impact_peak_s < c.frame_time_s < s.impact_peak_s + 0.05
            checked += 1
        elif s.load.loading_rate_index < 0.98 * limit:
            assert key not in by_key
    assert checked > 10


def test_without_history_the_target_is_learnt_from_the_run() -> None:
    sink = RecordingSink()
    engine = FeedbackEngine("heel", [sink], above_pct=0.0, run_baseline_s=8.0)
    _run(engine)
    assert engine.heel_target is not None
    assert engine.heel_target.source == "run"
    assert engine.rate_target is not None
    assert engine.rate_target.source == "run"
    assert sink.cues
    assert min(c.heel_strike_s for c in sink.cues) >= 8.0


def test_target_from_the_history_steps(tmp_path: Path) -> None:
    a = SessionAnalysis().run(REC)
    db_path = tmp_path / "h.sqlite3"
    with HistoryDB(db_path) as db:
        db.save_session(a.summary_, a.steps_, recording_path=REC)
    start = datetime.fromisoformat(a.summary_["start"])
    old = RecentMax.from_db(db_path, with_steps=True, now=start + timedelta(days=31))
    assert old.step_heel_peaks_n == []  # only the steps of the last 30 days
    recent = RecentMax.from_db(db_path, with_steps=True, now=start + timedelta(days=1))
    assert len(recent.step_heel_peaks_n) == len(a.steps_)
    t = FeedbackTarget.from_values(recent.step_heel_peaks_n, source="history")
    assert t is not None
    heel = np.asarray(a.steps_.column("heel_peak_n"), float)
    assert t.limit == pytest.approx(np.mean(heel) + 2 * np.std(heel, ddof=1))
    assert "your mean + 2 SD" in t.describe("heel peak", "N")
    above = FeedbackTarget.from_values(recent.step_heel_peaks_n, source="history", above_pct=10)
    assert above is not None
    assert above.limit == pytest.approx(1.1 * np.mean(heel))
    assert "10 % above your mean" in above.describe("heel peak", "N")


def test_sinks() -> None:
    out = io.StringIO()
    engine = FeedbackEngine("strike", [BellSink(out)])
    seen: list[object] = []
    engine.flash.subscribe(seen.append)
    from insole.core.pipeline import PipelineUpdate

    engine.feed(PipelineUpdate(heel_strikes=[("left", 1.0), ("right", 1.4)]), 0.0)
    assert out.getvalue() == "\a\a"
    assert [c.side for c in seen] == ["left", "right"]  # type: ignore[attr-defined]
    engine.flash.unsubscribe(seen.append)
    engine.feed(PipelineUpdate(heel_strikes=[("left", 2.0)]))
    assert len(seen) == 2
    assert isinstance(engine.flash, FlashSignal)
    sink, why = audio_sink()  # no audio device on this machine: no sink, a reason
    assert (sink is None) == bool(why)
    with pytest.raises(ValueError, match="strike' or 'heel"):
        FeedbackEngine("loud")


def test_a_retracted_heel_strike_gets_no_heel_cue_and_is_counted() -> None:
    from insole.core.pipeline import PipelineUpdate, SideSamples

    fs = 200.0
    sink = RecordingSink()
    target = FeedbackTarget(100.0, 0.0, 500.0, "history", 56)  # heel peak above 500 N
    out_of_reach = FeedbackTarget(1.0, 0.0, 1e9, "history", 56)
    engine = FeedbackEngine("heel", [sink], heel_target=target, rate_target=out_of_reach)

    def samples(start: int, heel: list[float]) -> PipelineUpdate:
        h = np.asarray(heel, float)
        return PipelineUpdate(samples={"left": SideSamples(start, fs, 1.5 * h, h,
                                                           np.zeros((h.size, 1)))})

    engine.feed(samples(0, [5.0] * 20), 0.0)  # swing
    update = samples(20, [5.0, 40.0, 120.0])  # a rising heel: announced at sample 20
    update.heel_strikes = [("left", 20 / fs), ("right", 1.0)]
    engine.feed(update, 0.0)
    engine.feed(PipelineUpdate(retracted_heel_strikes=[("left", 20 / fs)]), 0.0)
    engine.feed(samples(23, [300.0, 600.0, 700.0]), 0.0)  # above the target: no cue any more
    assert sink.cues == []
    assert engine.retracted_strikes == 1
    # Without the retraction the same samples cue.
    sink2 = RecordingSink()
    engine2 = FeedbackEngine("heel", [sink2], heel_target=target, rate_target=out_of_reach)
    engine2.feed(samples(0, [5.0] * 20), 0.0)
    update = samples(20, [5.0, 40.0, 120.0])
    update.heel_strikes = [("left", 20 / fs)]
    engine2.feed(update, 0.0)
    engine2.feed(samples(23, [300.0, 600.0, 700.0]), 0.0)
    assert [c.what for c in sink2.cues] == ["heel peak"]


def test_cli_feedback_asks_for_small_batches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["live", "sim:?duration=8&speed=max&seed=3", "--no-gui", "--feedback",
                 "strike"]) == 0
    out = capsys.readouterr().out
    assert "feedback: cue on every heel strike" in out
    assert "SET_BATCH 2" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("feedback: ") and "cues on" in ln)
    n_cues, n_strikes = int(line.split()[1]), int(line.split()[4])
    late = int(line.split("(")[1].split()[0]) if "too late" in line else 0
    assert n_cues + late == n_strikes
    assert n_cues > 10
