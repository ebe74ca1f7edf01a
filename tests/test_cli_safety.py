"""What the CLI never destroys, and the one-line errors that say how to fix a refusal.

Real files, real SQLite histories and the entry point `insole.cli.main`, as a user meets them:

- no output replaces an input, even with ``--overwrite`` -- also the inputs a command reads
  without being given their path: the recording a saved session refers to (``insole report
  SESSION_ID``), the history database (``--db``, ``--save``, the profile of a summary), the
  recording a ``file:`` source reads;
- ``insole profile`` refuses a damaged, truncated or foreign history as ``insole history`` does;
- a save that cannot succeed (a folder, a read-only place, a recording from the future) is
  refused before anything runs, in one line; a value ``profile`` refuses creates no file;
- a saved session that overlaps another in time is saved, with one warning line.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers_users import run_read_only  # tests/ is on the path (tests/conftest.py)

from insole.cli import main
from insole.session.history import HistoryDB, HistoryError

ROOT = Path(__file__).resolve().parents[1]
REC = ROOT / "recordings" / "run_rearfoot_20s.insrec"
PLUS_TWO = timezone(timedelta(hours=2))  # the UTC offset of the QA report's recording


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run ``insole ARGS``; return the exit status, stdout and stderr."""
    capsys.readouterr()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refuses a value: exit 2 with its one line
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def refused(result: tuple[int, str, str], *words: str) -> str:
    """The one error line of a refused command (exit 2, nothing on stdout), with `words` in it."""
    status, out, err = result
    assert status == 2, (out, err)
    assert out == "", out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in err
    assert "[Errno" not in err
    return lines[0]


