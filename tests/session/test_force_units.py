"""Force figures are compared only between sessions in the same force unit.

A runner's history of calibrated insoles (N) can get a session of an uncalibrated recording
(imported footswitch or stAPPone counts, `insole import ... --unit counts`): its heel peak of
2,600 counts is on no common scale with a mean of 880 N. The rules leave the other unit's runs
out of the heel figures (`insole.session.rules.same_force_unit`) and say so; step counts,
durations and left/right indices (ratios) are compared as before.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from helpers_history import saved_history, session_points  # tests/ is on the path

import insole
from insole.cli import main
from insole.session.analysis import SessionAnalysis
from insole.session.rules import SessionPoint, evaluate_session, next_run_limits

USUAL = ["2026-04-01T07:00:00+02:00", "2026-04-08T07:00:00+02:00", "2026-04-15T07:00:00+02:00",
         "2026-04-22T07:00:00+02:00", "2026-04-29T07:00:00+02:00"]
#: Armed: 31 days after the first run, with 4 runs or more in its window.
ARMED = "2026-05-02T07:00:00+02:00"
FS = 200.0


def _footswitches(folder: Path, start: str) -> Path:
    """40 s of two footswitches in counts (36 contacts a foot), imported as a table."""
    t = np.arange(0.0, 40.0, 1.0 / FS)
    cols = []
    for first, rise in ((0.3, 2600.0), (0.85, 2500.0)):
        f = np.full(t.size, -1700.0)
        for hs in np.arange(first, 39.0, 1.1):
            a, n = int(round(hs * FS)), int(0.65 * FS)
            f[a : a + n] += rise * np.sin(np.pi * np.linspace(0.0, 1.0, n)) ** 1.5
        cols.append(f)
    src = folder / "fsw.csv"
    src.write_text("time,L,R\n" + "".join(
        f"{a:.4f},{b:.1f},{c:.1f}\n" for a, b, c in zip(t, *cols, strict=True)))
    out = folder / "fsw.insrec"
    insole.import_file("table", src, out, columns=["L", "R"], time_column="time",
                       unit="counts", start=datetime.fromisoformat(start))
    return out


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A history of five 20 s runs in N, and a counts session saved once the rules are armed."""
    d = tmp_path_factory.mktemp("units")
    db = d / "h.sqlite3"
    saved_history(db, [(start, i + 1) for i, start in enumerate(USUAL)])
    counts = _footswitches(d, ARMED)
    assert main(["analyze", str(counts), "--save", "--db", str(db), "--quiet"]) == 0
    return db, counts


_points = session_points


def test_a_counts_session_is_not_compared_with_runs_in_newtons(
    history: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, counts = history
    *usual, session = _points(db)
    assert session.force_unit == "counts"
    assert {p.force_unit for p in usual} == {"N"}
    a = evaluate_session(session, usual)
    assert a.armed
    heel = {"heel_peak_n", "heel_impulse_ns"}
    assert not heel & {f.metric for f in a.flags}
    assert not heel & set(a.reference)
    assert "heel_peak_n" not in a.baselines
    assert {"step_count", "duration_s"} <= set(a.reference)  # unit-free: compared as before
    (notice,) = [n for n in a.notices if n.kind == "other_unit"]
    assert "relative counts here, 4 of your runs of the last 30 days" in notice.message
    assert "newtons" in notice.message
    # The same figures read as newtons would be flagged: the test is of the unit, not the load.
    as_n = SessionPoint.from_summary(
        SessionAnalysis(keep_records=False).run(counts).summary_ | {"force_unit": "N"})
    assert heel & {f.metric for f in evaluate_session(as_n, usual).flags}
    # The next run's heel load limit: from this session alone (the only one in counts).
    assert session.heel_impulse_ns
    assert next_run_limits(session, usual)["heel_impulse_ns"] == pytest.approx(
        1.1 * session.heel_impulse_ns)
    # What the runner reads.
    capsys.readouterr()
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Heel peak:" not in out
    assert "heel peak 2" not in out.lower()
    assert "left out of their comparison (different scales)" in out
    assert main(["history", "--db", str(db), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[-1]
    assert "other_unit" in {n["kind"] for n in row["notices"]}
    assert not heel & {w["metric"] for w in row["warnings"]}


def test_runs_in_newtons_leave_a_counts_session_out_of_their_normal(
    history: tuple[Path, Path],
) -> None:
    db, _ = history
    *usual, counts = _points(db)
    later = usual[-1].__class__(**{**usual[-1].__dict__, "start": datetime.fromisoformat(
        "2026-05-03T07:00:00+02:00"), "id": None})
    a = evaluate_session(later, [*usual, counts])
    # The counts session's heel load (tens of thousands of counts·s) would set the reference.
    in_window = [p for p in usual if (later.local_date - p.local_date).days < 30]
    assert a.reference["heel_impulse_ns"] == max(p.heel_impulse_ns or 0 for p in in_window)
    (notice,) = [n for n in a.notices if n.kind == "other_unit"]
    assert "newtons here, 1 of your runs" in notice.message
    limit = next_run_limits(later, [*usual, counts])["heel_impulse_ns"]
    window = [p for p in usual if (later.local_date - p.local_date).days < 29]
    assert limit == pytest.approx(1.1 * max(p.heel_impulse_ns or 0 for p in [*window, later]))
