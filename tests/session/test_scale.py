"""A long history costs a save and the default listing no more than a short one.

Not timings (bench/history_scale.py times them): the rows a save reads are counted, the
windowed rules are compared with the rules given every earlier session, and the queries are
checked to use the start-time index.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import statistics
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from insole.cli import main
from insole.commands import history as commands
from insole.commands.history import LATEST, assess_saved, handle_analyze_save
from insole.session import plain
from insole.session.history import HistoryDB, HistoryError, file_sha256
from insole.session.rules import (
    RuleConfig,
    SessionPoint,
    _stdev,
    evaluate_history,
    evaluate_session,
    history_needed,
)

#: The recent sessions of the histories below, and how many old ones come before them.
RECENT = 45
OLD = 2000
NOW = datetime(2026, 5, 10, 7, 0, tzinfo=timezone(timedelta(hours=2)))


def summary(start: datetime, rng: random.Random, scale: float = 1.0) -> dict[str, Any]:
    f = rng.uniform(0.8, 1.2) * scale
    return {
        "start": start.isoformat(),
        "duration_s": round(1200.0 * f, 2),
        "step_count": round(3400 * f),
        "heel_impulse_ns": 150_000.0 * f * rng.uniform(0.95, 1.05),
        "heel_peak_n": {"median": 850.0 * rng.uniform(0.97, 1.03)},
        "symmetry_pct": {
            "heel_peak_n": rng.gauss(0.0, 2.0),
            "contact_time_s": rng.gauss(0.0, 0.5),
        },
        "cadence_spm": 170.0,
        "source": "sim",
    }


def recent_starts() -> list[datetime]:
    """RECENT sessions, about one every 1.3 days up to NOW, in two time zones."""
    out = []
    for i in range(RECENT):
        t = NOW - timedelta(hours=31 * (RECENT - i))
        out.append(t.astimezone(timezone(timedelta(hours=-7 if i % 5 == 0 else 2))))
    return out


def build(path: Path, old: int) -> None:
    """`old` sessions ending two years before NOW, then the RECENT ones."""
    rng = random.Random(7)
    with HistoryDB(path) as db:
        for i in range(old):
            start = NOW - timedelta(days=730) - timedelta(hours=20 * (old - i))
            db.save_session(
                summary(start, rng, scale=2.0),
                [],
                recording_path=f"/old/{i}",
                recording_sha256=f"old-{i}",
            )
        for i, start in enumerate(recent_starts()):
            db.save_session(
                summary(start, rng), [], recording_path=f"/new/{i}", recording_sha256=f"new-{i}"
            )


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("scale")
    out = {"short": d / "short.sqlite3", "long": d / "long.sqlite3"}
    build(out["short"], 0)
    build(out["long"], OLD)
    return out


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ids of the session rows read from the database (every read goes through `_row`)."""
    seen: list[int] = []
    real = HistoryDB._row

    def counting(r: tuple[Any, ...]) -> Any:
        seen.append(int(r[0]))
        return real(r)

    monkeypatch.setattr(HistoryDB, "_row", staticmethod(counting))
    return seen


def naive(sessions: list[Any]) -> list[Any]:
    """Every session assessed against every earlier one (the rules without the window)."""
    points = [SessionPoint.from_summary(s.summary | {"start": s.start}, id=s.id) for s in sessions]
    ordered = sorted(points, key=lambda p: p.start)
    return [evaluate_session(s, ordered[:i]) for i, s in enumerate(ordered)]


def save(db: Path, tmp_path: Path, start: datetime, tag: str) -> tuple[str, str]:
    """``analyze REC --save`` of a session 1.6 × the recent ones: its line and SHA-256."""
    rec = tmp_path / f"{tag}.insrec"
    rec.write_bytes(tag.encode())
    analysis = SimpleNamespace(summary_=summary(start, random.Random(tag), 1.6), steps_=[])
    line = handle_analyze_save(SimpleNamespace(file=rec, save=True, db=db), analysis)
    assert line is not None
    return line, file_sha256(rec)


