"""The history database on real files: permissions, idempotence, concurrency, corruption."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from insole.session.history import _CHECKED_TABLES as _CHECKED
from insole.session.history import (
    SCHEMA_VERSION,
    HistoryDB,
    HistoryError,
    default_db_path,
)


def summary(i: int, start: str = "2026-04-01T07:00:00+02:00") -> dict:
    return {
        "start": start,
        "duration_s": 60.0 + i,
        "step_count": 170 + i,
        "steps": {"left": 85, "right": 85 + i},
        "heel_impulse_ns": 9000.0 + i,
        "heel_peak_n": {"median": 850.0, "p10": 800.0, "p90": 900.0},
        "per_side": {
            "left": {"steps": 85, "contact_time_s": 0.26, "heel_peak_n": 840.0},
            "right": {"steps": 85 + i, "contact_time_s": 0.261, "heel_peak_n": 860.0},
        },
        "symmetry_pct": {"heel_peak_n": 2.35},
        "force_unit": "N",
        "source": "sim",
    }


STEPS = [
    {
        "side": "left",
        "number": 1,
        "heel_strike_s": 0.1,
        "toe_off_s": 0.36,
        "contact_s": 0.26,
        "heel_peak_n": 850.0,
        "stride_s": float("nan"),
        "has_gap": False,
        "strike_pattern": "rearfoot",
    },
    {
        "side": "right",
        "number": 1,
        "heel_strike_s": 0.45,
        "toe_off_s": 0.7,
        "contact_s": 0.25,
        "heel_peak_n": 870.0,
        "stride_s": 0.7,
        "has_gap": True,
        "strike_pattern": "rearfoot",
        "future_column": 3.5,
    },
]


def test_create_private_versioned_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "h.sqlite3"
    with HistoryDB(path) as db:
        db.save_session(summary(0), STEPS, recording_path=__file__, recording_sha256="a" * 64)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        for extra in ("-wal", "-shm"):
            p = Path(str(path) + extra)
            if p.exists():
                assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        assert db.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_save_read_back_and_idempotent(tmp_path: Path) -> None:
    rec = tmp_path / "r.bin"
    rec.write_bytes(b"recording bytes")
    with HistoryDB(tmp_path / "h.db") as db:
        s, created = db.save_session(summary(1), STEPS, recording_path=rec)
        assert created
        assert s.id == 1
        again, created2 = db.save_session(summary(1), STEPS, recording_path=rec)
        assert not created2
        assert again.id == 1
        assert len(db.sessions()) == 1
        assert s.start.isoformat() == "2026-04-01T07:00:00+02:00"
        assert s.recording_path == str(rec.resolve())
        assert len(s.recording_sha256) == 64
        assert (s.duration_s, s.step_count, s.heel_impulse_ns) == (61.0, 171, 9001.0)
        assert db.side_metrics(1)["right"]["contact_time_s"] == 0.261
        rows = db.steps(1)
        assert rows[0]["side"] == "left"
        assert rows[1]["has_gap"] is True
        assert rows[0]["stride_s"] != rows[0]["stride_s"]  # NaN round-trips
        assert rows[1]["future_column"] == 3.5  # unknown columns are kept too
        assert s.summary["symmetry_pct"] == {"heel_peak_n": 2.35}


def test_naive_start_is_refused(tmp_path: Path) -> None:
    with HistoryDB(tmp_path / "h.db") as db, pytest.raises(HistoryError, match="UTC offset"):
        db.save_session(summary(0, "2026-04-01T07:00:00"), [], recording_path=__file__)


def test_default_path_env_and_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import platformdirs

    monkeypatch.setenv("INSOLE_DB", str(tmp_path / "env.db"))
    assert default_db_path() == tmp_path / "env.db"
    monkeypatch.delenv("INSOLE_DB")
    assert default_db_path() == Path(platformdirs.user_data_dir("insole")) / "history.sqlite3"


def test_missing_db_without_create(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no history database yet"):
        HistoryDB(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def _filled(tmp_path: Path, n: int = 30) -> Path:
    path = tmp_path / "h.db"
    with HistoryDB(path) as db:
        for i in range(n):
            db.save_session(
                summary(i), STEPS * 20, recording_path=__file__, recording_sha256=f"{i:064x}"
            )
    return path


@pytest.mark.parametrize("where", ["header", "pages"])
def test_damaged_file_is_a_clear_error_never_a_reset(tmp_path: Path, where: str) -> None:
    path = _filled(tmp_path)
    data = bytearray(path.read_bytes())
    at = 0 if where == "header" else 4096
    data[at : at + 8192] = os.urandom(8192)
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match="not a readable insole history database") as info:
        HistoryDB(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)
    assert path.read_bytes() == bytes(data)  # untouched


def test_foreign_and_newer_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(HistoryError, match="not an insole history"):
        HistoryDB(other)
    newer = _filled(tmp_path, 1)
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(HistoryError, match="newer insole"):
        HistoryDB(newer)


WRITER = textwrap.dedent(
    """
    import sys
    from insole.session.history import HistoryDB
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    steps = [{"side": "left", "number": k, "heel_strike_s": k * 0.7, "toe_off_s": k * 0.7 + 0.26,
              "contact_s": 0.26, "heel_peak_n": 850.0} for k in range(200)]
    for i in range(n):
        summary = {"start": f"2026-04-{1 + i % 28:02d}T07:00:00+02:00", "duration_s": 60.0,
                   "step_count": 200, "steps": {"left": 200}, "heel_impulse_ns": 1.0,
                   "heel_peak_n": {"median": 850.0}, "per_side": {"left": {"steps": 200}}}
        with HistoryDB(path) as db:  # open per save: also races schema creation and WAL
            db.save_session(summary, steps, recording_path=path,
                            recording_sha256=f"{tag}-{i}")
    """
)


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    n = 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), tag, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    with HistoryDB(path) as db:
        sessions = db.sessions()
        assert len(sessions) == 2 * n
        assert {s.recording_sha256 for s in sessions} == {
            f"{t}-{i}" for t in "ab" for i in range(n)
        }
        counts = db.con.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
        assert counts == 2 * n * 200
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# --- the checked-state marker: a save's cost does not grow with the history ----------------


def _traced_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every SQL statement of the HistoryDB connections opened from now on."""
    statements: list[str] = []
    real = HistoryDB._connect

    def traced(self: HistoryDB) -> sqlite3.Connection:
        con = real(self)
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(HistoryDB, "_connect", traced)
    return statements


