"""After a flagged run: the guidance, the usual range, the trend charts and the words.

End to end on real SQLite histories of real analyses of simulated runs: six usual 20-s runs
(28 steps a side, no asymmetry) over four weeks, 1-29 April, so that the spike rule is armed
from 1 May; then

- a jump (a 50-s run, 2.5×) and an easy 20-s run: the next-run limit stays 1.1× the usual runs
  in every face (``analyze --save``, ``history``, ``report``, ``replay --save``) for as long as
  the jump is in the 30-day window, not 1.1× the jump;
- a run with a 15 % left/right heel-peak difference (flagged) and, four days later, one with
  8 %: still above the usual range — the 15 % run does not widen it;
- two runs on one day: each has a bar of its own in the report's trend charts;
- the words: "1 earlier run", a band-crossing "not yet" ratio never shown as the band, one
  "above your usual range" per flag in the report, no next run in the report of an earlier
  session, durations and limits that never round past each other.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import statistics
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers_history import (  # tests/ is on the path (tests/conftest.py)
    cli_out,
    saved_history,
    session_points,
    simulated_run,
)

from insole.cli import main
from insole.live.loadwatch import LoadWatch
from insole.session import plain
from insole.session.analysis import SessionAnalysis
from insole.session.report import RANGE_COLOR
from insole.session.rules import (
    RuleConfig,
    SessionPoint,
    _jumps,
    evaluate_session,
    history_needed,
    next_run_limits,
    usual_values,
)

#: The usual runs: start, seed (20 s each, 70 kg, no asymmetry).
USUAL = [
    ("2026-04-01T07:00:00+02:00", 1),
    ("2026-04-08T07:00:00+02:00", 2),
    ("2026-04-15T07:00:00+02:00", 3),
    ("2026-04-22T07:00:00+02:00", 4),
    ("2026-04-26T07:00:00+02:00", 5),
    ("2026-04-29T07:00:00+02:00", 6),
]
JUMP = "2026-05-02T07:00:00+02:00"
EASY = "2026-05-04T07:00:00+02:00"


def simulate(folder: Path, name: str, start: str, *, seconds: float = 20.0, **run: float) -> Path:
    return simulated_run(folder, name, start, seconds=seconds, **run)  # type: ignore[arg-type]


run = cli_out


def save(capsys: pytest.CaptureFixture[str], rec: Path, db: Path) -> str:
    return run(capsys, "analyze", rec, "--save", "--db", db, "--quiet")


points_of = session_points


def next_run_line(out: str) -> str:
    (line,) = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("Next run:")]
    return line


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jump")


@pytest.fixture(scope="module")
def usual(folder: Path) -> Path:
    """A history of the six usual runs."""
    return saved_history(folder / "usual.sqlite3", USUAL)


@pytest.fixture
def db(usual: Path, tmp_path: Path) -> Path:
    copied = tmp_path / "h.sqlite3"
    shutil.copy(usual, copied)
    return copied


@pytest.fixture(scope="module")
def jump_rec(folder: Path) -> Path:
    return simulate(folder, "jump", JUMP, seconds=50.0, seed=7)


@pytest.fixture(scope="module")
def easy_rec(folder: Path) -> Path:
    return simulate(folder, "easy", EASY, seed=8)


# --- 1. the next run never builds on a jump ----------------------------------------------------


def expected_line(points: list[SessionPoint], day: str) -> str:
    """The next-run line for 1.1× the longest usual run of the window of the day after `day`."""
    last = datetime.fromisoformat(day).date()
    window = [p for p in points if (last - p.local_date).days < 29 and p.duration_s < 30]
    limits = {m: 1.1 * max(float(getattr(p, m)) for p in window)
              for m in ("duration_s", "step_count")}
    return (f"Next run: up to {plain.fmt_value('duration_s', limits['duration_s'], limit=True)}"
            f" / {plain.fmt_value('step_count', limits['step_count'], limit=True)} stays "
            "within 1.1×")


def test_after_a_jump_and_an_easy_run_the_limit_stays_on_the_usual_runs(
    db: Path, jump_rec: Path, easy_rec: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jumped = save(capsys, jump_rec, db)
    assert "Higher than your recent normal: 2.5" in jumped  # high band
    expected = expected_line(points_of(db), JUMP)
    assert next_run_line(jumped).startswith(expected)
    again = tmp_path / "again.sqlite3"  # the same history, for a replay of the easy run
    shutil.copy(db, again)
    easy = save(capsys, easy_rec, db)
    assert "Within your recent normal" in easy
    points = points_of(db)
    expected = expected_line(points, EASY)
    line = next_run_line(easy)
    assert line.startswith(expected), line  # before: 1.1× the 50-s jump, "up to 55 s"
    assert "55 s" not in line
    # every face that shows the next run says the same
    assert next_run_line(run(capsys, "history", "--db", db)) == line
    report = tmp_path / "r.html"
    run(capsys, "report", points[-1].id, "--db", db, "--out", report)
    html = report.read_text()
    assert f"<b>{line}</b>" in html.replace("&#x27;", "'")
    # the easy run replayed and saved, as a live run is: the same lines as analyze --save
    replayed = run(capsys, "replay", easy_rec, "--speed", "max", "--no-gui", "--save",
                   "--db", again)
    assert next_run_line(replayed.split("saved as session")[1]) == line


def test_the_jump_stays_out_while_it_is_in_the_window(
    db: Path, jump_rec: Path, easy_rec: Path
) -> None:
    for rec in (jump_rec, easy_rec):
        assert main(["analyze", str(rec), "--save", "--db", str(db), "--quiet"]) == 0
    points = points_of(db)
    *before, jump, easy = points
    usual_s = max(p.duration_s for p in before if (easy.local_date - p.local_date).days < 29)
    assert "duration_s" in _jumps(jump, before, RuleConfig())
    # a run 27 days after the jump: the jump is still in the window, the usual runs are not
    later = SessionPoint(**{**easy.__dict__, "id": None,
                            "start": datetime.fromisoformat("2026-05-29T07:00:00+02:00")})
    limits = next_run_limits(later, points)
    assert limits["duration_s"] == pytest.approx(1.1 * max(easy.duration_s, later.duration_s))
    assert limits["duration_s"] < jump.duration_s
    # the next day's window holds the jump: on 30 May it still counts as one
    limits = next_run_limits(SessionPoint(**{**later.__dict__, "start": datetime.fromisoformat(
        "2026-05-30T07:00:00+02:00")}), points)
    assert limits["duration_s"] < 1.1 * jump.duration_s
    # the rule itself is unchanged: the longest run of the previous 30 days, jump included
    a = evaluate_session(later, points)
    assert a.reference["duration_s"] == jump.duration_s
    assert usual_s < 30 < jump.duration_s


def random_history(rng: random.Random, n: int) -> list[SessionPoint]:
    """Runs with gaps, breaks, ramps and jumps, same instants, UTC offsets up to ±23:59."""
    t = datetime(2026, 1, 1, 12, tzinfo=UTC)
    out = []
    size = 1000.0
    for i in range(n):
        t += timedelta(hours=rng.choice([0, 0.5, 6, 20, 24, 30, 70, 200, 24 * 29.5, 24 * 45]))
        minutes = rng.choice([0, 60, -420, 840, -720, 23 * 60 + 59, -(23 * 60 + 59)])
        size *= rng.choice([0.5, 0.8, 1.0, 1.05, 1.12, 1.25, 1.6, 2.5])
        size = min(max(size, 100.0), 6000.0)
        steps = round(size * rng.uniform(0.9, 1.1))
        out.append(SessionPoint(
            start=t.astimezone(timezone(timedelta(minutes=minutes))),
            duration_s=steps * rng.uniform(0.3, 0.4),
            step_count=steps,
            heel_impulse_ns=rng.choice([None, 0.0, steps * rng.uniform(35, 45)]),
            force_unit=rng.choice(["N", "N", "N", "counts"]),
            id=i,
        ))
    return out


def test_the_jumps_of_the_window_are_the_flags_the_rules_gave() -> None:
    """`_jumps` (what the guidance leaves out) equals the spike flags of `evaluate_session`."""
    for seed in range(6):
        rng = random.Random(seed)
        config = RuleConfig() if seed % 2 else RuleConfig(window_days=10, arm_min_days=45)
        ordered = sorted(random_history(rng, 120), key=lambda p: p.start)
        for i, s in enumerate(ordered):
            flags = {f.metric for f in evaluate_session(s, ordered[:i], config).flags
                     if f.rule == "spike"}
            assert _jumps(s, ordered[:i], config) == flags


def test_limits_from_the_sessions_history_needed_names_equal_those_from_every_session() -> None:
    """The save and the listing read a bounded window; the report reads everything."""
    for seed in range(4):
        rng = random.Random(seed)
        ordered = sorted(random_history(rng, 150), key=lambda p: p.start)
        lookback, first = history_needed()
        for i, s in enumerate(ordered[1:], start=1):
            every = ordered[:i]
            last = every[-1].start
            some = [p for j, p in enumerate(every) if j < first or p.start >= last - lookback]
            flagged = {f.metric for f in evaluate_session(s, every).flags if f.rule == "spike"}
            assert next_run_limits(s, some, flagged=flagged) == next_run_limits(
                s, every, flagged=flagged)


def test_no_limit_to_build_on_when_every_run_of_the_window_was_a_jump() -> None:
    start = datetime.fromisoformat("2026-03-01T07:00:00+01:00")

    def point(days: int, minutes: float) -> SessionPoint:
        return SessionPoint(start=start + timedelta(days=days), duration_s=minutes * 60,
                            step_count=round(minutes * 170))

    history = [point(0, 20), point(7, 20), point(14, 20), point(21, 20), point(28, 20)]
    ramp = [point(40, 30), point(50, 40), point(60, 50)]  # each > 1.1× the 30 days before it
    today = point(68, 60)
    a = evaluate_session(today, [*history, *ramp])
    assert a.armed
    assert {f.metric for f in a.flags} >= {"duration_s", "step_count"}
    limits = next_run_limits(today, [*history, *ramp], flagged={f.metric for f in a.flags})
    assert limits == {}
    line = plain.warning_lines(a, limits)[-1]
    assert line.startswith("Next run: no limit to build on")
    assert "30 days and 4 runs" not in line


# --- rounding of durations and limits ----------------------------------------------------------


def test_a_duration_is_never_rounded_up_to_look_like_its_limit() -> None:
    # the QA history: a 700-s run read "12 min" beside a limit "up to 12 min"
    assert plain.fmt_value("duration_s", 700.0) == "11 min 40 s"
    assert plain.fmt_value("duration_s", 1.1 * 700.0, limit=True) == "12 min"
    assert plain.fmt_value("duration_s", 740.0) == "12 min 20 s"  # past "up to 12 min"
    assert plain.fmt_duration(3912) == "1 h 05 min 12 s"
    assert plain.fmt_duration(3900) == "1 h 05 min"


def _seconds(text: str) -> float:
    h = re.search(r"(\d+) h", text)
    m = re.search(r"(\d+) min", text)
    s = re.search(r"(\d+) s", text)
    return sum(int(x.group(1)) * k for x, k in ((h, 3600), (m, 60), (s, 1)) if x)


@pytest.mark.parametrize("metric", ["duration_s", "step_count", "heel_impulse_ns"])
def test_a_limit_shown_is_never_above_the_limit(metric: str) -> None:
    rng = random.Random(5)
    profile = plain.Profile(mass_kg=70)
    for _ in range(3000):
        v = rng.choice([rng.uniform(1, 200), rng.uniform(200, 5000), rng.uniform(5000, 90000)])
        text = plain.fmt_value(metric, v, limit=True)
        if metric == "duration_s":
            assert _seconds(text) <= v
            shown = plain.fmt_value(metric, v)
            assert abs(_seconds(shown) - v) <= 0.5  # a run's own duration: to the second
        elif metric == "step_count":
            assert int(text.split()[0].replace(",", "")) <= v
        else:
            assert float(text.split()[0].replace(",", "")) <= v
            bw = plain.fmt_value(metric, v, profile, limit=True)
            assert float(bw.split()[0]) * profile.body_weight_n <= v * (1 + 1e-12)


# --- 2. one flagged run does not widen the usual range -----------------------------------------


def test_a_flagged_asymmetry_does_not_widen_the_usual_range(
    db: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    high = simulate(folder, "asym15", JUMP, seconds=24, seed=7, asymmetry_pct=15.0)
    save(capsys, high, db)
    first = json.loads(run(capsys, "history", "--db", db, "--json"))[-1]
    assert "asymmetry_heel_peak_n" in {w["metric"] for w in first["warnings"]}
    eight = simulate(folder, "asym10", "2026-05-06T07:00:00+02:00", seconds=24, seed=8,
                     asymmetry_pct=10.0)
    out = save(capsys, eight, db)
    row = json.loads(run(capsys, "history", "--db", db, "--json"))[-1]
    assert 7.0 < abs(row["symmetry_pct"]["heel_peak_n"]) < 10.0
    assert "asymmetry_heel_peak_n" in {w["metric"] for w in row["warnings"]}, out
    assert "Left/right heel-peak difference:" in out
    # the usual range: the mean of the usual runs of the window, the 15 % run left out
    points = points_of(db)
    *before, this = points
    window = [p for p in before if (this.local_date - p.local_date).days < 30]
    usual = [abs(p.symmetry_pct["heel_peak_n"]) for p in window[:-1]]
    a = evaluate_session(this, before)
    assert a.baselines["asymmetry_heel_peak_n"][0] == pytest.approx(statistics.fmean(usual))
    # what the rule said before: the 15 % run in the mean and SD, the 8 % run within them
    every = evaluate_session(this, before, RuleConfig(baseline_outlier_mad=math.inf))
    assert "asymmetry_heel_peak_n" not in {f.metric for f in every.flags}


def test_usual_values_leave_out_only_runs_far_above_and_keep_four() -> None:
    runs = [0.46, 5.38, 1.55, 0.44, 2.06]
    assert usual_values(runs, floor=0.5) == runs  # a noisy 5.4 % among 0.4-2 % stays
    assert usual_values([*runs, 14.36], floor=0.5) == runs
    assert usual_values([0.46, 1.55, 0.44, 14.36], floor=0.5) == [0.46, 1.55, 0.44, 14.36]
    assert usual_values([1.0, 1.1, 0.9, 1.0, 15.0, 14.0], floor=0.5) == [1.0, 1.1, 0.9, 1.0]
    assert usual_values([1.0, 1.1, 0.9, 15.0, 14.0], floor=0.5) == [1.0, 1.1, 0.9, 14.0]
    # far below stays: an easy run is part of the normal
    assert usual_values([900.0, 910.0, 905.0, 895.0, 700.0], floor_frac=0.02) == [
        900.0, 910.0, 905.0, 895.0, 700.0]


# --- 3. every session has its own bar in the trend charts --------------------------------------


def _rects(svg: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', r)) for r in re.findall(r"<rect [^>]*/>", svg)]


def _bars(svg: str) -> list[tuple[int, dict[str, str]]]:
    """The session bars of a trend chart (not the bands behind them nor the usual range)."""
    return [(i, r) for i, r in enumerate(_rects(svg))
            if "opacity" not in r and r.get("fill") != "#e8f3e6"]


def _box(r: dict[str, str]) -> tuple[float, float, float, float]:
    x, y = float(r["x"]), float(r["y"])
    return x, x + float(r["width"]), y, y + float(r["height"])


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[1] - 0.05 and b[0] < a[1] - 0.05 and a[2] < b[3] and b[2] < a[3]


@pytest.fixture(scope="module")
def same_day(usual: Path, folder: Path, tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[Path, str, str]:
    """The usual runs, a 15 % asymmetry run on 2 May at 07:00 and an easy run at 18:00."""
    db = tmp_path_factory.mktemp("same_day") / "h.sqlite3"
    shutil.copy(usual, db)
    for rec in (simulate(folder, "asym15b", JUMP, seconds=24, seed=7, asymmetry_pct=15.0),
                simulate(folder, "evening", "2026-05-02T18:00:00+02:00", seed=9)):
        assert main(["analyze", str(rec), "--save", "--db", str(db), "--quiet"]) == 0
    reports = []
    for target in ("8", "7"):  # the latest session, and the flagged one before it
        out = db.parent / f"r{target}.html"
        assert main(["report", target, "--db", str(db), "--out", str(out), "--quiet"]) == 0
        reports.append(out.read_text())
    return db, reports[0], reports[1]


def test_runs_on_one_day_each_have_a_bar_that_nothing_covers(
    same_day: tuple[Path, str, str],
) -> None:
    db, html, _ = same_day
    trends = html.split('<section id="trends">')[1].split("</section>")[0]
    charts = re.findall(r"<svg.*?</svg>", trends, re.S)
    assert len(charts) == 6
    n = len(points_of(db))
    for chart in charts:
        rects = _rects(chart)
        bars = _bars(chart)
        assert len(bars) == n, chart[:200]
        boxes = [_box(r) for _, r in bars]
        for i in range(n):  # no two bars share any x: same-day runs side by side
            for j in range(i + 1, n):
                assert boxes[i][1] <= boxes[j][0] + 0.05 or boxes[j][1] <= boxes[i][0] + 0.05
        for k, bar in bars:  # nothing drawn after a bar lies over it
            assert not [r for r in rects[k + 1:] if _overlap(_box(r), _box(bar))
                        and float(r["height"]) > 0]
    asym = next(c for c in charts if "left/right heel-peak difference" in c)
    bars = [r for _, r in _bars(asym)]
    assert bars[-2]["fill"] == RANGE_COLOR  # the flagged 15 % run, visible
    assert bars[-1]["fill"] != RANGE_COLOR  # the evening run beside it
    assert _box(bars[-2])[1] <= _box(bars[-1])[0]  # in the order run


# --- 4. the words --------------------------------------------------------------------------------


def test_a_report_says_above_your_usual_range_once_per_flag(
    same_day: tuple[Path, str, str],
) -> None:
    _, _, earlier = same_day
    summary = earlier.split('<section id="summary">')[1].split("</section>")[0]
    flags = re.findall(r'<div class="flag"[^>]*>(.*?)</div>', summary, re.S)
    baseline = [f for f in flags if "usual range" in f]
    assert baseline
    for f in baseline:
        assert f.count("above your usual range") == 1, f


def test_the_report_of_an_earlier_session_gives_no_next_run(
    same_day: tuple[Path, str, str],
) -> None:
    _, latest, earlier = same_day
    summary = earlier.split('<section id="summary">')[1].split("</section>")[0]
    assert "Next run: up to" not in summary
    assert "stays within" not in summary
    assert "given after your latest run only" in summary
    assert "session 8, Sat 2 May 2026, 18:00" in summary
    latest_summary = latest.split('<section id="summary">')[1].split("</section>")[0]
    assert "Next run: up to" in latest_summary
    assert "given after your latest run only" not in latest_summary


def test_learning_your_normal_counts_in_words(
    usual: Path, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    save(capsys, folder / "usual-run0.insrec", db)  # the first usual run (saved_history)
    out = save(capsys, simulate(tmp_path, "next", "2026-04-02T07:00:00+02:00", seed=3), db)
    assert "(now 1 day, 1 earlier run)." in out
    listing = run(capsys, "history", "--db", db, "--json")
    (notice,) = [n for n in json.loads(listing)[-1]["notices"] if n["kind"] == "not_armed"]
    assert "(now 1 day, 1 earlier session)." in notice["message"]


def test_a_ratio_not_past_the_band_never_reads_as_the_band(jump_rec: Path) -> None:
    records = sorted(SessionAnalysis().run(jump_rec).records_, key=lambda s: s.toe_off_s)
    crossing = 40.0 * 1.1  # a 40-s reference: duration passes 1.1× at 44 s
    heel = 0.0
    for s in records:  # the heel load LoadWatch has when the duration crosses
        heel += s.load.heel_impulse_ns if math.isfinite(s.load.heel_impulse_ns) else 0.0
        if s.toe_off_s > crossing:
            break
    watch = LoadWatch({"duration_s": 40.0, "step_count": 10_000.0,
                       "heel_impulse_ns": heel / 1.097})  # 1.097×: not past 1.1×
    lines = []
    for s in records:
        for c in watch.add_steps([s]) + watch.set_time(s.toe_off_s):
            lines.append(c.sentence())
    first = lines[0]
    assert first.startswith("past 1.1×")
    not_yet = first.split("not yet: ")[1].split(")")[0]
    assert "heel load 1.09×" in not_yet  # before: "heel load 1.10×", rounded to the band
    assert "1.10×" not in not_yet


def test_a_ratio_exactly_on_the_band_is_said_so() -> None:
    from insole.live.loadwatch import BandCrossing

    text = BandCrossing(band=1.10, level="caution", time_s=44.0,
                        ratios={"duration_s": 1.1000001, "step_count": 935 / 850}).sentence()
    assert "(not yet: steps exactly 1.10×)" in text




def test_a_jump_saved_after_later_runs_says_no_next_run(
    db: Path, jump_rec: Path, easy_rec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A session saved late (an older recording, back-filled) is not the latest: its warnings
    # say no next run (docs/history.md: the next run is for the latest session only).
    save(capsys, easy_rec, db)
    out = save(capsys, jump_rec, db)
    assert "above" in out.lower() or "×" in out
    assert "Next run" not in out
    assert "keep it at or below" not in out
