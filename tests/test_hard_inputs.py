"""Hard inputs through the real ``insole`` command: a correct result or one line, exit 2.

Each test writes a bad input in ``tmp_path``, runs `insole.cli.main` and checks the exit status
and the message: one line on stderr that names the file or argument and says what to do, never
a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import textwrap
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from insole.cli import main, printable
from insole.commands.replay import iter_replay
from insole.errors import RecordingError
from insole.recordings.container import BlockReader, RecordingWriter, read_raw_recording
from insole.session.history import HistoryDB

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
SIM = RECORDINGS / "walk_20s.insrec"

STAPPONE_HEADER = (
    "sole_id,timestamp,accel_x,accel_y,accel_z,gyro_x,gyro_y,gyro_z,magn_x,magn_y,magn_z,"
    + ",".join(f"pressure_{i:02d}" for i in range(1, 13))
    + ",corrupt"
)


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run the command in-process; return (status, stdout, stderr)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def fails(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    """Run a command that must fail: exit 2, one line on stderr; return that line."""
    status, _, err = cli(capsys, *args)
    assert status == 2, err
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def fails_parsing(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Like `fails` for an argument argparse rejects (it exits through SystemExit)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


# --- recordings written by hand (recordings/FORMAT.md) --------------------------------------


def file_head(header_json: bytes) -> bytes:
    """File header: magic, version 1, reserved, length, JSON, CRC-32 of the JSON."""
    return (struct.pack("<8sHHI", b"INSOLREC", 1, 0, len(header_json)) + header_json
            + struct.pack("<I", zlib.crc32(header_json)))


def block(kind: int, stream_id: int, times: list[float], chunks: list[bytes]) -> bytes:
    """One block with a correct CRC (over bytes 4..11, the chunk table and the payload)."""
    table = b"".join(struct.pack("<dI", t, len(c)) for t, c in zip(times, chunks, strict=True))
    payload = b"".join(chunks)
    head = struct.pack("<BBHI", kind, stream_id, len(chunks), len(payload))
    return b"IBLK" + head + struct.pack("<I", zlib.crc32(table + payload, zlib.crc32(head))) \
        + table + payload


HEADER = {
    "format_version": 1,
    "software": {"name": "insole", "version": "0"},
    "start_time": "2025-05-01T07:30:00+02:00",
    "source": "sim",
    "streams": [{"stream_id": 0, "transport": "sim", "label": "x"}],
    "devices": [],
}


def set_chunk_time(src: Path, dst: Path, value: float) -> None:
    """Copy a recording, setting the last chunk time of its last data block (CRC fixed)."""
    buf = bytearray(src.read_bytes())
    pos = 20 + struct.unpack_from("<I", buf, 12)[0]
    last_data = None
    while pos < len(buf):
        _, kind, _, n, plen, _ = struct.unpack_from("<4sBBHII", buf, pos)
        if kind == 1:
            last_data = (pos, n, plen)
        pos += 16 + 12 * n + plen
    assert last_data is not None
    pos, n, plen = last_data
    table = pos + 16
    struct.pack_into("<d", buf, table + 12 * (n - 1), value)
    end = table + 12 * n + plen
    crc = zlib.crc32(bytes(buf[table:end]), zlib.crc32(bytes(buf[pos + 4:pos + 12])))
    struct.pack_into("<I", buf, pos + 12, crc)
    dst.write_bytes(bytes(buf))


# --- 1. stAPPone with equal timestamps ------------------------------------------------------


def test_stappone_with_equal_timestamps_is_one_line(tmp_path, capsys) -> None:
    row = "1,1000,0,0,0,0,0,0,0,0,0," + ",".join(["5"] * 12) + ",0"
    src = tmp_path / "same.csv"
    src.write_text("\n".join([STAPPONE_HEADER, *[row] * 4]) + "\n")
    msg = fails(capsys, "import", "stappone", src, "--side", "left", "--out", tmp_path / "o.rec")
    assert "same.csv" in msg
    assert "timestamps of sole_id 1 are equal" in msg
    assert not (tmp_path / "o.rec").exists()


def test_stappone_with_a_nan_timestamp_names_line_and_column(tmp_path, capsys) -> None:
    rows = [f"1,{1000 + 16 * i},0,0,0,0,0,0,0,0,0," + ",".join(["5"] * 12) + ",0"
            for i in range(4)]
    rows[2] = rows[2].replace(",1032,", ",nan,")
    src = tmp_path / "n.csv"
    src.write_text("\n".join([STAPPONE_HEADER, *rows]) + "\n")
    msg = fails(capsys, "import", "stappone", src, "--side", "left", "--out", tmp_path / "o.rec")
    assert "line 4, column 'timestamp'" in msg


# --- 2. deeply nested JSON with a valid CRC --------------------------------------------------


def test_deeply_nested_header_is_a_recording_error(tmp_path, capsys) -> None:
    text = json.dumps({**HEADER, "extra": {}}).encode()[:-2] + b'"a": ' + b"[" * 100_000 \
        + b"]" * 100_000 + b"}}"
    path = tmp_path / "deep.insrec"
    path.write_bytes(file_head(text))
    for command in ("info", "analyze", "replay"):
        msg = fails(capsys, command, path, *(["--no-gui"] if command == "replay" else []))
        assert str(path) in msg
        assert "nested more than 64 levels deep" in msg
    with pytest.raises(RecordingError, match="nested more than 64"):
        read_raw_recording(path)


def test_header_just_inside_the_depth_limit_reads(tmp_path) -> None:
    nested: object = 1
    for _ in range(62):  # header (1) + extra (2) + 62 lists = 64 levels
        nested = [nested]
    path = tmp_path / "ok.insrec"
    path.write_bytes(file_head(json.dumps({**HEADER, "extra": {"a": nested}}).encode()))
    assert read_raw_recording(path).header["extra"]["a"] == nested
    with pytest.raises(RecordingError, match="more than 64 levels"):
        RecordingWriter(tmp_path / "w.insrec", {**HEADER, "extra": {"a": [nested]}})


def test_deeply_nested_event_is_damage_not_a_crash(tmp_path, capsys) -> None:
    event = b'{"event": "note", "stream_id": 255, "x": ' + b"[" * 100_000 + b"]" * 100_000 \
        + b"}"
    path = tmp_path / "deepev.insrec"
    path.write_bytes(file_head(json.dumps(HEADER).encode()) + block(2, 255, [0.0], [event]))
    status, out, err = cli(capsys, "info", path)
    assert status == 0, err
    assert "malformed event block" in out
    assert "nested more than 64 levels deep" in out
    for command in ("analyze", "replay"):
        status, out, err = cli(capsys, command, path,
                               *(["--no-gui", "--speed", "max"] if command == "replay" else []))
        assert status == 0, err
        assert "Traceback" not in err
        assert "malformed event block" in out
    reader = BlockReader(path).scan()
    assert reader.damage is not None
    assert reader.damage.code == "malformed"


# --- 3. gaitpdb with NaN / inf ---------------------------------------------------------------


def gaitpdb_rows(n: int = 300) -> list[list[str]]:
    return [[f"{i / 100:.2f}", *["100.0"] * 16, "800", "800"] for i in range(n)]


def test_gaitpdb_nan_and_inf_become_invalid_samples(tmp_path, capsys) -> None:
    rows = gaitpdb_rows()
    rows[5][4] = "NaN"
    rows[7][12] = "inf"
    rows[9][18] = "-inf"  # a total: not imported, must not break the totals check
    src = tmp_path / "GaCo01_01.txt"
    src.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    status, out, err = cli(capsys, "import", "gaitpdb", src, "--out", tmp_path / "g.insrec",
                           "--json")
    assert status == 0, err
    info = json.loads(out)
    assert info["invalid_samples"] == 2
    assert [d["invalid_samples"] for d in info["devices"]] == [1, 1]
    status, out, err = cli(capsys, "analyze", tmp_path / "g.insrec")
    assert status == 0, err


def test_gaitpdb_nan_time_names_line_and_column(tmp_path, capsys) -> None:
    rows = gaitpdb_rows()
    rows[3][0] = "nan"
    src = tmp_path / "t.txt"
    src.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    msg = fails(capsys, "import", "gaitpdb", src, "--out", tmp_path / "g.insrec")
    assert "'" + str(src) + "' line 4, column 1 (time): nan is not a time" in msg


# --- 4. gaitndd with an implausible sampling frequency ---------------------------------------


def gaitndd_record(folder: Path) -> Path:
    with warnings.catch_warnings():  # wfdb uses pandas API that pandas deprecates
        warnings.simplefilter("ignore")
        wfdb = pytest.importorskip("wfdb")
        digital = np.array([[0, 10], [100, 20], [-5, 5], [2047, -2047]] * 30, dtype=np.int64)
        wfdb.wrsamp(
            "rec", fs=300, units=["mV", "mV"], sig_name=["left-foot", "right-foot"],
            d_signal=digital, fmt=["212", "212"], adc_gain=[1000.0, 1000.0],
            baseline=[0, 0], write_dir=str(folder),
        )
    return folder / "rec"


@pytest.mark.parametrize(
    ("fs", "words"),
    [
        ("-300", "sampling frequency -300 Hz is outside 1..10000 Hz"),
        ("0", "sampling frequency 0 Hz is outside 1..10000 Hz"),
        ("1e9", "sampling frequency 1e9 Hz is outside 1..10000 Hz"),
        ("abc", "sampling frequency 'abc' is not a number"),
        (None, "does not give the sampling frequency (wfdb would assume 250 Hz)"),
    ],
)
def test_gaitndd_implausible_rate_is_one_line(tmp_path, capsys, fs, words) -> None:
    record = gaitndd_record(tmp_path)
    hea = record.with_suffix(".hea")
    lines = hea.read_text().splitlines()
    fields = lines[0].split()
    fields[2:3] = [] if fs is None else [fs]
    if fs is None:
        fields = fields[:2]
    hea.write_text("\n".join([" ".join(fields), *lines[1:]]) + "\n")
    msg = fails(capsys, "import", "gaitndd", record, "--out", tmp_path / "n.insrec")
    assert "rec.hea" in msg
    assert words in msg
    assert "fix the third field" in msg
    assert not (tmp_path / "n.insrec").exists()


def test_gaitndd_plausible_rate_still_imports(tmp_path, capsys) -> None:
    record = gaitndd_record(tmp_path)
    status, out, err = cli(capsys, "import", "gaitndd", record, "--out", tmp_path / "n.insrec",
                           "--json")
    assert status == 0, err
    assert json.loads(out)["sample_rate_hz"] == 300


# --- 5. implausible --rate ------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["0.001", "0", "-5", "nan", "inf", "20000"])
def test_table_rate_outside_1_to_10000_hz_is_refused(tmp_path, capsys, rate) -> None:
    src = tmp_path / "f.csv"
    src.write_text("Fy\n" + "\n".join(str(i % 50) for i in range(200)) + "\n")
    msg = fails_parsing(capsys, "import", "table", str(src), "--rate", rate, "--column", "Fy",
                        "--out", str(tmp_path / "o.insrec"))
    assert "argument --rate: must be 1..10000 Hz" in msg
    assert rate in msg


def test_table_fractional_rate_in_range_is_accepted(tmp_path, capsys) -> None:
    src = tmp_path / "f.csv"
    src.write_text("Fy\n" + "\n".join(str(i % 50) for i in range(200)) + "\n")
    status, out, err = cli(capsys, "import", "table", src, "--rate", "62.5", "--column", "Fy",
                           "--out", tmp_path / "o.insrec")
    assert status == 0, err
    assert "62.5 Hz" in out
    # The frames carry 63 (whole Hz); info, its streaming path and the API said 63 / 63.0.
    from insole import analyze
    from insole.recordings.loader import load_recording, recording_info

    rec = tmp_path / "o.insrec"
    assert recording_info(rec)["sample_rate_hz"] == 62.5
    assert load_recording(rec).info()["sample_rate_hz"] == 62.5
    assert analyze(rec).samples("left").sample_rate_hz == 62.5
    status, out, err = cli(capsys, "info", rec)
    assert "sample rate      62.5 Hz" in out


def test_table_rate_inferred_from_time_column_is_checked_too(tmp_path, capsys) -> None:
    src = tmp_path / "slow.csv"
    src.write_text("t,Fy\n" + "\n".join(f"{2 * i},{i % 5}" for i in range(50)) + "\n")
    msg = fails(capsys, "import", "table", src, "--time-column", "t", "--column", "Fy",
                "--out", tmp_path / "o.insrec")
    assert "slow.csv" in msg
    assert "sampling rate 0.5 Hz is outside 1..10000 Hz" in msg


# --- 6. non-finite chunk host times ---------------------------------------------------------


@pytest.mark.parametrize("value", [float("inf"), float("nan"), float("-inf")])
def test_non_finite_chunk_time_is_counted_not_a_crash(tmp_path, capsys, value) -> None:
    path = tmp_path / "t.insrec"
    set_chunk_time(SIM, path, value)
    status, out, err = cli(capsys, "replay", path, "--no-gui", "--speed", "max")
    assert status == 0, err
    assert "Traceback" not in err
    assert "1 chunk host time was not a finite number (damaged chunk table)" in out
    assert "session summary" in out
    for command in ("analyze", "info"):
        status, out, err = cli(capsys, command, path)
        assert status == 0, err
    ticks = list(iter_replay(path, speed=float("inf")))
    assert ticks[-1].last
    assert ticks[-1].invalid_times == 1
    assert all(np.isfinite(t.time_s) for t in ticks)
    assert all(np.all(np.isfinite(c)) for t in ticks for c in t.chunk_times.values())
    total = sum(len(d) for t in ticks for d in t.data.values())
    assert total == sum(s.data.__len__() for s in read_raw_recording(path).streams.values())


def test_replay_of_an_intact_file_is_unchanged_by_the_time_checks() -> None:
    ticks = list(iter_replay(SIM, speed=float("inf")))
    assert ticks[-1].invalid_times == 0
    assert ticks[-1].time_s == pytest.approx(max(BlockReader(SIM).scan().last_chunk_time_s
                                                 .values()))


def test_absurd_finite_chunk_time_does_not_hang_a_max_speed_replay(tmp_path, capsys) -> None:
    path = tmp_path / "far.insrec"
    set_chunk_time(SIM, path, 1e300)
    status, out, err = cli(capsys, "replay", path, "--no-gui", "--speed", "max")
    assert status == 0, err
    assert out.count("\n") < 200


# --- 7. full disk on --save ------------------------------------------------------------------


def saved_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "h.sqlite3"
    status, _, err = cli(capsys, "analyze", RECORDINGS / "run_rearfoot_20s.insrec", "--save",
                         "--db", db)
    assert status == 0, err
    return db


def test_a_recording_without_steps_is_not_saved_to_the_history(tmp_path, capsys) -> None:
    # Only the header and a torn first block: no steps. Saved, it entered the runner's normal
    # as a session of 0 steps ("this becomes part of your normal").
    from insole.recordings.container import BLOCK_MAGIC

    cut = tmp_path / "cut.insrec"
    data = SIM.read_bytes()
    cut.write_bytes(data[: data.index(BLOCK_MAGIC) + 100])
    db = tmp_path / "h.sqlite3"
    status, out, err = cli(capsys, "analyze", cut, "--save", "--db", db)
    assert status == 0, err
    assert "steps            0" in out
    assert "not saved to the history" in out
    assert not db.exists()


def test_save_on_a_full_database_says_disk_full_not_damaged(tmp_path, capsys, monkeypatch):
    db = saved_db(tmp_path, capsys)
    real_connect = HistoryDB._connect

    def full(self: HistoryDB) -> sqlite3.Connection:
        # A real SQLITE_FULL from SQLite: the file may not grow by a single page.
        con = real_connect(self)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")
        return con

    monkeypatch.setattr(HistoryDB, "_connect", full)
    msg = fails(capsys, "analyze", SIM, "--save", "--db", db)
    assert str(db) in msg
    assert "the disk is full" in msg
    assert "free some disk space" in msg
    assert "restore a backup" not in msg
    assert "not a readable" not in msg
    monkeypatch.undo()
    status, out, _ = cli(capsys, "history", "--db", db)
    assert status == 0
    assert f"history {db}: 1 session;" in out


def test_creating_the_database_on_a_full_disk_says_disk_full(tmp_path, capsys, monkeypatch):
    def no_space(*args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

    monkeypatch.setattr("insole.session.history.os.open", no_space)
    msg = fails(capsys, "analyze", SIM, "--save", "--db", tmp_path / "new.sqlite3")
    assert "the disk is full" in msg
    assert "restore a backup" not in msg


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE short writes as on Linux")
def test_write_error_on_save_is_not_called_damage(tmp_path, capsys) -> None:
    db = saved_db(tmp_path, capsys)
    before = db.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        from insole.cli import main
        sys.exit(main(["analyze", {str(SIM)!r}, "--save", "--db", {str(db)!r}]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "restore a backup" not in proc.stderr
    assert "disk" in proc.stderr
    assert db.read_bytes() == before
    status, out, _ = cli(capsys, "history", "--db", db)
    assert status == 0
    assert "1 session;" in out


# --- 8. read-only history -------------------------------------------------------------------


def test_history_reading_never_writes(tmp_path, capsys) -> None:
    db = saved_db(tmp_path, capsys)
    # The save leaves the history and its checked-state marker (insole.session.history).
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["h.sqlite3", "h.sqlite3-checked"]
    with HistoryDB(db, readonly=True) as h:
        assert len(h.sessions()) == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            h.con.execute("DELETE FROM sessions")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_history_opens_mode_ro_when_the_file_is_not_writable(tmp_path, capsys, monkeypatch):
    db = saved_db(tmp_path, capsys)
    before = db.read_bytes()
    # as root chmod does not stop writes: make the access check say what it says to a user
    monkeypatch.setattr("insole.session.history.os.access", lambda path, mode: False)
    status, out, err = cli(capsys, "history", "--db", db)
    assert status == 0, err
    assert f"history {db}: 1 session;" in out
    report = tmp_path / "r.html"
    status, _, err = cli(capsys, "report", "1", "--db", db, "--out", report)
    assert status == 0, err
    assert db.read_bytes() == before


def test_empty_database_file_reads_as_no_sessions(tmp_path, capsys) -> None:
    db = tmp_path / "empty.sqlite3"
    db.touch()
    status, out, err = cli(capsys, "history", "--db", db, "--json")
    assert status == 0, err
    assert json.loads(out) == []
    assert db.read_bytes() == b""


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a user whom file permissions restrict (not root)")
def test_history_in_a_read_only_folder(tmp_path, capsys) -> None:
    db = saved_db(tmp_path, capsys)
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(db, folder / "h.sqlite3")
    (folder / "h.sqlite3").chmod(0o444)
    folder.chmod(0o555)
    try:
        status, out, err = cli(capsys, "history", "--db", folder / "h.sqlite3")
        assert status == 0, err
        assert "1 session;" in out
        msg = fails(capsys, "analyze", SIM, "--save", "--db", folder / "h.sqlite3")
        assert "permissions" in msg
    finally:
        folder.chmod(0o755)


# --- 9. control characters from a header ----------------------------------------------------


def test_info_escapes_control_characters_of_header_strings(tmp_path, capsys) -> None:
    path = tmp_path / "esc.insrec"
    header = {**HEADER, "source": "sim\x1b[31mRED\x1b[0m\x07\u202e"}
    path.write_bytes(file_head(json.dumps(header).encode()))
    status, out, err = cli(capsys, "info", path)
    assert status == 0, err
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\u202e" not in out
    assert "source sim\\x1b[31mRED\\x1b[0m\\x07\\u202e)" in out
    status, out, _ = cli(capsys, "info", path, "--json")
    assert json.loads(out)["source"] == header["source"]  # JSON keeps the exact string


def test_printable_keeps_ordinary_text() -> None:
    assert printable("ble: insole-L-3f2a, Zürich 5 °C") == "ble: insole-L-3f2a, Zürich 5 °C"
    assert printable("a\rb\x9bc\u2028") == "a\\x0db\\x9bc\\u2028"


# --- 10. empty recording --------------------------------------------------------------------


def test_info_of_an_empty_recording(tmp_path, capsys) -> None:
    path = tmp_path / "empty.insrec"
    path.write_bytes(file_head(json.dumps(HEADER).encode()))
    status, out, err = cli(capsys, "info", path)
    assert status == 0, err
    assert "sample rate      - (no samples in the recording)" in out
    assert "[]" not in out
    status, out, _ = cli(capsys, "info", path, "--json")
    info = json.loads(out)
    assert info["sample_rate_hz"] is None
    assert info["sensors_per_side"] is None


# --- 11. a directory where a file is expected ------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "extra", "words"),
    [
        ("gaitpdb", [], "gaitpdb file"),
        ("pedar", [], "pedar file"),
        ("stappone", ["--side", "left"], "stAPPone file"),
        ("table", ["--rate", "100", "--column", "Fy"], "table"),
    ],
)
def test_importing_a_directory_says_so(tmp_path, capsys, fmt, extra, words) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    msg = fails(capsys, "import", fmt, folder, *extra, "--out", tmp_path / "o.insrec")
    assert f"{words} '{folder}' is a directory, not a file; give the path of" in msg
    assert "not found" not in msg


def test_importing_a_directory_names_a_file_inside_it(tmp_path, capsys) -> None:
    folder = tmp_path / "gaitpdb"
    folder.mkdir()
    (folder / "GaCo01_01.txt").write_text("0 " * 19 + "\n")
    msg = fails(capsys, "import", "gaitpdb", folder, "--out", tmp_path / "o.insrec")
    assert f"e.g. '{folder / 'GaCo01_01.txt'}'" in msg


def test_importing_a_gaitndd_directory_says_so(tmp_path, capsys) -> None:
    record = gaitndd_record(tmp_path)
    msg = fails(capsys, "import", "gaitndd", tmp_path, "--out", tmp_path / "o.insrec")
    assert "is a directory, not a record" in msg
    assert f"e.g. '{record}'" in msg


def test_import_output_that_is_a_directory_or_in_a_missing_folder(tmp_path, capsys) -> None:
    rows = gaitpdb_rows(50)
    src = tmp_path / "g.txt"
    src.write_text("\n".join(" ".join(r) for r in rows) + "\n")
    # refused while the arguments are parsed, before the file is read (`common.out_option`)
    msg = fails_parsing(capsys, "import", "gaitpdb", str(src), "--out", str(tmp_path),
                        "--overwrite")
    assert f"{tmp_path}: is a directory; give the recording file to create" in msg
    assert ".part" not in msg
    msg = fails_parsing(capsys, "import", "gaitpdb", str(src), "--out",
                        str(tmp_path / "no" / "o.insrec"))
    assert "the folder" in msg
    assert "does not exist" in msg
    assert ".part" not in msg


def test_info_and_replay_of_a_directory(tmp_path, capsys) -> None:
    for command in ("info", "analyze", "replay"):
        msg = fails(capsys, command, tmp_path, *(["--no-gui"] if command == "replay" else []))
        assert "is a folder, not a recording file" in msg


# --- lab files that ask the third-party parsers for unbounded memory or time ----------------

LAB_DATA = Path(__file__).resolve().parent / "importers" / "data"


@pytest.mark.parametrize(("fmt", "name", "words"), [
    ("xdf", "xdf_sample_count_too_large.xdf", "declares 2147483648 samples"),
    ("xdf", "xdf_channel_count_too_large.xdf", "declares 2147483648 channels"),
    ("xdf", "xdf_chunk_past_end.xdf", "runs past the end of the file"),
    ("c3d", "c3d_ezc3d_out_of_memory.c3d", "needs more than"),
])
def test_lab_file_asking_for_terabytes_is_one_line(tmp_path, capsys, fmt, name, words) -> None:
    pytest.importorskip({"xdf": "pyxdf", "c3d": "ezc3d"}[fmt])
    msg = fails(capsys, "import", fmt, LAB_DATA / name, "--out", tmp_path / "o.insrec")
    assert words in msg
    assert "damaged" in msg
    assert not (tmp_path / "o.insrec").exists()
