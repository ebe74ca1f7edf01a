"""A force plate under both feet in the training history: no heel figures, as ``analyze --json``.

A plate's one sensor is the whole foot, so the analysis's "heel" figures of it are its whole
force (`insole.session.tables.plate_summary` blanks them). Saved, its session keeps its step
count and duration (they count in "too much, too soon") but has no heel load and no heel peak:
``history`` shows none, and the heel-load comparisons (rules, next run, report trends, the
feedback's targets) never read the plate's force as heel load. A real SQLite file throughout.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers_history import cli_out, session_points, simulated_run
from helpers_plate import plate_recording

from insole.cli import main
from insole.live.loadwatch import RecentMax
from insole.session.history import HistoryDB
from insole.session.rules import evaluate_session


def test_saved_plate_session_has_no_heel_figures(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rec = plate_recording(tmp_path)
    analyzed = json.loads(cli_out(capsys, "analyze", rec, "--json"))
    assert analyzed["heel_impulse_ns"] is None
    assert analyzed["heel_peak_n"]["median"] is None
    db = tmp_path / "h.sqlite3"
    cli_out(capsys, "analyze", rec, "--save", "--db", db)
    [row] = json.loads(cli_out(capsys, "history", "--db", db, "--json"))
    assert row["heel_impulse_ns"] is None
    assert row["heel_peak_median_n"] is None
    assert row["step_count"] == analyzed["step_count"]
    assert row["duration_s"] == pytest.approx(analyzed["duration_s"])
    listing = cli_out(capsys, "history", "--db", db)
    line = next(ln for ln in listing.splitlines() if ln.strip().startswith("1 "))
    assert "N·s" not in line
    assert " N " not in line
    assert not line.rstrip().endswith(" N")
    assert line.split()[8:11] == [str(analyzed["step_count"]), "–", "–"], line
    con = sqlite3.connect(db)
    try:  # the stored tables: the plate's side is "both" without heel; its steps no heel
        sides = con.execute("SELECT side, heel_peak_n, heel_impulse_ns, peak_force_n "
                            "FROM session_sides").fetchall()
        steps = con.execute("SELECT COUNT(*), COUNT(heel_peak_n), COUNT(heel_impulse_ns), "
                            "COUNT(peak_force_n) FROM steps").fetchone()
    finally:
        con.close()
    assert [s[:3] for s in sides] == [("both", None, None)]
    assert sides[0][3] > 1000
    n = analyzed["step_count"]
    assert steps[0] >= n
    assert steps[1:3] == (0, 0)
    assert steps[3] >= n
    # the report of the saved session still draws the plate's contacts
    out = tmp_path / "r.html"
    assert main(["report", "1", "--db", str(db), "--out", str(out)]) == 0
    html = out.read_text()
    assert "force plate under both feet: force, " in html
    assert "heel load" not in html


def test_plate_saved_before_the_fix_reads_without_heel(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rec = plate_recording(tmp_path)
    db = tmp_path / "h.sqlite3"
    cli_out(capsys, "analyze", rec, "--save", "--db", db)
    con = sqlite3.connect(db)
    with con:  # what the history stored for a plate before: its whole force as heel figures
        con.execute("UPDATE sessions SET heel_impulse_ns = 7000.0, heel_peak_median_n = 1200.0")
        con.execute("UPDATE steps SET heel_peak_n = peak_force_n, heel_impulse_ns = impulse_ns")
    con.close()
    [row] = json.loads(cli_out(capsys, "history", "--db", db, "--json"))
    assert row["heel_impulse_ns"] is None
    assert row["heel_peak_median_n"] is None
    later = datetime.now().astimezone() + timedelta(hours=2)
    recent = RecentMax.from_db(db, now=later, with_steps=True)
    assert recent.step_heel_peaks_n == []  # no feedback target from the plate's force
    assert "heel_impulse_ns" not in recent.reference
    assert recent.reference["step_count"] > 0


def test_plate_session_stays_out_of_the_heel_load_comparisons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    now = datetime.now().astimezone().replace(microsecond=0)
    for i, days in enumerate((35, 28, 21, 14, 7)):  # armed: 35 days, 5 sessions of insoles
        run = simulated_run(tmp_path, f"run{i}", (now - timedelta(days=days)).isoformat(),
                            seconds=12, seed=40 + i)
        cli_out(capsys, "analyze", run, "--save", "--db", db, "--quiet")
    plate = plate_recording(tmp_path)  # imported now: the latest session
    cli_out(capsys, "analyze", plate, "--save", "--db", db)
    points = session_points(db)
    insoles, [plate_point] = points[:-1], points[-1:]
    assert plate_point.heel_impulse_ns is None
    assert plate_point.heel_peak_median_n is None
    assert "heel_peak_n" not in plate_point.steps_with_value
    # the next insole run's 30-day heel-load reference is the insoles' largest, not the
    # plate's whole force (several times larger)
    with HistoryDB(db, readonly=True) as h:
        plate_summary = h.sessions()[-1].summary
    assert plate_summary["heel_impulse_ns"] > 3 * max(p.heel_impulse_ns or 0 for p in insoles)
    probe = insoles[-1].__class__(start=now + timedelta(hours=3), duration_s=12.0,
                                  step_count=30, heel_impulse_ns=100.0)
    a = evaluate_session(probe, points)
    assert a.armed
    assert a.reference["heel_impulse_ns"] == pytest.approx(
        max(p.heel_impulse_ns or 0 for p in insoles[1:]))
    assert a.reference["step_count"] == max(p.step_count for p in points[1:])
    # the plate itself is compared by steps and duration only; no heel flag, no notice of it
    mine = evaluate_session(plate_point, insoles)
    assert all(f.metric not in ("heel_impulse_ns", "heel_peak_n") for f in mine.flags)
    assert "heel_peak_n" not in mine.withheld
    assert "heel_peak_n" not in mine.baselines
