"""A real training history built through the CLI: simulate → analyze --save → history / report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from insole.cli import main

#: (start, duration s) of the simulated sessions over 10 weeks; expected duration band.
PLAN = [
    ("2026-04-01T07:00:00+02:00", 20, "not armed"),
    ("2026-04-08T07:00:00+02:00", 20, "not armed"),
    ("2026-04-15T19:00:00+02:00", 20, "not armed"),
    ("2026-04-22T23:30:00-07:00", 20, "not armed"),  # 23 April in UTC: local day counts
    ("2026-05-01T07:00:00+02:00", 20, "none"),  # day 30, 4 earlier sessions: armed
    ("2026-05-03T07:00:00+02:00", 24, "caution"),  # 24 / 20 = 1.20
    ("2026-05-05T07:00:00+02:00", 34, "warning"),  # 34 / 24 = 1.42
    ("2026-05-07T07:00:00+02:00", 72, "high"),  # 72 / 34 = 2.12
    ("2026-06-12T07:00:00+02:00", 20, "break"),  # 36 days later
]


def cli(*args: str) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    d = tmp_path_factory.mktemp("history")
    db = d / "h.sqlite3"
    recs = []
    for i, (start, dur, _) in enumerate(PLAN):
        rec = d / f"s{i + 1}.insrec"
        assert (
            cli(
                "simulate",
                "--duration",
                dur,
                "--start",
                start,
                "--seed",
                i + 1,
                "--out",
                rec,
                "--json",
            )
            == 0
        )
        assert cli("analyze", rec, "--save", "--db", db, "--json") == 0
        recs.append(rec)
    return db, recs


def history_json(db: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert cli("history", "--db", db, "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_history_json_bands_arming_break_and_time_zones(
    history: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = history
    rows = history_json(db, capsys)
    assert len(rows) == len(PLAN)
    for row, (start, dur, expect) in zip(rows, PLAN, strict=True):
        assert {"start", "duration_s", "step_count", "heel_impulse_ns", "warnings"} <= set(row)
        assert row["start"] == start
        assert row["duration_s"] == pytest.approx(dur, abs=0.05)
        for w in row["warnings"]:
            assert {"metric", "ratio", "level"} <= set(w)
        levels = {w["metric"]: w["level"] for w in row["warnings"] if w["rule"] == "spike"}
        kinds = {n["kind"] for n in row["notices"]}
        if expect == "not armed":
            assert not row["armed"]
            assert "not_armed" in kinds
            assert not levels
        elif expect == "break":
            assert not row["armed"]
            assert "break" in kinds
            assert not levels
        else:
            assert row["armed"]
            assert levels.get("duration_s", "none") == expect
            assert levels.get("step_count", "none") == expect  # steps track duration here
    assert rows[3]["local_date"] == "2026-04-22"
    ratios = [
        next((w["ratio"] for w in r["warnings"] if w["metric"] == "duration_s"), None) for r in rows
    ]
    assert ratios[5:8] == [
        pytest.approx(1.2, abs=0.01),
        pytest.approx(34 / 24, abs=0.01),
        pytest.approx(72 / 34, abs=0.01),
    ]
    assert "start below your previous longest session" in rows[8]["notices"][0]["message"]


def test_history_listing(
    history: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = history
    capsys.readouterr()
    assert cli("history", "--db", db) == 0
    out = capsys.readouterr().out
    assert f"{len(PLAN)} sessions" in out
    assert re.search(r"Wed 22 Apr 2026 +23:30", out)  # the session's own local day and time
    assert "duration 2.12× longest run (high)" in out
    assert "back after 36 days: start below your previous longest run" in out
    assert "learning your normal" in out
    assert "not a medical device" in out


def test_resaving_the_same_recording_is_idempotent(
    history: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, recs = history
    capsys.readouterr()
    assert cli("analyze", recs[0], "--save", "--db", db) == 0
    assert "already in the history as session 1" in capsys.readouterr().out
    assert len(history_json(db, capsys)) == len(PLAN)


def test_env_variable_selects_the_database(
    history: tuple[Path, list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, recs = history
    monkeypatch.setenv("INSOLE_DB", str(tmp_path / "env.db"))
    assert cli("history", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "env.db").exists()  # listing never creates a database
    assert cli("analyze", recs[0], "--save") == 0
    assert "saved as session 1" in capsys.readouterr().out
    assert oct((tmp_path / "env.db").stat().st_mode & 0o777) == "0o600"


def test_damaged_database_exits_2_with_one_line(
    history: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    db, recs = history
    bad = tmp_path / "bad.sqlite3"
    data = bytearray(db.read_bytes())
    data[:4096] = b"garbage!" * 512
    bad.write_bytes(bytes(data))
    for args in (["history", "--db", bad], ["analyze", recs[0], "--save", "--db", bad]):
        proc = subprocess.run(
            [sys.executable, "-m", "insole.cli", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "not a readable insole history database" in lines[0]
        assert "Traceback" not in proc.stderr
    assert bad.read_bytes() == bytes(data)


SECTIONS = ("summary", "force", "pressure", "distributions", "strike", "symmetry", "trends")


def _check_report(html: str) -> None:
    assert not re.search(r"https?://", html)
    assert "<script" not in html
    assert "<link" not in html
    assert "<img" not in html
    for s in SECTIONS:
        assert f'<section id="{s}">' in html
    assert html.count("<svg") >= 8
    assert "not a medical device" in html


def test_report_of_saved_session_and_of_a_file(
    history: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, recs = history
    out = tmp_path / "r8.html"
    assert cli("report", "8", "--out", out, "--db", db) == 0
    html = out.read_text()
    _check_report(html)
    assert "high</b>" in html
    assert "Frandsen" in html
    assert "heel strikes" in html
    assert "mean peak pressure" in html
    out2 = tmp_path / "file.html"
    assert cli("report", recs[6], "--out", out2, "--db", db) == 0
    html2 = out2.read_text()
    _check_report(html2)
    assert "warning</b>" in html2
    assert cli("report", "99", "--out", out2, "--db", db) == 2
    assert cli("report", tmp_path / "missing.insrec", "--out", out2, "--db", db) == 2


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(
    history: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    db, _ = history
    html = tmp_path / "r.html"
    assert cli("report", "8", "--out", html, "--db", db) == 0
    png = tmp_path / "r.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1200,2400",
                html.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            env={**os.environ, "HOME": profile},
        )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 50_000  # a blank page is a few kB


def test_concurrent_cli_saves_lose_nothing(
    history: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, recs = history
    db = tmp_path / "shared.sqlite3"  # created by the racing processes themselves
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "insole.cli", "analyze", str(r), "--save", "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in recs[:4]
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "saved as session" in out
    rows = history_json(db, capsys)
    assert sorted(r["start"] for r in rows) == sorted(s for s, _, _ in PLAN[:4])


def test_report_without_the_recording_and_with_no_history(
    history: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, recs = history
    moved = tmp_path / "moved.insrec"
    shutil.copy(recs[0], moved)
    own = tmp_path / "own.sqlite3"
    assert cli("analyze", moved, "--save", "--db", own) == 0
    moved.unlink()
    out = tmp_path / "r.html"
    assert cli("report", "1", "--out", out, "--db", own) == 0
    html = out.read_text()
    assert "recording is not available" in html
    assert "No history yet" in html
    # a recording with no database at all: analysed, no trends, nothing created
    none_db = tmp_path / "none.sqlite3"
    assert cli("report", recs[1], "--out", out, "--db", none_db) == 0
    assert not none_db.exists()
    assert cli("history", "--db", none_db) == 0
    assert "no sessions saved yet" in capsys.readouterr().out


def test_trend_chart_colours_sessions_by_level(
    history: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    from insole.session.report import LEVEL_COLOR

    db, _ = history
    out = tmp_path / "r.html"
    assert cli("report", "9", "--out", out, "--db", db) == 0
    trends = out.read_text().split('<section id="trends">')[1]
    for level in ("none", "caution", "warning", "high"):
        assert f'fill="{LEVEL_COLOR[level]}"' in trends
    assert ">break</text>" in trends
    assert "Returning after a break of 36 days" in out.read_text()
