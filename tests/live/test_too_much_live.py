""""Too much, too soon" during the run: a 36-day history, a run 1.5× the recent maximum.

Real parts: simulated recordings on disk, a real SQLite history, the ``insole`` CLI on a
``file:`` source at full speed.
"""

from __future__ import annotations

import math
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from helpers_history import simulated_run  # tests/ is on the path (tests/conftest.py)

from insole.cli import main
from insole.session.analysis import SessionAnalysis
from insole.session.history import HistoryDB

#: Start of the run in the test (its local day decides the 30-day window).
RUN_START = datetime.fromisoformat("2026-11-20T07:30:00+01:00")
#: Days before the run of the history's sessions (36 days of history, 7 sessions).
DAYS = (36, 30, 24, 18, 12, 6, 2)
LONGEST_S = 40.0


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, float]]:
    """A history of 7 sessions over 36 days (longest of the last 30: 40 s) and a 60 s run."""
    tmp = tmp_path_factory.mktemp("history")
    db_path = tmp / "h.sqlite3"
    analyses = {}
    for name, dur, seed in (("long", LONGEST_S, 11), ("short", 30.0, 12)):
        rec = simulated_run(tmp, name, RUN_START.isoformat(), seconds=dur, seed=seed)
        analyses[name] = (rec, SessionAnalysis().run(rec))
    reference: dict[str, float] = {}
    with HistoryDB(db_path) as db:
        for i, days in enumerate(DAYS):
            name = "long" if days in (24, 6) else "short"
            rec, a = analyses[name]
            summary = dict(a.summary_, start=(RUN_START - timedelta(days=days)).isoformat())
            if days == 36:  # outside the window: a bigger run that must not count
                for k in ("duration_s", "step_count", "heel_impulse_ns"):
                    summary[k] = summary[k] * 3
            copy = tmp / f"s{i}.insrec"
            shutil.copy(rec, copy)
            db.save_session(summary, a.steps_, recording_path=copy,
                            recording_sha256=f"{i:064x}")
            if days < 30:
                for k in ("duration_s", "step_count", "heel_impulse_ns"):
                    reference[k] = max(reference.get(k, 0.0), float(summary[k]))
    run = simulated_run(tmp, "run", RUN_START.isoformat(), seconds=1.5 * LONGEST_S, seed=13)
    return db_path, run, reference


def _expected_crossing(run: Path, reference: dict[str, float], band: float) -> float:
    """Recording time at which steps or duration of `run` pass `band` × their reference.

    Steps and duration stand in for the distance of the study; heel load (experimental) is
    named in the line but does not announce a band.
    """
    steps = SessionAnalysis().run(run).steps_
    toe = np.asarray(steps.column("toe_off_s"), float)
    toe = np.sort(toe)
    times = [band * reference["duration_s"]]
    n = math.floor(band * reference["step_count"]) + 1
    if n <= len(toe):
        times.append(float(toe[n - 1]))
    return min(times)


