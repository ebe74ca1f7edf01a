"""The runner's profile (schema 2 and its migration), next-run limits, and the report's fixes."""

from __future__ import annotations

import copy
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from insole.cli import main
from insole.session.analysis import SessionAnalysis
from insole.session.history import SCHEMA_VERSION, HistoryDB
from insole.session.plain import Profile, balance, fmt_duration, fmt_value
from insole.session.report import LEVEL_COLOR, RANGE_COLOR
from insole.session.rules import SessionPoint, evaluate_session, next_run_limits

REC = Path(__file__).parents[2] / "recordings" / "run_rearfoot_20s.insrec"
T0 = datetime.fromisoformat("2026-05-01T07:00:00+02:00")


def point(days: float, minutes: float, **kw: Any) -> SessionPoint:
    return SessionPoint(start=T0 + timedelta(days=days), duration_s=60 * minutes,
                        step_count=int(170 * minutes), **kw)


# --- profile and schema ------------------------------------------------------------------------


def _version_1_file(path: Path) -> None:
    """A history as insole wrote it before the profile existed (schema version 1)."""
    with HistoryDB(path) as db:
        db.save_session(
            SessionAnalysis(keep_records=False).run(REC).summary_, [],
            recording_path=REC, recording_sha256="a" * 64,
        )
    con = sqlite3.connect(path)
    con.execute("DROP TABLE profile")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()


