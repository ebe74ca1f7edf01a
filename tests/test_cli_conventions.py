"""The command-line conventions (issue 13 item 4), as a user meets them: real processes.

Progress bars on a terminal (a pty), ``-`` for stdout, the one overwrite rule, flags with units
and their old aliases, broken pipes, and errors that name the fix.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REC = ROOT / "recordings" / "run_rearfoot_20s.insrec"
DATA = ROOT.parent / "shared" / "data"
GAITPDB = DATA / "gaitpdb" / "GaCo01_01.txt"
ENV = {**os.environ, "PYTHONWARNINGS": "error"}


def run(*args: object, check: bool = True, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "insole.cli", *map(str, args)],
        capture_output=True, timeout=120, cwd=cwd, env=env or ENV,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr.decode()}")
    return proc


def on_terminal(*args: object, cwd: Path) -> tuple[int, str]:
    """Run with stderr on a pty of 100 x 30 (stdout captured); return status and what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "insole.cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL,
                            env=ENV)
    os.close(slave)
    drawn = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end is closed
                break
            if not chunk:
                break
            drawn += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), drawn.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def sim_long(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("long") / "long.insrec"
    run("simulate", "--duration", 300, "--out", out, "--quiet")
    return out


# --- progress on a terminal -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "label"),
    [
        (("analyze", "{long}"), "insole analyze: reading"),
        (("info", "{long}"), "insole info: reading"),
        (("report", "{long}", "--out", "r.html"), "insole report"),
        (("simulate", "--duration", "30", "--out", "s.insrec"), "insole simulate"),
        (("import", "gaitpdb", str(GAITPDB), "--out", "g.insrec"), "insole import gaitpdb"),
    ],
)
def test_progress_bar_on_a_terminal_only(
    tmp_path: Path, sim_long: Path, command: tuple[str, ...], label: str
) -> None:
    if "gaitpdb" in command and not GAITPDB.is_file():
        pytest.skip("needs ../shared/data")
    args = [a.format(long=sim_long) for a in command]
    status, drawn = on_terminal(*args, "--db", tmp_path / "h.sqlite3", cwd=tmp_path) if (
        command[0] == "report") else on_terminal(*args, cwd=tmp_path)
    assert status == 0, drawn
    assert label in drawn
    assert "%|" in drawn or "s/s]" in drawn  # a tqdm bar
    assert drawn.rstrip(" ").endswith("\r")  # and the line cleared at the end
    # --quiet: nothing drawn on the terminal
    for f in tmp_path.glob("*.insrec"):
        f.unlink()
    extra = ["--db", tmp_path / "h.sqlite3"] if command[0] == "report" else []
    status, drawn = on_terminal(*args, *extra, "--quiet", cwd=tmp_path)
    assert status == 0
    assert drawn == ""
    # not a terminal: nothing on stderr but the result
    for f in tmp_path.glob("*.insrec"):
        f.unlink()
    proc = run(*args, *extra, cwd=tmp_path)
    assert b"\r" not in proc.stderr


# --- '-' means stdout ------------------------------------------------------------------------