def _checks(statements: list[str]) -> int:
    return sum("quick_check" in s for s in statements)


def test_an_unchanged_history_is_not_checked_again(tmp_path: Path, monkeypatch) -> None:
    path = _filled(tmp_path, 5)
    marker = path.with_name(path.name + "-checked")
    assert marker.exists()
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    statements = _traced_opens(monkeypatch)
    with HistoryDB(path) as db:  # as this program left it: no check
        db.save_session(summary(7), STEPS, recording_path=__file__, recording_sha256="7" * 64)
    assert _checks(statements) == 0
    with HistoryDB(path):  # left as the save above left it: still none
        pass
    assert _checks(statements) == 0
    with HistoryDB(path, readonly=True) as db:
        assert len(db.sessions()) == 6


@pytest.mark.parametrize("change", ["mtime", "head", "marker", "wal", "other writer"])
def test_a_changed_history_is_checked_again(
    tmp_path: Path, monkeypatch, change: str
) -> None:
    path = _filled(tmp_path, 5)
    marker = path.with_name(path.name + "-checked")
    if change == "mtime":  # a program that wrote the file (size and head as they were)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "head":  # rewritten in place, within the same clock tick
        st = path.stat()
        data = bytearray(path.read_bytes())
        data[68] ^= 0x01  # the header's application id: harmless to SQLite
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "marker":
        marker.write_text("not json", encoding="utf-8")
    elif change == "wal":  # sessions committed by another connection, not yet in the file
        path.with_name(path.name + "-wal").write_bytes(b"")
    else:  # another program writes the file (here only its header)
        con = sqlite3.connect(path)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.close()
    statements = _traced_opens(monkeypatch)
    with HistoryDB(path):
        pass
    assert _checks(statements) == len(_CHECKED)


def test_damage_after_the_marker_is_still_found(tmp_path: Path) -> None:
    path = _filled(tmp_path)
    data = bytearray(path.read_bytes())
    data[4096 : 4096 + 8192] = os.urandom(8192)
    path.write_bytes(bytes(data))  # the head changes, and so does the modification time
    with pytest.raises(HistoryError, match="not a readable insole history database"):
        HistoryDB(path)
