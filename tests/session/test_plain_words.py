"""Plain words on every face a runner reads: ``analyze``, ``analyze --save``, ``history``.

Histories are built with `HistoryDB` in a real SQLite file so that the last session triggers
each rule at each level; the last session is then saved through the CLI (or, for the
asymmetry rules, which need a left/right difference the recording does not have, through
`handle_analyze_save` with the recording's summary changed in that one number).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from insole.cli import main
from insole.commands.history import handle_analyze_save
from insole.session.analysis import SessionAnalysis
from insole.session.history import HistoryDB
from insole.session.plain import METRIC_NAMES

REC = Path(__file__).parents[2] / "recordings" / "run_rearfoot_20s.insrec"
#: A code name: lower-case words joined by underscores (``step_count``, ``heel_peak_n``).
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    """The recording's summary (the last session of every history)."""
    return SessionAnalysis(keep_records=False).run(REC).summary_


def _prior(base: dict[str, Any], start: datetime, *, scale: float = 1.0, heel_peak: float = 1.0,
           sym: dict[str, float] | None = None) -> dict[str, Any]:
    s = copy.deepcopy(base)
    s["start"] = start.isoformat()
    s["duration_s"] = base["duration_s"] * scale
    s["step_count"] = round(base["step_count"] * scale)
    s["heel_impulse_ns"] = base["heel_impulse_ns"] * scale
    s["heel_peak_n"] = dict(base["heel_peak_n"], median=base["heel_peak_n"]["median"] * heel_peak)
    if sym is not None:
        s["symmetry_pct"] = dict(base["symmetry_pct"], **sym)
    return s


def _history(db: Path, summaries: list[dict[str, Any]]) -> None:
    with HistoryDB(db) as h:
        for i, s in enumerate(summaries):
            h.save_session(s, [], recording_path=f"prior{i}.insrec",
                           recording_sha256=f"{i:064x}")


def _starts(base: dict[str, Any], days_before: list[int]) -> list[datetime]:
    t = datetime.fromisoformat(base["start"])
    return [t - timedelta(days=d) for d in days_before]


#: Five earlier sessions over 40 days: the spike rule and the baselines are armed.
ARMED = [40, 20, 12, 6, 3]


@dataclass
class Case:
    name: str
    build: Callable[[dict[str, Any]], list[dict[str, Any]]]
    expect: dict[str, str]  # metric -> level ("" for notices only)
    session_change: dict[str, Any] | None = None
    verdict: str = ""


def _spike(ratio: float) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    # heel_peak 1.0: the heel baseline is the session itself, sd floor keeps it unflagged
    return lambda b: [_prior(b, t, scale=1 / ratio) for t in _starts(b, ARMED)]


def _heel(b: dict[str, Any]) -> list[dict[str, Any]]:
    return [_prior(b, t, heel_peak=0.80 + 0.01 * i) for i, t in enumerate(_starts(b, ARMED))]