@pytest.mark.parametrize("when", ["latest", "backfill"])
def test_a_save_reads_the_same_rows_with_2000_older_sessions(
    histories: dict[str, Path], tmp_path: Path, rows_read: list[int], when: str
) -> None:
    start = NOW + timedelta(days=1)
    if when == "backfill":  # between two recent sessions: later ones are not read
        start = recent_starts()[30] + timedelta(hours=3)
    lines, counts = {}, {}
    for name in ("short", "long"):
        db = tmp_path / f"{name}.sqlite3"
        shutil.copy(histories[name], db)
        rows_read.clear()
        lines[name], sha = save(db, tmp_path, start, f"{when}-{name}")
        counts[name] = len(rows_read)
        with HistoryDB(db) as h:
            sessions = h.sessions()
        saved = next(s for s in sessions if s.recording_sha256 == sha)
        expected = next(a for a in naive(sessions) if a.session.id == saved.id)
        got = assess_saved(sessions, ids={saved.id})[0]
        assert got == expected
        assert plain.verdict(expected) in lines[name]
    # the 60-odd days the rules and the next-run guidance read (a run flagged in the window
    # stays out of the guidance: each is checked against its own 30 days; about 50 sessions
    # here), the first 4 and the sessions a new one may overlap, not the 2,000
    assert counts["long"] <= counts["short"] + history_needed()[1]
    assert counts["long"] < 60
    assert "Steps: " in lines["long"]  # 1.6 × the recent sessions
    assert "warning band" in lines["long"]