def test_version_1_history_is_read_as_is_and_migrated_by_a_write(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    _version_1_file(db)
    with HistoryDB(db, readonly=True) as h:  # a listing never changes the file
        assert h.profile() is None
        assert len(h.sessions()) == 1
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    con.close()
    assert main(["profile", "--mass-kg", "64.5", "--db", str(db)]) == 0
    with HistoryDB(db, readonly=True) as h:
        assert h.profile() == Profile(mass_kg=64.5)
        assert len(h.sessions()) == 1  # the sessions are untouched
        assert h.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_profile_without_a_database_says_how_to_set_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "none.sqlite3"
    assert main(["profile", "--db", str(db)]) == 0
    assert "insole profile --mass-kg" in capsys.readouterr().out
    assert not db.exists()
    assert main(["profile", "--foot-length-mm", "270", "--db", str(db)]) == 2  # no mass yet


@pytest.mark.parametrize("mass", [0.0, 19.9, 301.0, float("nan")])
def test_implausible_body_mass_is_refused(mass: float) -> None:
    with pytest.raises(ValueError, match="--mass-kg"):
        Profile(mass_kg=mass)


# --- plain numbers -----------------------------------------------------------------------------


def test_body_weight_units_and_rounding() -> None:
    p = Profile(mass_kg=70)  # 686.47 N
    assert fmt_value("heel_peak_n", 1044.5, p) == "1.52 BW"
    assert fmt_value("heel_peak_n", 1044.5) == "1,044 N"
    assert fmt_value("heel_impulse_ns", 20373.5, p) == "29.7 BW·s"
    assert fmt_value("loading_rate_index", 73487.0, p) == "107 BW/s"
    assert fmt_value("heel_peak_n", 1044.5, p, unit="a.u.") == "1,044 a.u."  # not newtons
    # limits round down, so "up to" stays within
    assert fmt_value("step_count", 5459, limit=True) == "5,400 steps"
    assert fmt_value("duration_s", 32.9 * 60, limit=True) == "32 min"
    assert fmt_duration(125) == "2 min 05 s"
    assert fmt_duration(3900) == "1 h 05 min"
    left, right = balance(5.4)  # SI 5.4 % = right 51.35 % of the pair
    assert (round(left, 2), round(right, 2)) == (48.65, 51.35)


# --- next run ----------------------------------------------------------------------------------


def test_next_run_limit_is_1_1_times_the_longest_run_of_tomorrows_window() -> None:
    history = [point(0, 30), point(10, 40), point(25, 30), point(31, 35), point(33, 30)]
    today = point(35, 38)  # 0.95× the longest (40 min, 25 days ago): no flag
    a = evaluate_session(today, history)
    assert a.armed
    assert not a.flags
    limits = next_run_limits(today, history)
    assert limits["duration_s"] == pytest.approx(1.1 * 40 * 60)
    # five days later the 40-minute run has left the window: the limit follows the rule
    later = point(40, 30)
    assert next_run_limits(later, [*history, today])["duration_s"] == pytest.approx(
        1.1 * 38 * 60
    )


def test_after_a_flagged_run_the_limit_does_not_build_on_the_jump() -> None:
    history = [point(0, 30), point(10, 30), point(20, 30), point(30, 30)]
    today = point(32, 45)  # 1.5×: warning
    a = evaluate_session(today, history)
    assert {f.metric: f.level for f in a.flags}["duration_s"] == "warning"
    flagged = {f.metric for f in a.flags}
    assert next_run_limits(today, history, flagged=flagged)["duration_s"] == pytest.approx(
        1.1 * 30 * 60
    )
    # what the rule alone would accept the next day (the jump counted)
    assert next_run_limits(today, history)["duration_s"] == pytest.approx(1.1 * 45 * 60)


def test_no_limit_while_learning() -> None:
    assert next_run_limits(point(5, 30), [point(0, 30)]) == {}


# --- report ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of a session above its heel-peak range, with a profile, 6 weeks of history."""
    d = tmp_path_factory.mktemp("report")
    db = d / "h.sqlite3"
    base = SessionAnalysis(keep_records=False).run(REC).summary_
    t = datetime.fromisoformat(base["start"])
    with HistoryDB(db) as h:
        for i, days in enumerate([40, 33, 26, 19, 12, 5]):
            s = copy.deepcopy(base)
            s["start"] = (t - timedelta(days=days)).isoformat()
            s["heel_peak_n"] = dict(base["heel_peak_n"],
                                    median=base["heel_peak_n"]["median"] * (0.8 + 0.01 * i))
            h.save_session(s, [], recording_path=d / f"p{i}.insrec",
                           recording_sha256=f"{i:064x}")
        h.set_profile(Profile(mass_kg=70))
    out = d / "r.html"
    assert main(["report", str(REC), "--out", str(out), "--db", str(db)]) == 0
    return out.read_text()


def test_report_title_is_human(report: str) -> None:
    h1 = re.search(r"<h1>(.*?)</h1>", report, re.S)
    assert h1 is not None
    assert "Run on Mon 2 Nov 2026, 07:30 — 20 s" in h1.group(1)
    assert "UTC+01:00" in h1.group(1)
    assert "2026-11-02T07:30" not in report.split("<body>")[1].split("</h1>")[0]


def test_report_week_count_matches_the_charts(report: str) -> None:
    trends = report.split('<section id="trends">')[1]
    weeks = int(re.search(r"Trends over the last (\d+) weeks", trends).group(1))  # type: ignore[union-attr]
    assert 8 <= weeks <= 12
    # each chart has one x tick a week
    first_chart = trends.split("</svg>")[0]
    assert first_chart.count('class="xt"') == weeks


def test_report_trends_cover_six_metrics_and_draw_the_usual_range(report: str) -> None:
    trends = report.split('<section id="trends">')[1]
    for title in ("duration per session", "steps per session", "heel load per session",
                  "heel peak per session", "left/right heel-peak difference",
                  "left/right contact-time difference"):
        assert title in trends
    charts = re.findall(r"<svg.*?</svg>", trends, re.S)
    heel_chart = next(c for c in charts if "heel peak per session" in c)
    assert f'fill="{RANGE_COLOR}"' in heel_chart  # this session: above its usual range
    assert f'stroke="{RANGE_COLOR}"' in heel_chart  # the mean + 2 SD line
    assert "BW" in heel_chart  # the axis in body weights
    duration_chart = next(c for c in charts if "duration per session" in c)
    assert f'fill="{LEVEL_COLOR["none"]}"' in duration_chart


def test_report_verdict_and_next_run_match_the_terminal(report: str) -> None:
    summary = report.split('<section id="summary">')[1].split("</section>")[0]
    assert "Above your usual range: heel peak (your 30-day mean + 2 SD)." in summary
    assert "above your usual range</b>" in summary
    assert "Next run: up to 22 s / 61 steps stays within 1.1×" in summary
    assert "1.26 BW per step" in summary  # 867.5 N at 70 kg
    assert not re.search(r"\d\.\d{3,}", summary)  # no over-precise numbers


def test_report_symmetry_in_plain_names_with_visible_bars(report: str) -> None:
    sym = report.split('<section id="symmetry">')[1].split("</section>")[0]
    table = re.sub(r"<svg.*?</svg>", "", sym, flags=re.S)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", table)
    for name in ("contact time", "peak force", "heel peak", "loading-rate index"):
        assert f"<td>{name}</td>" in sym
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="5" width="([\d.]+)"', sym)]
    assert len(widths) == 4
    assert min(widths) >= 2.0  # even a 0.1 % difference is a visible bar
    assert "% · " in sym  # the left · right balance in percent


def test_report_pressure_scale_covers_the_data_and_names_the_sides(report: str) -> None:
    pressure = report.split('<section id="pressure">')[1].split("</section>")[0]
    values = [int(v) for v in re.findall(r'class="pv" fill="#[0-9a-f]+">(\d+)</text>', pressure)]
    scale = pressure.split('aria-label="pressure colour scale"')[1]
    ticks = [int(v) for v in re.findall(r'class="lt">(\d+)</text>', scale)]
    assert max(ticks) >= max(values)
    assert pressure.count(">medial</text>") == 2
    assert pressure.count(">lateral</text>") == 2


# --- a force plate under both feet (issue 13, item 5) ---------------------------------------


def test_report_of_a_force_plate_says_plate_not_left_heel(tmp_path: Path) -> None:
    from helpers_plate import plate_recording  # tests/ is on the path (tests/conftest.py)

    rec = plate_recording(tmp_path)
    out = tmp_path / "plate.html"
    assert main(["report", str(rec), "--out", str(out), "--db", str(tmp_path / "none.sqlite3"),
                 "--quiet"]) == 0
    html = re.sub(r"<style>.*?</style>", "", out.read_text(), flags=re.S)
    # no foot side and no heel anywhere a reader sees (text, titles, SVG labels)
    assert re.findall(r"left|right|heel", html, re.I) == []
    text = re.sub(r"<[^>]+>", "\n", html)
    # 32: the contact in progress at the start is not counted, the one cut at the end is
    assert "32 (one force plate under both feet, every contact a step)" in text
    assert "1,200 N per contact (median; most contacts" in text
    assert "force plate under both feet: force, " in text
    assert "peak force per contact" in text
    assert "no pressure map" in text
    assert "no balance between them" in text
    # an insole recording keeps its feet and heel
    out2 = tmp_path / "run.html"
    assert main(["report", str(REC), "--out", str(out2), "--db", str(tmp_path / "none.sqlite3"),
                 "--quiet"]) == 0
    assert "heel peak" in out2.read_text()
    assert "left foot: force" in out2.read_text()
