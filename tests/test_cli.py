"""The ``insole`` command as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from insole.recordings.loader import load_recording


def run(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "insole.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def sim60(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("sim60")
    out = d / "a.insrec"
    proc = run(
        "simulate",
        "--duration",
        "60",
        "--out",
        str(out),
        "--seed",
        "1",
        "--json",
        "--truth",
        str(d / "a.csv"),
    )
    return out, json.loads(proc.stdout)


def test_simulate_then_info_shows_no_loss_and_60_s(sim60) -> None:
    out, written = sim60
    assert written["frames_dropped"] == 0
    info = json.loads(run("info", str(out), "--json").stdout)
    assert info["frames_lost"] == 0
    assert info["duration_s"] == pytest.approx(60.0, abs=1e-6)
    assert info["sides"] == ["left", "right"]
    assert info["sample_rate_hz"] == 200
    assert info["sensors_per_side"] == 16
    assert info["crc_errors"] == 0
    assert info["frames"] == written["frames_sent"]
    assert info["start"] == written["start"]


def test_truth_csv_has_one_row_per_step(sim60) -> None:
    out, written = sim60
    with open(out.with_suffix(".csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == written["steps"]
    assert {r["side"] for r in rows} == {"left", "right"}
    hs = [float(r["heel_strike_s"]) for r in rows]
    assert hs == sorted(hs)
    assert all(0.15 < float(r["contact_s"]) < 0.4 for r in rows)


@pytest.mark.parametrize(("loss", "seed"), [(0.02, 1), (0.02, 7), (0.1, 3)])
def test_frames_lost_equals_frames_dropped(tmp_path: Path, loss: float, seed: int) -> None:
    out = tmp_path / "b.insrec"
    written = json.loads(
        run(
            "simulate",
            "--duration",
            "60",
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--loss",
            str(loss),
            "--json",
        ).stdout
    )
    assert written["frames_dropped"] > 0
    info = json.loads(run("info", str(out), "--json").stdout)
    assert info["frames_lost"] == written["frames_dropped"]


def test_start_time_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "c.insrec"
    run("simulate", "--duration", "2", "--out", str(out), "--start", "2026-05-01T07:30:00+02:00")
    info = json.loads(run("info", str(out), "--json").stdout)
    assert info["start"] == "2026-05-01T07:30:00+02:00"


def test_replay_max_speed_reports_what_arrives(sim60) -> None:
    out, written = sim60
    proc = run("replay", str(out), "--speed", "max")
    lines = proc.stdout.strip().splitlines()
    status = [ln for ln in lines if ln.strip().endswith("unreadable 0")]  # insole.live.terminal
    assert len(status) == 60  # one line per second of recording
    assert "frames lost 0" in status[-1]
    steps = int(status[-1].split(" L ")[1].split()[0]) + int(status[-1].split(" R ")[1].split()[0])
    assert abs(steps - written["steps"]) <= 2
    summary = [ln for ln in lines if ln.startswith("  steps ")]
    assert abs(int(summary[0].split()[1]) - written["steps"]) <= 2
    assert any("0 frames lost" in ln for ln in lines)


def test_replay_keeps_recorded_pace(tmp_path: Path) -> None:
    out = tmp_path / "p.insrec"
    run("simulate", "--duration", "3", "--out", str(out))
    import time

    t0 = time.monotonic()
    run("replay", str(out), "--speed", "2")
    elapsed = time.monotonic() - t0
    assert 1.4 < elapsed < 6.0  # 1.5 s of paced replay plus interpreter start-up


def test_a_stand_before_the_run_adds_no_steps(tmp_path: Path) -> None:
    # A runner who stands 15 s after pressing start: the weight shifts of the stand are
    # counted apart, not as steps; the steps are those of the truth.
    out, truth = tmp_path / "stand.insrec", tmp_path / "stand.csv"
    run("simulate", "--duration", "35", "--stand", "15", "--seed", "2", "--out", str(out),
        "--truth", str(truth))
    with open(truth, encoding="utf-8") as f:
        true = list(csv.DictReader(f))
    assert min(float(t["heel_strike_s"]) for t in true) > 15.0
    summary = json.loads(run("analyze", str(out), "--json").stdout)
    counted_at_end = summary["contacts_cut"]["end_counted"]
    assert summary["step_count"] == len(true) + counted_at_end
    assert summary["weight_shifts"] >= 2
    text = run("analyze", str(out)).stdout
    assert f"{summary['weight_shifts']} weight shifts while standing" in text
    proc = run("simulate", "--duration", "5", "--stand", "-1", "--out", str(out), check=False)
    assert proc.returncode == 2
    assert "--stand" in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("info", "{tmp}/missing.insrec"), "no such"),
        (("info", "{tmp}/garbage.insrec"), "not an insole recording"),
        (("info", "{tmp}"), "folder"),
        (("simulate", "--duration", "x", "--out", "{tmp}/q"), "--duration"),
        (("simulate", "--duration", "-5", "--out", "{tmp}/q"), "greater than 0"),
        (("simulate", "--duration", "5", "--out", "{tmp}/q", "--loss", "2"), "--loss"),
        (("simulate", "--duration", "5", "--out", "{tmp}/q", "--start", "yesterday"), "ISO 8601"),
        (("simulate", "--duration", "5", "--out", "{tmp}/nodir/q"), "q"),
        (("replay", "{tmp}/missing.insrec", "--speed", "fast"), "--speed"),
        (("bogus",), "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    (tmp_path / "garbage.insrec").write_bytes(b"hello world, not a recording")
    proc = run(*(a.format(tmp=tmp_path) for a in args), check=False)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert needle in err


def test_truncated_recording_reads_up_to_the_damage(tmp_path: Path, sim60) -> None:
    out, _ = sim60
    data = out.read_bytes()
    cut = tmp_path / "cut.insrec"
    cut.write_bytes(data[: len(data) * 2 // 3 + 17])
    info = json.loads(run("info", str(cut), "--json").stdout)
    assert info["damage"] is not None
    assert "truncated" in info["damage"]["reason"]
    assert 30 < info["duration_s"] < 45
    rec = load_recording(cut)
    assert rec.frames_lost == 0  # a cut file loses its tail, not frames in the middle


def test_help_lists_subcommands() -> None:
    text = run("--help").stdout
    for cmd in ("demo", "simulate", "info", "replay"):
        assert cmd in text


@pytest.mark.parametrize("link", ["ble", "serial"])
def test_info_reports_left_right_clock_drift(tmp_path: Path, link: str) -> None:
    out = tmp_path / "drift.insrec"
    run("simulate", "--duration", "60", "--out", str(out), "--drift-ppm", "50", "--link", link,
        "--loss", "0.02")
    clocks = json.loads(run("info", str(out), "--json").stdout)["clocks"]
    assert clocks["right_vs_left"]["drift_ppm"] == pytest.approx(50.0, abs=5.0)
    assert abs(clocks["right_vs_left"]["offset_ms"]) < 2.0


def test_import_with_the_file_where_the_format_goes_names_the_command(tmp_path: Path) -> None:
    # A gaitpdb-like walk (time and 18 force columns) given without its format: one line that
    # names the format and keeps the user's --out; status 2, nothing written.
    walk = tmp_path / "GaXx01_01.txt"
    walk.write_text("\n".join("\t".join(["0.01"] * 19) for _ in range(20)) + "\n")
    out = tmp_path / "mine.insrec"
    proc = run("import", str(walk), "--out", str(out), check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"insole import gaitpdb {walk} --out {out}")
    assert "looks like a PhysioNet gaitpdb file" in lines[0]
    assert not out.exists()
    # A file of no known format: the formats are listed, and a default --out is suggested.
    notes = tmp_path / "notes.md"
    notes.write_text("# notes\n")
    proc = run("import", str(notes), check=False)
    assert proc.returncode == 2
    assert "one of gaitpdb, gaitndd, pedar" in proc.stderr
    assert proc.stderr.strip().endswith(f"insole import FORMAT {notes} --out notes.insrec")
    # The right order still works as before (and a format name is never taken for a file).
    assert run("import", "gaitpdb", "--help").returncode == 0