def test_default_listing_reads_a_bounded_number_of_rows(
    histories: dict[str, Path], rows_read: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    counts = {}
    for name, db in histories.items():
        rows_read.clear()
        assert main(["history", "--db", str(db)]) == 0
        counts[name] = len(rows_read)
        out = capsys.readouterr().out
        total = RECENT + (OLD if name == "long" else 0)
        assert f"{total} sessions, the latest {LATEST}" in out
        assert f"{total - LATEST} earlier sessions not shown; 'insole history --all'" in out
        rows = [ln for ln in out.splitlines() if re.match(r" *\d+  [A-Z][a-z]{2} \d", ln)]
        assert len(rows) == LATEST  # one row per session shown, then the latest one's verdict
    assert counts["long"] <= counts["short"] + history_needed()[1]
    assert counts["long"] < LATEST + 50


def test_listings_equal_the_rules_over_every_session(
    histories: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db = histories["long"]
    with HistoryDB(db, readonly=True) as h:
        sessions = h.sessions()
    expected = commands.history_json(sessions, naive(sessions))
    assert main(["history", "--db", str(db), "--json", "--all"]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert main(["history", "--db", str(db), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == expected[-LATEST:]
    assert f"{len(expected) - LATEST} earlier sessions not shown" in out.err
    assert main(["history", "--db", str(db), "--json", "--last", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == expected[-3:]
    # the first recent session follows a break of two years: its notice reads the old ones
    first_recent = expected[OLD]
    assert [n["kind"] for n in first_recent["notices"]][:1] == ["break"]
    assert "start below your previous longest session" in first_recent["notices"][0]["message"]


def test_short_history_lists_everything_without_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    build(db, 0)
    assert main(["history", "--db", str(db), "--last", "100"]) == 0
    out = capsys.readouterr().out
    assert f"history {db}: {RECENT} sessions; " in out  # no ", the latest N"
    assert "not shown" not in out
    assert main(["history", "--db", str(db), "--all"]) == 0
    assert "not shown" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["history", "--db", str(db), "--last", "0"])
    with pytest.raises(SystemExit):
        main(["history", "--db", str(db), "--all", "--last", "3"])


def test_queries_use_the_start_time_index(histories: dict[str, Path]) -> None:
    con = sqlite3.connect(histories["long"])
    try:
        indexes = {r[1] for r in con.execute("PRAGMA index_list(sessions)")}
        assert "sessions_start" in indexes
        for sql in (
            "SELECT start FROM sessions ORDER BY start_utc DESC, id DESC LIMIT 1 OFFSET 19",
            "SELECT start_utc FROM sessions WHERE start_utc < 'x' "
            "ORDER BY start_utc DESC, id DESC LIMIT 1",
            "SELECT * FROM sessions WHERE start_utc < 'x' ORDER BY start_utc, id LIMIT 4",
            "SELECT * FROM sessions WHERE start_utc >= 'x' AND start_utc <= 'y' "
            "ORDER BY start_utc, id",
        ):
            plan = " ".join(str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "sessions_start" in plan, (sql, plan)
            assert "TEMP B-TREE" not in plan, (sql, plan)
    finally:
        con.close()


def random_history(rng: random.Random, n: int) -> list[SessionPoint]:
    """Sessions with gaps, breaks, same instants, and UTC offsets up to ±23:59."""
    t = datetime(2026, 1, 1, 12, tzinfo=UTC)
    out = []
    for i in range(n):
        t += timedelta(hours=rng.choice([0, 0.5, 6, 20, 24, 30, 70, 200, 24 * 29.5, 24 * 45]))
        minutes = rng.choice([0, 60, -420, 840, -720, 23 * 60 + 59, -(23 * 60 + 59)])
        start = t.astimezone(timezone(timedelta(minutes=minutes)))
        steps = rng.randint(100, 4000)
        out.append(
            SessionPoint(
                start=start,
                duration_s=steps * rng.uniform(0.3, 0.4),
                step_count=steps,
                heel_impulse_ns=rng.choice([None, 0.0, steps * 40.0]),
                heel_peak_median_n=rng.choice([None, rng.uniform(700, 1000)]),
                symmetry_pct={"heel_peak_n": rng.gauss(0, 3), "contact_time_s": rng.gauss(0, 1)},
                id=i,
            )
        )
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_windowed_rules_equal_the_rules_over_every_earlier_session(seed: int) -> None:
    rng = random.Random(seed)
    config = RuleConfig() if seed % 3 else RuleConfig(window_days=10, arm_min_days=45)
    history = random_history(rng, 150)
    ordered = sorted(history, key=lambda p: p.start)
    every = [evaluate_session(s, ordered[:i], config) for i, s in enumerate(ordered)]
    assert evaluate_history(history, config) == every
    some = {p.id for p in rng.sample(history, 10)}
    assert evaluate_history(history, config, ids=some) == [
        a for a in every if a.session.id in some
    ]


def test_stdev_is_statistics_stdev_to_the_bit() -> None:
    rng = random.Random(3)
    for i in range(5000):
        n = rng.randint(2, 40)
        values = [
            [rng.uniform(0, 2000), abs(rng.gauss(0, 3)), round(rng.uniform(700, 900), 1)][i % 3]
            for _ in range(n)
        ]
        if i % 7 == 0:
            values = [800.0 + rng.randint(-2, 2) * 1e-13 for _ in range(n)]
        assert _stdev(values) == statistics.stdev(values)
    assert _stdev([5.0, 5.0, 5.0]) == 0.0


def test_damage_read_by_a_listing_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    build(db, 0)
    data = bytearray(db.read_bytes())
    data[4096 : 4096 + 8192] = random.Random(1).randbytes(8192)
    db.write_bytes(bytes(data))
    with HistoryDB(db, readonly=True) as h, pytest.raises(
        HistoryError, match="not a readable insole history database"
    ):
        h.sessions()
    with pytest.raises(HistoryError, match="not a readable insole history database"):
        HistoryDB(db)  # a save checks the sessions tables first
    assert db.read_bytes() == bytes(data)