@pytest.fixture
def history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A history with one session saved from a copy of a recording: (database, recording)."""
    rec = tmp_path / "run.insrec"
    shutil.copyfile(REC, rec)
    db = tmp_path / "h.db"
    assert cli(capsys, "analyze", rec, "--save", "--db", db, "--quiet")[0] == 0
    return db, rec


def recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> Path:
    """A recording of a live source (irreplaceable: `--overwrite` would otherwise replace it)."""
    out = tmp_path / name
    assert cli(capsys, "record", "sim:?seed=2", "--out", out, "--duration", 4, "--quiet")[0] == 0
    return out


# --- 1. no output replaces an input, however the command came to read it -----------------------


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("kind", ["simulated", "live"])
def test_report_of_a_session_never_replaces_its_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, overwrite: bool
) -> None:
    # The QA case: `report 1 --db DB --out RECORDING` wrote HTML over the session's recording
    # (a simulated one without --overwrite, a live one with it).
    if kind == "live":
        rec = recorded(tmp_path, capsys, "live.insrec")
    else:
        rec = tmp_path / "sim.insrec"
        shutil.copyfile(REC, rec)
    db = tmp_path / "h.db"
    status, out, _ = cli(capsys, "analyze", rec, "--save", "--db", db, "--quiet")
    assert status == 0
    assert "saved as session 1" in out
    before = rec.read_bytes()
    line = refused(cli(capsys, "report", "1", "--db", db, "--out", rec,
                       *(["--overwrite"] if overwrite else [])),
                   "insole report: error:", "the recording of session 1",
                   "choose another file name")
    assert "--overwrite" not in line  # no flag allows it
    assert rec.read_bytes() == before
    # the session's report goes anywhere else
    assert cli(capsys, "report", "1", "--db", db, "--out", tmp_path / "r.html")[0] == 0


def test_report_never_replaces_the_history_or_its_journal(
    history: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = history
    before = db.read_bytes()
    for out in (db, db.with_name("h.db-wal"), db.with_name("h.db-shm")):
        refused(cli(capsys, "report", "1", "--db", db, "--out", out, "--overwrite"),
                "is also the history database")
        assert db.read_bytes() == before
    assert not db.with_name("h.db-wal").exists()


@pytest.mark.parametrize("args", [
    # the steps table over the history saved to, or read for the summary's profile
    ("analyze", "{rec}", "--save", "--db", "{db}", "--steps-csv", "{db}", "--overwrite"),
    ("analyze", "{rec}", "--steps-csv", "{db}", "--overwrite"),  # $INSOLE_DB
    # the live recording over the history the run is compared with
    ("live", "sim:?seed=2", "--no-gui", "--db", "{db}", "--record", "{db}", "--overwrite",
     "--exit-after", "1"),
    ("demo", "--duration", "3", "--speed", "max", "--no-gui", "--db", "{db}", "--keep", "{db}",
     "--overwrite"),
], ids=["analyze-save", "analyze-profile", "live", "demo"])
def test_outputs_never_replace_the_history_a_command_reads(
    history: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
) -> None:
    db, rec = history
    monkeypatch.setenv("INSOLE_DB", str(db))
    before = db.read_bytes()
    refused(cli(capsys, *(a.format(db=db, rec=rec) for a in args)),
            "is also the history database", "choose another file name")
    assert db.read_bytes() == before
    assert cli(capsys, "history", "--db", db)[0] == 0  # and the history still reads


@pytest.mark.parametrize(("args", "role"), [
    (("record", "file:{rec}", "--out", "{rec}", "--overwrite", "--duration", "1"),
     "the recording read"),
    (("live", "file:{rec}?speed=max", "--no-gui", "--record", "{rec}", "--overwrite",
      "--exit-after", "1"), "the recording replayed"),
    (("replay", "{rec}", "--speed", "max", "--no-gui", "--screenshot", "{rec}"),
     "the recording replayed"),
    (("import", "table", "{table}", "--rate", "100", "--column", "1", "--side", "left", "--out",
      "{table}", "--overwrite"), "the file imported"),
], ids=["record", "live", "replay-screenshot", "import"])
def test_outputs_never_replace_the_file_a_command_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], role: str
) -> None:
    rec = tmp_path / "run.insrec"
    shutil.copyfile(REC, rec)
    table = tmp_path / "plate.txt"
    table.write_text("".join(f"{i / 100:.2f} {500 + (i % 50) * 10}\n" for i in range(400)))
    before = {p: p.read_bytes() for p in (rec, table)}
    refused(cli(capsys, *(a.format(rec=rec, table=table) for a in args)), f"is also {role}",
            "choose another file name")
    assert {p: p.read_bytes() for p in (rec, table)} == before


def test_a_screenshot_replaces_neither_the_recording_written_nor_a_live_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.insrec"
    refused(cli(capsys, "live", "sim:", "--no-gui", "--record", out, "--screenshot", out,
                "--exit-after", 1), "is also --record, the recording")
    assert not out.exists()
    live = recorded(tmp_path, capsys, "live.insrec")
    before = live.read_bytes()
    line = refused(cli(capsys, "replay", REC, "--speed", "max", "--screenshot", live),
                   "a recording of sim:?seed=2", "which a screenshot does not replace")
    assert "--overwrite" not in line  # replay has no such flag
    assert live.read_bytes() == before


def test_an_emulator_report_is_checked_before_the_emulator_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], history: tuple[Path, Path]
) -> None:
    # The emulator wrote its --report over whatever was there, at the end of its run.
    db, _ = history
    live = recorded(tmp_path, capsys, "live.insrec")
    before = {p: p.read_bytes() for p in (db, live)}
    for path, kind in ((db, "a database"), (live, "a recording of sim:?seed=2")):
        line = refused(cli(capsys, "emulate", "serial", "--no-wait", "--duration", 0.2,
                           "--report", path), kind, "which a report does not replace")
        assert "--overwrite" not in line
    assert {p: p.read_bytes() for p in (db, live)} == before
    refused(cli(capsys, "emulate", "serial", "--no-wait", "--duration", 0.2, "--report",
                tmp_path), "is a folder")
    refused(cli(capsys, "emulate", "serial", "--no-wait", "--duration", 0.2, "--report",
                tmp_path / "no" / "r.json"), "does not exist")


# --- 2. profile reads the history as history does ----------------------------------------------


def _damaged(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    bad = tmp_path / f"{kind}.db"
    if kind == "text":
        bad.write_text("not a database at all\n")
    elif kind == "foreign":
        con = sqlite3.connect(bad)
        con.execute("CREATE TABLE foo (x)")
        con.commit()
        con.close()
    else:  # a real history with a profile, cut in half (a copy that stopped mid-way)
        whole = tmp_path / "whole.db"
        assert cli(capsys, "profile", "--mass-kg", 70, "--db", whole)[0] == 0
        assert cli(capsys, "analyze", REC, "--save", "--db", whole, "--quiet")[0] == 0
        data = whole.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    return bad


@pytest.mark.parametrize("kind", ["text", "foreign", "truncated"])
def test_profile_refuses_a_damaged_or_foreign_history_as_history_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    bad = _damaged(kind, tmp_path, capsys)
    before = bad.read_bytes()
    expected = refused(cli(capsys, "history", "--db", bad)).removeprefix("insole history: ")
    for json_flag in ([], ["--json"]):  # --json printed null
        line = refused(cli(capsys, "profile", "--db", bad, *json_flag), "insole profile: error:")
        assert line == f"insole profile: {expected}"
        assert "no profile" not in line
    assert bad.read_bytes() == before


# --- 3. refusals in one line, before anything is created or run --------------------------------


def test_a_refused_profile_value_creates_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hx.db"
    for args, words in (
        (("--mass-kg", 10), "between 20 and 300 kg"),
        (("--mass-kg", 70, "--foot-length-mm", 1000), "between 150 and 400 mm"),
        (("--foot-length-mm", 250), "give --mass-kg KG as well"),
    ):
        refused(cli(capsys, "profile", *args, "--db", db), words)
        assert sorted(tmp_path.iterdir()) == [], args  # neither hx.db nor hx.db-checked
    assert cli(capsys, "profile", "--mass-kg", 70, "--db", db)[0] == 0
    assert cli(capsys, "profile", "--foot-length-mm", 265, "--db", db)[0] == 0
    assert "70 kg body mass" in cli(capsys, "profile", "--db", db)[1]  # the mass was kept


def test_analyze_save_to_a_folder_is_refused_before_the_analysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "dbdir"
    folder.mkdir()
    refused(cli(capsys, "analyze", REC, "--save", "--db", folder), "dbdir: is a directory",
            "history database as a file path")  # no summary printed before it
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_live_record_a_folder_says_a_file_path_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overwrite: bool
) -> None:
    folder = tmp_path / "emptydir"
    folder.mkdir()
    extra = ["--overwrite"] if overwrite else []
    said = refused(cli(capsys, "record", "sim:", "--out", folder, "--duration", 1))
    live = refused(cli(capsys, "live", "sim:?seed=9", "--no-gui", "--record", folder,
                       "--exit-after", 3, *extra))
    # the words of `record --out emptydir`: a file path is needed, e.g. emptydir/run.insrec
    assert live.replace("insole live:", "insole record:").replace(
        "insole live --help", "insole record --help").replace("--record", "--out") == said
    assert "is a directory; give the recording file to create as a file path" in live
    refused(cli(capsys, "demo", "--duration", 3, "--no-gui", "--keep", folder, *extra),
            "is a directory; give the recording to keep as a file path")
    assert list(folder.iterdir()) == []


def test_live_record_over_an_existing_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "run.insrec"
    shutil.copyfile(REC, existing)
    # with --db the run prints a "history:" line first: not before an error
    refused(cli(capsys, "live", "sim:?seed=9", "--no-gui", "--record", existing,
                "--db", tmp_path / "new.db", "--exit-after", 3),
            "file already exists", "pass --overwrite")
    assert existing.read_bytes() == REC.read_bytes()


def test_strict_refusal_says_how_to_read_past_the_damage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.insrec"
    cut.write_bytes(REC.read_bytes()[:30000])
    for command in ("analyze", "info"):
        refused(cli(capsys, command, cut, "--strict"),
                "strict reading refuses it", "leave out --strict to read past the damage")
    status, _, err = cli(capsys, "analyze", cut)  # and so it does
    assert status == 0
    assert "warning" in err


def test_saving_in_a_read_only_place_says_what_and_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    db = ro / "h.db"
    assert cli(capsys, "analyze", REC, "--save", "--db", db, "--quiet")[0] == 0
    before = db.read_bytes()
    # the history itself cannot be written: said before the run (the QA run went for its whole
    # length, then "[Errno 30] Read-only file system: '.../ro/recordings'")
    for args in (["live", "sim:?seed=5", "--no-gui", "--save", "--db", db, "--exit-after", 3],
                 ["analyze", REC, "--save", "--db", db, "--quiet"]):
        line = refused(run_read_only(ro, args, cli, capsys), f"{db}: cannot save to the history",
                       "give --db PATH in a folder you can write")
        assert "read-only file system" in line or "permission denied" in line
    # the history's folder is writable, but not recordings/ beside it, where --save keeps the
    # recording of a live run without --record
    ok = tmp_path / "ok"
    ok.mkdir()
    (ok / "recordings").mkdir()
    db2 = ok / "h.db"
    assert cli(capsys, "analyze", REC, "--save", "--db", db2, "--quiet")[0] == 0
    line = refused(run_read_only(ok / "recordings", ["live", "sim:?seed=5", "--no-gui", "--save",
                                                      "--db", db2, "--exit-after", 3],
                                 cli, capsys),
                   f"{ok / 'recordings'}: cannot create the recording of this run",
                   "give --record FILE in a writable folder, or --db PATH")
    assert "read-only file system" in line or "permission denied" in line
    assert db.read_bytes() == before
    assert list((ok / "recordings").iterdir()) == []


# --- 4. sessions that cannot be right ------------------------------------------------------------


def _simulate(capsys: pytest.CaptureFixture[str], out: Path, start: datetime, seed: int,
              duration_s: float = 30) -> Path:
    assert cli(capsys, "simulate", "--duration", duration_s, "--seed", seed, "--start",
               start.isoformat(), "--out", out, "--quiet")[0] == 0
    return out


def test_a_session_from_the_future_is_not_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the QA case: a recording 176 days ahead was saved, and from then on stood as the latest
    # session ("back after a break of 176 days" for every real run, no next-run line)
    now = datetime.now(UTC)
    db = tmp_path / "h.db"
    past = _simulate(capsys, tmp_path / "past.insrec", (now - timedelta(days=2)).astimezone(), 1)
    assert cli(capsys, "analyze", past, "--save", "--db", db, "--quiet")[0] == 0
    future = _simulate(capsys, tmp_path / "future.insrec",
                       (now + timedelta(days=176)).astimezone(PLUS_TWO), 2)
    for args in (("analyze", future, "--save", "--db", db),
                 ("analyze", future, "--save", "--db", db, "--json"),
                 ("replay", future, "--speed", "max", "--no-gui", "--save", "--db", db)):
        line = refused(cli(capsys, *args), "176 days from now", "not saved to the history",
                       "--start", "record the run again")
        assert line.startswith(f"insole {args[0]}: error: {future}: the recording starts on ")
    with HistoryDB(db, create=False, readonly=True) as h:
        assert h.count() == 1
    # within a day ahead (clocks and time zones a little off) it is saved
    soon = _simulate(capsys, tmp_path / "soon.insrec", (now + timedelta(hours=20)).astimezone(), 3)
    assert cli(capsys, "analyze", soon, "--save", "--db", db, "--quiet")[0] == 0
    # the library refuses it as well (live runs and replays save through it)
    with HistoryDB(db) as h:
        summary = {"start": "2026-06-01T07:00:00+02:00", "duration_s": 60.0, "step_count": 170}
        with pytest.raises(HistoryError, match="days from now"):
            h.save_session(summary, [], recording_path=REC, recording_sha256="f" * 64,
                           now=datetime(2026, 5, 1, tzinfo=UTC))
        assert h.count() == 2


def test_a_session_overlapping_another_is_saved_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.db"
    t0 = datetime(2026, 11, 1, 7, 0, tzinfo=PLUS_TWO)
    first = _simulate(capsys, tmp_path / "a.insrec", t0, 1, duration_s=60)
    status, _, err = cli(capsys, "analyze", first, "--save", "--db", db, "--quiet")
    assert (status, err) == (0, "")
    # the same run again from another file (another seed: other bytes), 10 s later, in UTC
    again = _simulate(capsys, tmp_path / "b.insrec", (t0 + timedelta(seconds=10)).astimezone(UTC),
                      2, duration_s=60)
    status, out, err = cli(capsys, "analyze", again, "--save", "--db", db, "--quiet")
    assert status == 0
    assert "saved as session 2" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("insole analyze: warning: session 2 overlaps session 1 (")
    assert str(first) in lines[0]
    assert "counts twice" in lines[0]
    # --json keeps stdout one JSON document; the warning is on stderr (with the save's lines)
    third = _simulate(capsys, tmp_path / "c.insrec", t0 + timedelta(seconds=50), 3)
    status, out, err = cli(capsys, "analyze", third, "--save", "--db", db, "--json")
    assert status == 0
    assert out.lstrip().startswith("{")
    warnings = [ln for ln in err.splitlines() if "warning:" in ln]
    assert len(warnings) == 1, err
    assert "session 3 overlaps session 1" in warnings[0]
    assert "and 1 other in time" in warnings[0]
    # the same file again: not saved again, no warning; a run after the others ended: none
    assert cli(capsys, "analyze", again, "--save", "--db", db, "--quiet")[2] == ""
    after = _simulate(capsys, tmp_path / "d.insrec", t0 + timedelta(seconds=90), 4)
    status, out, err = cli(capsys, "analyze", after, "--save", "--db", db, "--quiet")
    assert (status, err) == (0, "")
    with HistoryDB(db, create=False, readonly=True) as h:
        assert h.count() == 4
        assert [s.id for s in h.overlapping(h.session(1))] == [2, 3]
        assert h.overlapping(h.session(4)) == []
