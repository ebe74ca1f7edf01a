"""A session on a few steps, end to end: simulate → analyze --save → history / report.

The summary withholds a left/right comparison under `MIN_SYMMETRY_STEPS` steps with a value on
a side; the warning rules follow the same minimum for every figure they compare with the
runner's own normal (median heel peak, the left/right differences), and the summary, the
verdict, ``history`` (text and JSON) and the report mark a figure on fewer steps — the heel
peak and the loading-rate index included — instead of using it.

The history is a real SQLite file of real analyses of simulated runs: five 20-s runs (28 steps a
side) over four weeks, so that the spike rule and the baselines are armed on 2 May; an 8-s run
has 11-12 steps a side.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers_history import (  # tests/ is on the path (tests/conftest.py)
    cli_out,
    saved_history,
    session_points,
    simulated_run,
)

from insole.commands.history import assess_saved, handle_analyze_save
from insole.session.analysis import SessionAnalysis
from insole.session.history import HistoryDB
from insole.session.plain import MIN_SYMMETRY_STEPS
from insole.session.rules import RuleConfig, SessionPoint, evaluate_session

#: The usual runs: start, seed (20 s each, 70 kg, no asymmetry).
USUAL = [
    ("2026-04-01T07:00:00+02:00", 1),
    ("2026-04-08T07:00:00+02:00", 2),
    ("2026-04-15T07:00:00+02:00", 3),
    ("2026-04-22T07:00:00+02:00", 4),
    ("2026-04-29T07:00:00+02:00", 5),
]
#: A start once the rules are armed (31 days after the first run, 4 runs in its window).
ARMED = "2026-05-02T07:00:00+02:00"
MARK = "too few to compare with your other runs"


def simulate(folder: Path, name: str, start: str, *, seconds: float = 8.0, **run: float) -> Path:
    return simulated_run(folder, name, start, seconds=seconds, **run)  # type: ignore[arg-type]


run = cli_out


@pytest.fixture(scope="module")
def usual(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history of the five usual runs."""
    return saved_history(tmp_path_factory.mktemp("usual") / "h.sqlite3", USUAL)


@pytest.fixture
def db(usual: Path, tmp_path: Path) -> Path:
    copied = tmp_path / "h.sqlite3"
    shutil.copy(usual, copied)
    return copied


def summary_of(rec: Path) -> dict[str, Any]:
    return SessionAnalysis(keep_records=False).run(rec).summary_


def counts(summary: dict[str, Any], metric: str) -> dict[str, int]:
    return {s: p["steps_with_value"][metric] for s, p in summary["per_side"].items()}