def test_live_run_past_the_recent_maximum_alerts_once_per_band_and_saves(
    history: tuple[Path, Path, dict[str, float]], capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run, reference = history[1:]
    db_path = tmp_path / "h.sqlite3"
    shutil.copy(history[0], db_path)
    assert main(["live", f"file:{run}?speed=max", "--db", str(db_path), "--no-gui",
                 "--save"]) == 0
    out = capsys.readouterr().out
    assert "longest run of the last 30 days (40 s" in out  # the 36-day-old 3x run left out
    bands = [ln for ln in out.splitlines() if ln.startswith("  ! ") and " past " in ln]
    assert len(bands) == 2, out  # 1.1x and 1.3x, each once; not 2x
    for line, band in zip(bands, (1.1, 1.3), strict=True):
        assert f"past {band:.1f}× your longest run of the last 30 days" in line
        t = float(re.match(r"  ! +([0-9.]+) s ", line).group(1))
        expected = _expected_crossing(run, reference, band)
        assert abs(t - expected) <= 2.0, (line, expected)
        names = line.split(" — ")[1]  # every metric, crossed first, with its ratio
        assert all(f"{m} 1." in names for m in ("steps", "duration", "heel load")), line
    status = [ln for ln in out.splitlines() if " s  steps " in ln]
    assert "% of your longest recent run" in status[-1]
    assert re.search(r"\b1[45]\d % of your longest recent run", status[-1]), status[-1]
    assert "saved as session 8" in out
    assert "Higher than your recent normal" in out
    with HistoryDB(db_path, create=False, readonly=True) as db:
        assert db.count() == 8
        saved = db.sessions()[-1]
        assert saved.recording_path == str(run.resolve())
        assert saved.duration_s == pytest.approx(1.5 * LONGEST_S, abs=0.1)


def test_replay_shows_the_same_crossings(
    history: tuple[Path, Path, dict[str, float]], capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    db_path, run, reference = history
    db_copy = tmp_path / "h.sqlite3"
    shutil.copy(db_path, db_copy)
    assert main(["replay", str(run), "--speed", "max", "--no-gui", "--db", str(db_copy)]) == 0
    out = capsys.readouterr().out
    bands = [ln for ln in out.splitlines() if ln.startswith("  ! ") and " past " in ln]
    assert [b.split(" past ")[1][:4] for b in bands] == ["1.1×", "1.3×"]
    for line, band in zip(bands, (1.1, 1.3), strict=True):
        t = float(re.match(r"  ! +([0-9.]+) s ", line).group(1))
        assert abs(t - _expected_crossing(run, reference, band)) <= 2.0, line
    with HistoryDB(db_copy, create=False, readonly=True) as db:
        assert db.count() == len(DAYS)  # no --save: nothing stored


def test_ctrl_c_ends_a_live_run_and_saves_it(
    history: tuple[Path, Path, dict[str, float]], capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import os
    import signal
    import threading

    db_copy = tmp_path / "h.sqlite3"
    shutil.copy(history[0], db_copy)
    timer = threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        assert main(["live", "sim:?seed=4", "--db", str(db_copy), "--no-gui", "--save"]) == 0
    finally:
        timer.cancel()
    out = capsys.readouterr().out
    assert f"saved as session {len(DAYS) + 1}" in out
    recordings = list((tmp_path / "recordings").glob("live-*.insrec"))
    assert len(recordings) == 1  # recorded beside the history for the save
    assert (tmp_path / "recordings").stat().st_mode & 0o777 == 0o700  # private as the history
    with HistoryDB(db_copy, create=False, readonly=True) as db:
        saved = db.sessions()[-1]
    assert saved.recording_path == str(recordings[0].resolve())
    assert 1.0 < saved.duration_s < 10.0


def test_a_replay_stopped_early_is_not_saved(
    history: tuple[Path, Path, dict[str, float]], capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    db_copy = tmp_path / "h.sqlite3"
    shutil.copy(history[0], db_copy)
    assert main(["live", f"file:{history[1]}?speed=2", "--db", str(db_copy), "--no-gui",
                 "--save", "--exit-after", "1"]) == 0
    out = capsys.readouterr().out
    assert "not saved: the replay stopped before the end of" in out
    with HistoryDB(db_copy, create=False, readonly=True) as db:
        assert db.count() == len(DAYS)


def test_band_sentence_never_rounds_a_metric_below_the_band_up_to_it() -> None:
    from insole.live.loadwatch import BandCrossing

    text = BandCrossing(
        band=1.10, level="caution", time_s=44.0,
        ratios={"duration_s": 1.104, "step_count": 1.0996, "heel_impulse_ns": 0.87},
    ).sentence()
    assert "1.10×" in text  # duration crossed
    assert "not yet:" in text
    not_yet = text.split("not yet:")[1]
    assert "1.09×" in not_yet
    assert "1.10×" not in not_yet