def test_steps_csv_dash_writes_the_table_to_stdout(tmp_path: Path) -> None:
    proc = run("analyze", REC, "--steps-csv", "-", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert len(rows) == 56
    assert rows[0]["side"] == "left"
    assert b"session summary" in proc.stderr  # the human lines moved to stderr
    assert not (tmp_path / "-").exists()
    bad = run("analyze", REC, "--steps-csv", "-", "--json", check=False, cwd=tmp_path)
    assert bad.returncode == 2
    assert b"--steps-csv - and --json both write to stdout" in bad.stderr


def test_report_out_dash_and_truth_dash(tmp_path: Path) -> None:
    proc = run("report", REC, "--out", "-", "--db", tmp_path / "h.sqlite3", cwd=tmp_path)
    assert proc.stdout.startswith(b"<!DOCTYPE html>")
    assert proc.stdout.rstrip().endswith(b"</html>")
    assert b"wrote stdout" in proc.stderr
    proc = run("simulate", "--duration", 10, "--out", "s.insrec", "--truth", "-", cwd=tmp_path)
    truth = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert len(truth) > 20
    assert b"truth in stdout" in proc.stderr
    assert not (tmp_path / "-").exists()


def test_simulate_and_import_out_dash_write_a_recording_to_stdout(tmp_path: Path) -> None:
    proc = run("simulate", "--duration", 5, "--out", "-", cwd=tmp_path)
    (tmp_path / "piped.insrec").write_bytes(proc.stdout)
    info = json.loads(run("info", tmp_path / "piped.insrec", "--json").stdout)
    assert info["duration_s"] == pytest.approx(5.0, abs=0.05)
    if GAITPDB.is_file():
        proc = run("import", "gaitpdb", GAITPDB, "--out", "-", cwd=tmp_path)
        assert proc.stdout.startswith(b"INSOLREC")
        assert b"wrote stdout" in proc.stderr


def test_record_refuses_stdout_and_names_the_fix(tmp_path: Path) -> None:
    proc = run("record", "sim:", "--out", "-", "--duration", 1, check=False, cwd=tmp_path)
    assert proc.returncode == 2
    assert b"--out FILE" in proc.stderr


# --- the overwrite rule ------------------------------------------------------------------------


def test_record_over_an_existing_file_says_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "live.insrec"
    out.write_bytes(b"keep me")
    proc = run("record", "sim:", "--out", out, "--duration", 1, check=False)
    assert proc.returncode == 2
    line = proc.stderr.decode()
    assert line.count("\n") == 1
    assert "--overwrite" in line
    assert "overwrite=True" not in line
    assert out.read_bytes() == b"keep me"
    # the library's "pass overwrite=True" is said as the flag wherever it comes through
    proc = run("live", "sim:", "--record", out, "--no-gui", "--exit-after", 1, check=False)
    assert proc.returncode == 2
    assert b"pass --overwrite" in proc.stderr
    assert b"overwrite=True" not in proc.stderr
    assert out.read_bytes() == b"keep me"


def test_derived_outputs_replace_derived_files_but_not_recordings(tmp_path: Path) -> None:
    imported = tmp_path / "imported.insrec"
    if GAITPDB.is_file():
        run("import", "gaitpdb", GAITPDB, "--out", imported)
    else:  # an imported recording stands for any recording not made by the simulator
        imported = tmp_path / "recorded.insrec"
        run("record", "sim:?seed=2", "--out", imported, "--duration", 1)
    before = imported.read_bytes()
    # a simulated recording, a CSV and a report are derived: replaced silently
    sim = tmp_path / "s.insrec"
    run("simulate", "--duration", 3, "--out", sim, "--truth", tmp_path / "t.csv")
    run("simulate", "--duration", 4, "--out", sim, "--truth", tmp_path / "t.csv")
    (tmp_path / "steps.csv").write_text("old")
    run("analyze", REC, "--steps-csv", tmp_path / "steps.csv")
    assert (tmp_path / "steps.csv").read_text().startswith("side,")
    # ... but none of them replaces an imported (or live) recording without --overwrite
    for args in (
        ("simulate", "--duration", 3, "--out", imported),
        ("analyze", REC, "--steps-csv", imported),
        ("report", REC, "--out", imported, "--db", tmp_path / "h.sqlite3"),
    ):
        proc = run(*args, check=False)
        assert proc.returncode == 2, args
        assert b"pass --overwrite" in proc.stderr
        assert b"a recording of" in proc.stderr
        assert imported.read_bytes() == before
    run("simulate", "--duration", 3, "--out", imported, "--overwrite")
    assert imported.read_bytes() != before


def test_no_output_replaces_the_input_or_another_output(tmp_path: Path) -> None:
    # A simulated recording is replaceable, but not by its own report or steps table, and a
    # truth table does not replace the recording it is written beside: refused even with
    # --overwrite. demo --keep follows the overwrite rule of the other outputs.
    sim = tmp_path / "a.insrec"
    run("simulate", "--duration", 3, "--out", sim)
    before = sim.read_bytes()
    for args in (
        ("report", sim, "--out", sim, "--db", tmp_path / "h.sqlite3", "--overwrite"),
        ("analyze", sim, "--steps-csv", tmp_path / "." / "a.insrec", "--overwrite"),
        ("simulate", "--duration", 3, "--out", sim, "--truth", sim, "--overwrite"),
    ):
        proc = run(*args, check=False)
        assert proc.returncode == 2, args
        err = proc.stderr.decode().strip()
        assert len(err.splitlines()) == 1
        assert "is also" in err
        assert "choose another file name" in err
        assert sim.read_bytes() == before
    recorded = tmp_path / "recorded.insrec"
    run("record", "sim:?seed=2", "--out", recorded, "--duration", 1)
    kept = recorded.read_bytes()
    proc = run("demo", "--duration", 5, "--speed", "max", "--keep", recorded, check=False)
    assert proc.returncode == 2
    assert b"pass --overwrite" in proc.stderr
    assert recorded.read_bytes() == kept


def test_overwrite_rule_is_in_the_help() -> None:
    for command in ("simulate", "analyze"):
        text = " ".join(run(command, "--help").stdout.decode().split())
        assert "never replaced without --overwrite" in text
    assert "never replaced without --overwrite" in " ".join(
        run("import", "--help").stdout.decode().split())


# --- flags with units ------------------------------------------------------------------------


def test_simulate_units_and_old_aliases(tmp_path: Path) -> None:
    def speed_mass(*flags: object) -> tuple[float, float]:
        run("simulate", "--duration", 5, "--out", tmp_path / "x.insrec", *flags)
        from insole.recordings.container import read_header

        gait = read_header(tmp_path / "x.insrec")["extra"]["simulation"]["gait"]
        return gait["speed_mps"], gait["body_mass_kg"]

    new = speed_mass("--run-speed-mps", 3.7, "--mass-kg", 81)
    old = speed_mass("--speed", 3.7, "--mass", 81)
    assert new == old == (3.7, 81.0)
    text = run("simulate", "--help").stdout.decode()
    assert "--run-speed-mps" in text
    assert "--mass-kg" in text
    assert "--speed" not in text
    assert "--mass " not in text
    assert "--mass\n" not in text


# --- broken pipes ------------------------------------------------------------------------------


def test_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    """``insole analyze FILE --steps-csv - | head -1``: the reader goes away early."""
    big = tmp_path / "big.insrec"
    run("simulate", "--duration", 300, "--out", big, "--quiet")
    for args in (("analyze", big, "--steps-csv", "-"), ("analyze", big, "--verbose")):
        with subprocess.Popen([sys.executable, "-m", "insole.cli", *map(str, args)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            first = proc.stdout.readline()
            proc.stdout.close()  # as head -1 does
            err = proc.stderr.read()
            status = proc.wait(timeout=60)
        assert first
        assert b"Broken pipe" not in err
        assert b"Traceback" not in err
        assert status in (0, 141)  # 0: everything fitted in the pipe before it closed
    # through a shell, as a user types it
    shell = subprocess.run(
        f"'{sys.executable}' -m insole.cli analyze '{big}' --steps-csv - | head -1; "
        "echo \"status ${PIPESTATUS[0]}\"",
        shell=True, executable="/bin/bash", capture_output=True, timeout=120, env=ENV,
    )
    assert shell.stdout.decode().startswith("side,number,")
    assert shell.stderr == b""
    assert shell.stdout.decode().rstrip().endswith("status 141")


@pytest.mark.parametrize("command", [["analyze", str(REC)], ["analyze", str(REC), "--json"],
                                     ["info", str(REC)]])
def test_a_result_fitting_a_pipe_is_written_in_one_piece(
    command: list[str], tmp_path: Path
) -> None:
    # README: output that fits the pipe's buffer (`insole analyze FILE | head -1`) is written
    # whole, status 0. With PYTHONUNBUFFERED=1 (set in many containers) every print was a write
    # of its own, and `| head -1` ended 141 or 0 by chance: count the writes to stdout.
    import shutil

    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    log = tmp_path / "writes.txt"
    env = {**ENV, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [strace, "-f", "-e", "trace=write", "-o", str(log), sys.executable, "-m", "insole.cli",
         *command],
        capture_output=True, env=env, timeout=120,
    )
    if done.returncode != 0 and b"ptrace" in done.stderr:
        pytest.skip("strace cannot trace here (ptrace not permitted)")
    assert done.returncode == 0, done.stderr[-300:]
    assert done.stdout.count(b"\n") >= 8  # lines of their own, each a write before
    writes = [ln for ln in log.read_text().splitlines() if "write(1," in ln]
    assert len(writes) == 1, writes[:5]


# --- errors that name the fix ------------------------------------------------------------------


@pytest.mark.skipif(not GAITPDB.is_file(), reason="needs ../shared/data")
@pytest.mark.parametrize("command", ["analyze", "info", "report"])
def test_foreign_file_names_its_import(command: str, tmp_path: Path) -> None:
    extra = ["--out", tmp_path / "r.html", "--db", tmp_path / "h.sqlite3"] if (
        command == "report") else []
    proc = run(command, GAITPDB, *extra, check=False)
    assert proc.returncode == 2
    line = proc.stderr.decode()
    assert line.count("\n") == 1
    assert f"insole import gaitpdb {GAITPDB} --out GaCo01_01.insrec" in line


@pytest.mark.skipif(not GAITPDB.is_file(), reason="needs ../shared/data")
@pytest.mark.parametrize("command", [["live", "--no-gui", "--exit-after", "1"],
                                     ["record", "--out", "{tmp}/r.insrec"]])
def test_a_foreign_file_source_names_its_import(command: list[str], tmp_path: Path) -> None:
    # `live file:X` and `record file:X` said only "not an insole recording (starts with ...)".
    args = [command[0], f"file:{GAITPDB}", *(a.format(tmp=tmp_path) for a in command[1:])]
    proc = run(*args, check=False)
    assert proc.returncode == 2
    line = proc.stderr.decode()
    assert line.count("\n") == 1, line
    assert f"insole import gaitpdb {GAITPDB} --out GaCo01_01.insrec" in line
    assert not (tmp_path / "r.insrec").exists()


@pytest.mark.skipif(not GAITPDB.is_file(), reason="needs ../shared/data")
def test_the_api_names_the_import_of_a_foreign_file() -> None:
    import insole
    from insole.errors import RecordingError

    for call in (insole.analyze, insole.load):
        with pytest.raises(RecordingError) as info:
            call(GAITPDB)
        assert f"insole import gaitpdb {GAITPDB} --out GaCo01_01.insrec" in str(info.value)
        assert f"insole.import_file('gaitpdb', '{GAITPDB}', 'GaCo01_01.insrec')" in str(
            info.value)
        assert info.value.path is not None


@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("commercial_exports/fscan_testL.asf", "import fscan"),
        ("commercial_exports/moticon_opengo_walk_230927_102114.txt", "import moticon"),
        ("commercial_exports/pedar_example.asc", "import pedar"),
        ("commercial_exports/stappone_example.csv", "import stappone"),
        ("commercial_exports/xsensor_data.csv", "import xsensor"),
        ("gaitndd/als4.let", "import gaitndd"),
        ("gaitndd/hunt5.let", "import gaitndd"),  # binary: was no hint (als4's reads as text)
        ("gaitndd/hunt5.rit", "import gaitndd"),
        ("running_forceplate/RBDS001runT25forces.txt", "import table"),
        ("commercial_exports/LICENSE-pressuRe.md", None),
    ],
)
def test_known_formats_are_recognised(name: str, kind: str | None) -> None:
    from insole.commands.imports import suggest_import

    hint = suggest_import(DATA / name)
    if kind is None:
        assert hint is None
    else:
        assert hint is not None
        assert f"insole {kind} " in hint


def test_report_of_a_session_without_history_says_save(tmp_path: Path) -> None:
    proc = run("report", "99", "--out", tmp_path / "r.html", "--db", tmp_path / "none.sqlite3",
               check=False)
    assert proc.returncode == 2
    line = proc.stderr.decode()
    assert line.count("\n") == 1
    assert "insole analyze FILE --save" in line
    assert "no such file" not in line
    assert not (tmp_path / "r.html").exists()


# --- a force plate under both feet (item 5) ------------------------------------------------------


def test_plate_under_both_feet_is_not_a_left_heel(tmp_path: Path) -> None:
    import numpy as np

    # a runner over one plate: 1.2 kN half-sine contacts of 0.28 s, 0.1 s of flight, 300 Hz
    t = np.arange(0, 12, 1 / 300)
    phase = np.mod(t, 0.38)
    force = np.where(phase < 0.28, 1200 * np.sin(np.pi * phase / 0.28), 0.0)
    table = tmp_path / "plate.csv"
    lines = [f"{a:.6f},{b:.3f}\n" for a, b in zip(t, force, strict=True)]
    table.write_text("time,Fz\n" + "".join(lines))
    rec = tmp_path / "plate.insrec"
    run("import", "table", table, "--column", "Fz", "--time-column", "time", "--out", rec)
    info = run("info", rec).stdout.decode()
    assert "one force plate under both feet" in info
    assert "left" not in info
    assert json.loads(run("info", rec, "--json").stdout)["plate_under_both_feet"] is True
    rows = list(csv.DictReader(io.StringIO(run("analyze", rec, "--steps-csv", "-").stdout
                                           .decode())))
    assert len(rows) > 25
    assert {r["side"] for r in rows} == {"both"}
    assert all(r["heel_peak_n"] == "" for r in rows)
    # No pressure either: the whole force over an assumed insole area was no sensor's.
    assert all(r["whole_foot_peak_kpa"] == "" for r in rows)
    assert all(float(r["peak_force_n"]) > 1000 for r in rows)


# --- no negative gaps from a drifting time column (item 5) ---------------------------------------


def test_fitted_rate_of_a_drifting_time_column() -> None:
    import numpy as np

    from insole.sources.importers.convert import fitted_rate

    k = np.arange(12000)
    drifting = k / 100.007
    assert fitted_rate(drifting, 100.0) == pytest.approx(100.007, abs=1e-6)
    assert fitted_rate(k / 100.0, 100.0) is None  # on the nominal rate: nothing to record
    assert fitted_rate(k[:300] / 100.007, 100.0) is None  # too short to drift a quarter sample
    missing = np.delete(drifting, np.arange(5000, 5010))
    assert fitted_rate(missing, 100.0) is None  # samples missing: not a regular column
    assert fitted_rate(k / 101.0, 100.0) is None  # another whole rate: keep the nominal one


@pytest.mark.skipif(not GAITPDB.is_file(), reason="needs ../shared/data")
def test_gaitpdb_import_has_no_negative_gaps(tmp_path: Path) -> None:
    from insole.recordings.container import read_header

    rec = tmp_path / "g.insrec"
    run("import", "gaitpdb", GAITPDB, "--out", rec)
    header = read_header(rec)
    rates = [d["sample_rate_hz"] for d in header["devices"]]
    assert rates == [pytest.approx(100.007, abs=5e-4)] * 2
    assert any("ticks at 100.007 Hz" in n for n in header["extra"]["import"]["notes"])
    summary = json.loads(run("analyze", rec, "--json").stdout)
    assert summary["gap_samples"] == {"left": 0, "right": 0}
    assert summary["gap_s"] == 0
    assert summary["steps_with_gaps"] == 0
    assert summary["frames_lost"] == 0
    assert summary["step_count"] == 194  # with the step cut by the end of the record
    info = json.loads(run("info", rec, "--json").stdout)
    assert [d["samples"] for d in info["devices"]] == [12119, 12119]  # every row of the file


def test_max_speed_replay_prints_at_most_100_status_lines_and_a_bar(sim_long: Path,
                                                                    tmp_path: Path) -> None:
    """3,617 lines for an hour scrolled the events and summary away (issue 13)."""
    out = run("replay", sim_long, "--speed", "max", "--no-gui").stdout.decode()
    status = [ln for ln in out.splitlines() if ln.strip().endswith("unreadable 0")
              or "unreadable" in ln and "frames lost" in ln]
    assert 90 <= len(status) <= 101  # 300 s every 3 s, plus the final line
    assert status[-1].lstrip().startswith("300.0 s")
    assert "session summary" in out
    status_code, drawn = on_terminal("replay", sim_long, "--speed", "max", "--no-gui",
                                     cwd=tmp_path)
    assert status_code == 0
    assert "insole replay: replaying" in drawn
    assert "s/s]" in drawn  # recording seconds per second
    status_code, drawn = on_terminal("replay", sim_long, "--speed", "max", "--no-gui",
                                     "--quiet", cwd=tmp_path)
    assert status_code == 0
    assert "insole replay" not in drawn


def test_samples_without_a_value_are_reported_per_insole(tmp_path: Path) -> None:
    # 5 s of one foot's column empty (a sensor that sent nothing): its steps are missing there,
    # and the summary says why, per insole, instead of "0 frames lost" alone.
    fs = 300
    t = np.arange(20 * fs) / fs

    def run_force(shift: float) -> np.ndarray:
        u = ((t + shift) % 0.72) / 0.27
        return np.where(u < 1, 1500 * np.sin(np.pi * np.clip(u, 0, 1)) ** 1.5, 0.0)

    left, right = run_force(0.0), run_force(0.36)
    empty = (t >= 8) & (t < 13)
    with open(tmp_path / "lr.csv", "w", encoding="utf-8") as f:
        f.write("FL,FR\n")
        for a, b, gone in zip(left, right, empty, strict=True):
            f.write(f"{a:.2f},{'' if gone else f'{b:.2f}'}\n")
    rec = tmp_path / "lr.insrec"
    run("import", "table", tmp_path / "lr.csv", "--rate", fs, "--column", "FL", "--column",
        "FR", "--side", "left", "--side", "right", "--out", rec)
    summary = json.loads(run("analyze", rec, "--json").stdout)
    assert summary["invalid_s"] == {"left": 0.0, "right": pytest.approx(5.0, abs=0.01)}
    assert summary["frames_lost"] == 0
    text = run("analyze", rec).stdout.decode()
    (quality,) = [line for line in text.splitlines() if "data quality" in line]
    assert "without a value (invalid sensor readings): right 5.0 s" in quality


def test_feedback_above_without_the_heel_cue_is_refused() -> None:
    # It was silently ignored: a runner believed a target was set.
    for extra in ((), ("--feedback", "strike")):
        proc = run("live", "sim:", "--no-gui", "--exit-after", 1, "--feedback-above", 10,
                   *extra, check=False)
        assert proc.returncode == 2
        assert proc.stderr.decode().strip().endswith("give it with --feedback heel")