def _asym(metric: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda b: [_prior(b, t, sym={metric: 0.2 * (-1) ** i})
                      for i, t in enumerate(_starts(b, ARMED))]


SPIKE = ("step_count", "duration_s", "heel_impulse_ns")
HIGHER = "Higher than your recent normal"
CASES = [
    Case("caution", _spike(1.2), dict.fromkeys(SPIKE, "caution"), verdict=HIGHER),
    Case("warning", _spike(1.5), dict.fromkeys(SPIKE, "warning"), verdict=HIGHER),
    Case("high", _spike(2.5), dict.fromkeys(SPIKE, "high"), verdict=HIGHER),
    Case("none", _spike(1.0), {}, verdict="Within your recent normal: 1.00×"),
    Case("heel intensity", _heel, {"heel_peak_n": "caution"}, verdict="Above your usual range"),
    Case("asymmetry heel peak", _asym("heel_peak_n"), {"asymmetry_heel_peak_n": "caution"},
         session_change={"symmetry_pct": {"heel_peak_n": 6.0}}, verdict="Above your usual range"),
    Case("asymmetry contact time", _asym("contact_time_s"),
         {"asymmetry_contact_time_s": "caution"},
         session_change={"symmetry_pct": {"contact_time_s": -3.0}},
         verdict="Above your usual range"),
    Case("not armed", lambda b: [_prior(b, t) for t in _starts(b, [10, 5])], {},
         verdict="Learning your normal"),
    Case("break", lambda b: [_prior(b, t) for t in _starts(b, [80, 70, 60, 50, 45])], {},
         verdict="Back after a break of 45 days: start below your previous longest run (20 s / "
                 "56 steps"),
]


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def _plain(text: str, *paths: Path) -> str:
    """The output with the file paths (user data, not code names) taken out."""
    for p in paths:
        text = text.replace(str(p), "PATH")
    return text


def _save_last(case: Case, base: dict[str, Any], db: Path, rec: Path,
               capsys: pytest.CaptureFixture[str]) -> str:
    """Save the last session: through the CLI, or with one summary number changed."""
    if case.session_change is None:
        return _run(capsys, "analyze", rec, "--save", "--db", db)
    summary = copy.deepcopy(base)
    for k, v in case.session_change.items():
        summary[k] = dict(summary[k], **v) if isinstance(v, dict) else v
    analysis = argparse.Namespace(summary_=summary, steps_=[])
    args = argparse.Namespace(file=rec, save=True, db=db, verbose=False)
    return handle_analyze_save(args, analysis) or ""


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("profile", [False, True], ids=["newtons", "body-weight"])
def test_every_rule_and_level_in_plain_sentences(
    case: Case, profile: bool, base: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "h.sqlite3"
    rec = tmp_path / "run.insrec"
    shutil.copy(REC, rec)
    _history(db, case.build(base))
    if profile:
        _run(capsys, "profile", "--mass-kg", 70, "--db", db)
    saved = _save_last(case, base, db, rec, capsys)
    listing = _run(capsys, "history", "--db", db)
    rows = json.loads(_run(capsys, "history", "--db", db, "--json"))
    last = rows[-1]
    got = {w["metric"]: w["level"] for w in last["warnings"]}
    assert got == case.expect  # the history was built right
    for face in (saved, listing):
        text = _plain(face, db, tmp_path)
        assert not SNAKE.search(text), SNAKE.findall(text)
        assert case.verdict in text
        assert "not a medical device" in text
    unit = "BW" if profile else " N"
    for w in last["warnings"]:
        ratio = f"{w['ratio']:.2f}×"
        if w["rule"] == "asymmetry":  # a difference: points over the mean, not a ratio to ~0 %
            ratio = f"{w['value'] - w['reference']:+.1f} points over your"
        name = METRIC_NAMES[w["metric"]].capitalize()
        # analyze --save and the latest session in history: one sentence per warning, with
        # its plain name, its ratio and a "next run" number
        for face in (saved, listing):
            sentence = next(s.strip() for s in face.splitlines()
                            if s.strip().startswith(name) and ratio in s)
            assert re.search(r"Next run: [^.]*\d", sentence), sentence
            if w["metric"] in ("heel_peak_n", "heel_impulse_ns"):
                assert unit in sentence
        # the history row says the same flag, with the same ratio
        assert ratio in next(r for r in listing.splitlines() if r.lstrip().startswith("6 "))
    if case.expect:
        assert "association" in saved
    if case.name in ("caution", "warning", "high"):
        band = {"caution": "1.1-1.3×", "warning": "1.3-2×", "high": "over 2×"}[case.name]
        assert f"{case.name} band, {band}" in saved
        nxt = next(s for s in saved.splitlines() if s.strip().startswith("Next run: up to"))
        # the next run: 1.1× the longest run before this one, rounded down
        prior = base["duration_s"] / {"caution": 1.2, "warning": 1.5, "high": 2.5}[case.name]
        assert f"up to {int(1.1 * prior)} s" in nxt
    if case.name == "heel intensity":
        assert "+2 SD" in saved or "mean + 2 SD" in saved


def test_summary_is_plain_unless_verbose(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.sqlite3"
    out = _run(capsys, "analyze", REC, "--db", db)
    assert not SNAKE.search(out), SNAKE.findall(out)
    for hidden in ("CRC", "ppm", "clock"):
        assert hidden not in out
    assert "left 49" in out or "left 50" in out  # balance in percent
    assert "insole profile --mass-kg" in out  # no profile yet: says how to set one
    assert not db.exists()  # reading the profile never creates a database
    verbose = _run(capsys, "analyze", REC, "--db", db, "--verbose")
    assert "heel_peak_n" in verbose
    assert "CRC errors" in verbose
    assert "ppm" in verbose
    # --json stays the summary dict
    js = json.loads(_run(capsys, "analyze", REC, "--json"))
    assert js["heel_peak_n"]["median"] == pytest.approx(867.5, abs=0.5)


def test_loads_in_body_weight_once_a_profile_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    out = _run(capsys, "profile", "--mass-kg", 70, "--foot-length-mm", 270, "--db", db)
    assert "70 kg" in out
    out = _run(capsys, "analyze", REC, "--db", db)
    # 867.5 N / (70 kg · 9.80665 m/s²) = 1.26 BW
    assert "heel peak        1.26 BW" in out
    assert "BW/s" in out
    assert "insole index" in out
    assert "insole profile" not in out
    # changing the mass keeps the foot length
    _run(capsys, "profile", "--mass-kg", 72.5, "--db", db)
    shown = json.loads(_run(capsys, "profile", "--db", db, "--json"))
    assert shown == {"mass_kg": 72.5, "foot_length_mm": 270.0}
    assert main(["profile", "--mass-kg", "5", "--db", str(db)]) == 2


def test_verbose_history_adds_code_names(
    base: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    _history(db, _spike(1.5)(base))
    _run(capsys, "analyze", REC, "--save", "--db", db)
    assert "duration_s warning" not in _run(capsys, "history", "--db", db)
    assert "duration_s warning 1.50×" in _run(capsys, "history", "--db", db, "--verbose")