def last_row(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(run(capsys, "history", "--db", db, "--json"))[-1]


points_of = session_points


def few_steps_notice(row: dict[str, Any]) -> dict[str, Any]:
    (notice,) = [n for n in row["notices"] if n["kind"] == "few_steps"]
    return notice


def test_asymmetry_on_a_few_steps_a_side_raises_no_warning(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = simulate(tmp_path, "short", ARMED, asymmetry_pct=15.0)
    summary = summary_of(short)
    assert abs(summary["symmetry_pct"]["heel_peak_n"]) > 10.0  # far above the usual 0-5 %
    assert max(counts(summary, "heel_peak_n").values()) < MIN_SYMMETRY_STEPS
    saved = run(capsys, "analyze", short, "--save", "--db", db)
    row = last_row(db, capsys)
    assert row["armed"]
    assert not [w for w in row["warnings"] if w["rule"] == "asymmetry"]
    notice = few_steps_notice(row)
    assert notice["steps"]["asymmetry_heel_peak_n"] == counts(summary, "heel_peak_n")
    assert notice["steps"]["asymmetry_contact_time_s"] == counts(summary, "contact_time_s")
    assert "Left/right heel-peak difference:" not in saved
    assert "left/right heel-peak difference" in saved.split("Too few steps to compare")[1]
    # the summary printed above the verdict says the same: not compared
    heel = next(ln for ln in saved.splitlines() if "heel peak:" in ln)
    assert "not compared" in heel
    # the same asymmetry on enough steps a side is still a warning
    longer = simulate(tmp_path, "longer", "2026-05-04T07:00:00+02:00", seconds=24, seed=41,
                      asymmetry_pct=15.0)
    assert min(counts(summary_of(longer), "heel_peak_n").values()) >= MIN_SYMMETRY_STEPS
    run(capsys, "analyze", longer, "--save", "--db", db)
    row = last_row(db, capsys)
    assert "asymmetry_heel_peak_n" in {w["metric"] for w in row["warnings"]}
    assert not [n for n in row["notices"] if n["kind"] == "few_steps"]


def test_asymmetry_on_three_left_steps_raises_no_warning(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An insole that dropped out: 3 left steps with a value, 40-odd right ones."""
    rec = simulate(tmp_path, "lopsided", ARMED, seconds=30, seed=9, asymmetry_pct=15.0)
    whole = summary_of(rec)
    lopsided = copy.deepcopy(whole)
    for metric in ("heel_peak_n", "contact_time_s"):
        lopsided["per_side"]["left"]["steps_with_value"][metric] = 3
    right = counts(whole, "heel_peak_n")["right"]
    assert right >= 40
    # with every step the rule flags it: the difference itself is real
    flagged = evaluate_session(SessionPoint.from_summary(whole), points_of(db))
    assert "asymmetry_heel_peak_n" in {f.metric for f in flagged.flags}
    analysis = argparse.Namespace(summary_=lopsided, steps_=[])
    args = argparse.Namespace(file=rec, save=True, db=db, verbose=False)
    saved = handle_analyze_save(args, analysis) or ""
    row = last_row(db, capsys)
    assert not [w for w in row["warnings"] if w["rule"] == "asymmetry"]
    assert few_steps_notice(row)["steps"]["asymmetry_heel_peak_n"] == {"left": 3, "right": right}
    assert f"from 3 left and {right} right steps" in saved
    assert f"at least {MIN_SYMMETRY_STEPS} on each side needed" in saved


def test_a_first_run_on_a_few_steps_is_not_part_of_the_normal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = simulate(tmp_path, "first", USUAL[0][0])
    n = counts(summary_of(short), "heel_peak_n")
    db = tmp_path / "new.sqlite3"
    saved = run(capsys, "analyze", short, "--save", "--db", db)
    row = last_row(db, capsys)
    assert [x["kind"] for x in row["notices"]] == ["not_armed", "few_steps"]
    assert few_steps_notice(row)["steps"]["heel_peak_n"] == n
    line = next(ln.strip() for ln in saved.splitlines() if "Too few steps" in ln)
    assert line.startswith("Too few steps to compare with your usual range: heel peak")
    assert f"from {n['left']} left and {n['right']} right steps" in line
    for name in ("left/right heel-peak difference", "left/right contact-time difference"):
        assert name in line
    assert line.endswith(f"(at least {MIN_SYMMETRY_STEPS} on each side needed). They are left "
                         "out of the comparison, and this run does not count towards your "
                         "usual range for them.")


def test_heel_peak_on_a_few_steps_is_not_compared(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heavy = simulate(tmp_path, "heavy", ARMED, mass_kg=95.0, seed=6)
    summary = summary_of(heavy)
    points = points_of(db)
    saved = run(capsys, "analyze", heavy, "--save", "--db", db)
    row = last_row(db, capsys)
    assert "heel_peak_n" not in {w["metric"] for w in row["warnings"]}
    # without the minimum, the heel peak of these 11-12 steps a side would be flagged
    unchecked = evaluate_session(SessionPoint.from_summary(summary), points,
                                 RuleConfig(min_side_steps=1))
    assert "heel_peak_n" in {f.metric for f in unchecked.flags}
    assert few_steps_notice(row)["steps"]["heel_peak_n"] == counts(summary, "heel_peak_n")
    assert "Above your usual range" not in saved
    listing = run(capsys, "history", "--db", db)
    last = listing.splitlines()[2 + len(USUAL)]
    assert last.lstrip().startswith(f"{len(USUAL) + 1} ")
    assert "too few steps: heel peak, left/right not compared" in last
    # the same load on enough steps a side is still above the usual range
    longer = simulate(tmp_path, "heavier", "2026-05-04T07:00:00+02:00", seconds=24, seed=7,
                      mass_kg=95.0)
    run(capsys, "analyze", longer, "--save", "--db", db)
    assert "heel_peak_n" in {w["metric"] for w in last_row(db, capsys)["warnings"]}


def test_few_step_runs_do_not_count_towards_the_usual_range(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i, start in enumerate(["2026-04-30T07:00:00+02:00", "2026-05-01T07:00:00+02:00",
                               "2026-05-02T07:00:00+02:00"]):
        short = simulate(tmp_path, f"odd{i}", start, mass_kg=110.0, asymmetry_pct=30.0,
                         seed=50 + i)
        run(capsys, "analyze", short, "--save", "--db", db)
    normal = simulate(tmp_path, "normal", "2026-05-02T18:00:00+02:00", seconds=20, seed=8)
    run(capsys, "analyze", normal, "--save", "--db", db)
    with HistoryDB(db) as h:
        sessions = h.sessions()
    assessment = assess_saved(sessions)[-1]
    window = sessions[1 : len(USUAL)]  # 8-29 April: the usual runs in the window
    heel = [float(s.heel_peak_median_n) for s in window]
    asym = [abs(s.symmetry_pct["heel_peak_n"]) for s in window]
    assert assessment.baselines["heel_peak_n"][0] == pytest.approx(sum(heel) / len(heel))
    assert assessment.baselines["asymmetry_heel_peak_n"][0] == pytest.approx(
        sum(asym) / len(asym))
    assert not assessment.withheld
    assert RuleConfig().min_side_steps == MIN_SYMMETRY_STEPS


def test_summary_marks_the_figures_of_a_few_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = simulate(tmp_path, "short", ARMED)
    summary = summary_of(short)
    out = run(capsys, "analyze", short, "--db", tmp_path / "none.sqlite3")
    for label, metric in (("heel peak        ", "heel_peak_n"),
                          ("loading rate     ", "loading_rate_index")):
        n = counts(summary, metric)
        line = next(ln for ln in out.splitlines() if ln.startswith(f"  {label}"))
        assert line.endswith(
            f" — from {n['left']} left and {n['right']} right steps only: {MARK} (at least "
            f"{MIN_SYMMETRY_STEPS} on each side needed)"
        )
    # the JSON keeps every number, with the counts it rests on
    data = json.loads(run(capsys, "analyze", short, "--json"))
    assert data["loading_rate_index"] == summary["loading_rate_index"]
    assert counts(data, "loading_rate_index") == counts(summary, "loading_rate_index")
    enough = simulate(tmp_path, "enough", ARMED, seconds=20, seed=1)
    assert MARK not in run(capsys, "analyze", enough, "--db", tmp_path / "none.sqlite3")


def test_report_marks_the_figures_of_a_few_steps(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = simulate(tmp_path, "short", ARMED, asymmetry_pct=15.0)
    run(capsys, "analyze", short, "--save", "--db", db)
    out = tmp_path / "r.html"
    run(capsys, "report", short, "--out", out, "--db", db, "--quiet")
    html = re.sub(r"<style>.*?</style>", "", out.read_text(), flags=re.S)
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    facts = dict(re.findall(r"<tr><td><b>([^<]+)</b></td><td>([^<]+)</td></tr>", summary))
    assert MARK in facts["heel peak"]
    assert MARK in facts["loading rate"]
    assert MARK not in facts["heel load"]  # a sum, not a median: no mark
    assert "Too few steps to compare with your usual range" in summary
    assert "above your usual range</b>" not in summary
    # the trend charts draw this run as a dashed empty bar, named in the legend
    trends = html.split('<section id="trends">')[1].split("</section>")[0]
    heel_chart = next(c for c in trends.split("<svg")
                      if "heel peak per session, median" in c)
    bars = re.findall(r'<rect [^>]*fill="#fff"[^>]*stroke-dasharray="4 2"/>', heel_chart)
    assert len(bars) == 1
    assert f"fewer than {MIN_SYMMETRY_STEPS} steps of a foot" in trends
