"""``insole analyze PATH...``: batches on this process, a real process pool and a real Dask
cluster on loopback, with damaged and foreign files among the recordings."""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from helpers_users import as_other_user  # tests/ is on the path (tests/conftest.py)

from insole.commands import batch
from insole.commands.batch import BatchError, run_batch
from insole.core.summary import STEP_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "recordings"
NAMES = ["run_forefoot_loss2pct_20s", "run_mixed_serial_faults_20s", "run_rearfoot_20s",
         "walk_20s"]


def cli(*args: object, check: int | None = 0, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "insole.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    if check is not None:
        assert proc.returncode == check, proc.stderr
    return proc


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four recordings (two in a subfolder), a truncated one, one with a corrupt header, a
    foreign one and a text file."""
    d = tmp_path_factory.mktemp("batch") / "in"
    (d / "sub").mkdir(parents=True)
    for i, name in enumerate(NAMES):
        shutil.copy(RECORDINGS / f"{name}.insrec", d / ("sub" if i % 2 else ".") / f"{name}.insrec")
    data = (RECORDINGS / "walk_20s.insrec").read_bytes()
    (d / "sub" / "cut.insrec").write_bytes(data[: len(data) // 2])
    bad_header = bytearray(data)
    bad_header[30] ^= 0xFF
    (d / "sub" / "bad_header.insrec").write_bytes(bad_header)
    (d / "foreign.insrec").write_bytes(b"PK\x03\x04 a zip file, not a recording")
    (d / "notes.txt").write_text("not picked up: not *.insrec")
    return d


@pytest.fixture(scope="module")
def pooled(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pooled")
    proc = cli("analyze", folder, "--out-dir", out, "--jobs", "2", "--json", check=1)
    return out, json.loads(proc.stdout)


def test_pool_batch_writes_every_table(folder: Path, pooled: tuple[Path, dict]) -> None:
    out, result = pooled
    assert result["files"] == 7
    assert result["recordings"] == 5
    assert result["engine"] == "processes:2"
    assert result["damaged"] == 1  # the cut file: read up to the damage, as `analyze` does
    assert [e["recording"] for e in result["errors"]] == [
        str(folder / "foreign.insrec"), str(folder / "sub" / "bad_header.insrec")]
    assert "not an insole recording" in result["errors"][0]["error"]
    assert "header CRC mismatch" in result["errors"][1]["error"]
    assert json.loads((out / "errors.json").read_text()) == result["errors"]
    steps = pd.read_parquet(out / "steps.parquet")
    assert list(steps.columns) == ["recording", *STEP_COLUMNS]
    assert len(steps) == result["steps"]
    assert pd.read_csv(out / "steps.csv").shape == steps.shape
    sessions = pd.read_csv(out / "sessions.csv")
    assert list(sessions["recording"]) == [  # input order: sorted walk of the folder
        str(folder / n) for n in ("run_forefoot_loss2pct_20s.insrec", "run_rearfoot_20s.insrec",
                                  "sub/cut.insrec", "sub/run_mixed_serial_faults_20s.insrec",
                                  "sub/walk_20s.insrec")]
    assert sessions["step_count"].sum() == len(steps)
    assert steps.groupby("recording", sort=False).size().tolist() == sessions[
        "step_count"].tolist()
    assert pd.read_parquet(out / "sessions.parquet")["step_count"].tolist() == sessions[
        "step_count"].tolist()
    assert "per_side.left.contact_time_s" in sessions.columns
    assert not list(out.glob("*.part"))


def test_batch_rows_equal_separate_commands(folder: Path, pooled: tuple[Path, dict],
                                            tmp_path: Path) -> None:
    out, _ = pooled
    lines = (out / "steps.csv").read_bytes().decode().split("\r\n")
    assert lines[0] == ",".join(["recording", *STEP_COLUMNS])
    for rec in (folder / "run_rearfoot_20s.insrec", folder / "sub" / "cut.insrec"):
        single = tmp_path / f"{rec.stem}.csv"
        cli("analyze", rec, "--steps-csv", single)
        expected = single.read_bytes().decode().split("\r\n")[1:-1]
        got = [line.split(",", 1)[1] for line in lines[1:] if line.startswith(f"{rec},")]
        assert got == expected
        summary = json.loads(cli("analyze", rec, "--json").stdout)
        row = pd.read_csv(out / "sessions.csv").set_index("recording").loc[str(rec)]
        assert row["step_count"] == summary["step_count"]
        assert row["cadence_spm"] == pytest.approx(summary["cadence_spm"])


def test_in_process_and_dask_give_the_same_files(folder: Path, pooled: tuple[Path, dict],
                                                 tmp_path: Path) -> None:
    from distributed import LocalCluster

    pool_out, _ = pooled
    cli("analyze", folder, "--out-dir", tmp_path / "one", "--quiet", check=1)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        proc = cli("analyze", folder, "--out-dir", tmp_path / "dask", "--scheduler", address,
                   "--json", check=1)
        # The library call too, with the cluster's address.
        lib = run_batch([folder], scheduler=address)
        # Several files per task (as for many files): the same results, in order.
        engine = batch._dask(address, functools.partial(batch.analyze_files, outputs=False))
        engine.chunk = 3
        try:
            files = [str(p) for p in batch.find_recordings([folder])]
            chunked = sorted(batch._results(engine, files))
        finally:
            engine.close()
    result = json.loads(proc.stdout)
    assert result["engine"] == f"dask:{address}"
    assert lib.engine == f"dask:{address}"
    assert len(lib.sessions) == 5
    assert len(lib.errors) == 2
    assert [i for i, _ in chunked] == list(range(7))
    assert [r["recording"] for _, r in chunked] == files
    assert [r["summary"]["step_count"] for _, r in chunked if "summary" in r] == [
        s["step_count"] for s in lib.sessions]
    for name in ("steps.csv", "sessions.csv", "errors.json"):
        pooled_bytes = (pool_out / name).read_bytes()
        assert (tmp_path / "one" / name).read_bytes() == pooled_bytes, name
        assert (tmp_path / "dask" / name).read_bytes() == pooled_bytes, name
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / "steps.parquet"),
                                  pd.read_parquet(pool_out / "steps.parquet"))


def test_strict_makes_damage_an_error(folder: Path) -> None:
    result = run_batch([folder / "sub"], strict=True)
    assert [Path(e["recording"]).name for e in result.errors] == ["bad_header.insrec",
                                                                   "cut.insrec"]
    assert len(result.sessions) == 2


def test_the_batch_line_counts_the_files_read_past_damage(folder: Path, tmp_path: Path) -> None:
    # cut.insrec is analysed past its torn last block: counted, not only in --json.
    proc = cli("analyze", folder / "sub", "--out-dir", tmp_path / "o", "--quiet", check=1)
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("analysed ")]
    assert "; 1 damaged, read past the damage (--strict refuses them)" in line
    assert "; 1 could not be analysed" in line  # bad_header.insrec


def test_files_without_out_dir_print_one_line_each() -> None:
    proc = cli("analyze", "recordings/run_rearfoot_20s.insrec", "recordings/walk_20s.insrec",
               cwd=ROOT)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("recordings/run_rearfoot_20s.insrec: 56 steps, cadence ")
    assert lines[1].startswith("recordings/walk_20s.insrec: ")
    assert lines[2].startswith("analysed 2 of 2 recordings")
    proc = cli("analyze", "recordings/walk_20s.insrec", "recordings/walk_20s.insrec", "--json",
               cwd=ROOT)
    result = json.loads(proc.stdout)
    assert result["files"] == 1  # the same file twice is analysed once
    assert result["outputs"] == {}
    assert result["sessions"][0]["recording"] == "recordings/walk_20s.insrec"


def test_missing_file_is_an_error_of_the_batch(tmp_path: Path) -> None:
    proc = cli("analyze", RECORDINGS / "walk_20s.insrec", tmp_path / "gone.insrec",
               "--out-dir", tmp_path / "o", check=1)
    assert "gone.insrec" in proc.stderr
    assert "Traceback" not in proc.stderr
    errors = json.loads((tmp_path / "o" / "errors.json").read_text())
    assert errors[0]["type"] == "RecordingError" or "no such" in errors[0]["error"]
    proc = cli("analyze", tmp_path / "gone.insrec", tmp_path / "gone2.insrec", check=2)
    assert len(proc.stderr.strip().splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("{tmp}/empty",), "holds no *.insrec recordings"),
        (("{rec}", "{rec}", "--steps-csv", "{tmp}/s.csv"), "--steps-csv takes one recording"),
        (("{rec}", "--jobs", "0"), "--jobs must be 1 or more"),
        (("{rec}", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"), "exclude each other"),
        (("{rec}", "--out-dir", "{rec}"), "exists and is not a folder"),
        (("{rec}", "--scheduler", "nonsense"), "give tcp://HOST:PORT"),
        # An unset shell variable: "" was the current folder, analysed as a batch, exit 0.
        (("",), "the file name is empty; give the path of a recording or a folder"),
        (("{rec}", ""), "the file name is empty"),
        # A missing output folder was "no such file; check the path".
        (("{rec}", "--steps-csv", "{tmp}/none/s.csv"), "the folder {tmp}/none does not exist"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tmp_path: Path, args: tuple[str, ...],
                                          needle: str) -> None:
    (tmp_path / "empty").mkdir()
    rec = RECORDINGS / "walk_20s.insrec"
    proc = cli("analyze", *(a.format(tmp=tmp_path, rec=rec) for a in args), check=2)
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert needle.format(tmp=tmp_path) in err


def test_out_dir_never_replaces_a_recording_of_the_batch_or_a_database(tmp_path: Path) -> None:
    # A recording named like a table, analysed with --out-dir beside it: its table would have
    # replaced it at the end of the batch (after the analysis read it).
    rec = tmp_path / "steps.csv"
    shutil.copy(RECORDINGS / "walk_20s.insrec", rec)
    before = rec.read_bytes()
    proc = cli("analyze", RECORDINGS / "run_rearfoot_20s.insrec", rec, "--out-dir", tmp_path,
               check=2)
    assert proc.stderr.strip().splitlines() == [
        f"insole analyze: error: --out-dir {tmp_path}: {rec} is also a recording of the batch, "
        "which its steps.csv would replace; choose another --out-dir"]
    assert rec.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.csv"]
    # Irreplaceable data under a table's name (a history database) is refused too; earlier
    # tables are replaced as documented.
    out = tmp_path / "out"
    out.mkdir()
    (out / "errors.json").write_bytes(b"SQLite format 3\x00" + bytes(84))
    (out / "sessions.csv").write_text("an earlier table\n")
    proc = cli("analyze", RECORDINGS / "walk_20s.insrec", "--out-dir", out, check=2)
    assert "errors.json is a database (the training history?)" in proc.stderr
    assert (out / "sessions.csv").read_text() == "an earlier table\n"
    (out / "errors.json").unlink()
    cli("analyze", RECORDINGS / "walk_20s.insrec", "--out-dir", out)
    assert (out / "sessions.csv").read_text().startswith("recording,")


def test_a_folder_the_batch_cannot_read_is_an_error_not_skipped() -> None:
    # Path.rglob skipped an unreadable folder without a word: "analysed 1 of 1", exit 0.
    top = Path(tempfile.mkdtemp(prefix="insole-batch-"))  # a place other users can reach
    try:
        for d, mode in ((top, 0o755), (top / "ok", 0o755), (top / "locked", 0o700)):
            d.mkdir(exist_ok=True)
            # Not recordings: each file is an error of the batch, nothing is compiled.
            (d / "r.insrec").write_bytes(b"PK\x03\x04 not a recording")
            (d / "r.insrec").chmod(0o644)
            d.chmod(mode)
        if os.geteuid() != 0:
            (top / "locked").chmod(0o000)
        proc = subprocess.run(
            as_other_user([sys.executable, "-m", "insole.cli", "analyze", str(top)]),
            capture_output=True, text=True, timeout=120, cwd=top)
        assert proc.returncode == 2, proc.stderr
        assert "analysed 0 of 3 recordings" in proc.stdout
        locked = [line for line in proc.stderr.splitlines() if str(top / "locked") in line]
        assert len(locked) == 1, proc.stderr
        assert "Permission denied" in locked[0]
        assert "Traceback" not in proc.stderr
    finally:
        (top / "locked").chmod(0o700)
        shutil.rmtree(top)


def test_without_pyarrow_parquet_is_skipped_with_a_note(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None\n"
        "from insole.cli import main\n"
        f"sys.exit(main(['analyze', {str(RECORDINGS / 'walk_20s.insrec')!r}, '--out-dir', "
        f"{str(tmp_path)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Parquet files skipped" in proc.stderr
    assert "pip install 'insole[lab]'" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors.json", "sessions.csv",
                                                          "steps.csv"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(folder: Path) -> None:
    pipe = io.StringIO()
    run_batch([folder / "sub"], progress=True, stream=pipe)
    assert pipe.getvalue() == ""
    term = _Terminal()
    lines: list[dict] = []
    run_batch([folder / "foreign.insrec", folder / "sub"], progress=True, stream=term,
              on_error=lambda e: lines.append(e) or f"error: {e['recording']}")
    text = term.getvalue()
    for needle in ("0/5 [", "5/5 [", "2 errors", "file/s"):
        assert needle in text
    assert f"error: {folder / 'foreign.insrec'}" in text
    assert len(lines) == 2


def test_no_file_analysed_still_writes_every_table(tmp_path: Path) -> None:
    # Every file fails: the tables are written with their columns and no rows, the errors in
    # errors.json, exit 2 (none could be analysed). The empty steps table once raised.
    (tmp_path / "foreign.insrec").write_bytes(b"PK\x03\x04 a zip file, not a recording")
    out = tmp_path / "o"
    proc = cli("analyze", tmp_path / "foreign.insrec", tmp_path / "gone.insrec",
               "--out-dir", out, check=2)
    assert "Traceback" not in proc.stderr
    assert len(json.loads((out / "errors.json").read_text())) == 2
    steps = pd.read_parquet(out / "steps.parquet")
    assert len(steps) == 0
    assert list(steps.columns) == ["recording", *STEP_COLUMNS]
    assert pd.read_csv(out / "steps.csv").empty


def test_no_recordings_is_a_batch_error(tmp_path: Path) -> None:
    with pytest.raises(BatchError, match="holds no"):
        run_batch([tmp_path])


# --- a force plate under both feet; a file of another system (issue 13, items 4 and 5) --------


def test_plate_rows_are_labelled_as_steps_csv_labels_them(tmp_path: Path) -> None:
    from helpers_plate import plate_recording

    plate = plate_recording(tmp_path)
    run = tmp_path / "run.insrec"
    shutil.copy(RECORDINGS / "run_rearfoot_20s.insrec", run)
    out = tmp_path / "o"
    cli("analyze", plate, run, "--out-dir", out, "--quiet")
    # steps: the rows of 'insole analyze --steps-csv' (side both, blank heel cells)
    single = tmp_path / "plate_steps.csv"
    cli("analyze", plate, "--steps-csv", single)
    lines = (out / "steps.csv").read_bytes().decode().split("\r\n")
    got = [line.split(",", 1)[1] for line in lines[1:] if line.startswith(f"{plate},")]
    assert got == single.read_bytes().decode().split("\r\n")[1:-1]
    steps = pd.read_parquet(out / "steps.parquet")
    by_rec = steps.groupby("recording")["side"].unique()
    assert list(by_rec[str(plate)]) == ["both"]
    assert sorted(by_rec[str(run)]) == ["left", "right"]
    mine = steps[steps["recording"] == str(plate)]
    assert mine["heel_peak_n"].isna().all()
    assert mine["heel_impulse_ns"].isna().all()
    assert (mine["peak_force_n"] > 1000).all()
    assert steps[steps["recording"] == str(run)]["heel_peak_n"].notna().any()
    # sessions: the plate's row has per_side.both.*, a peak force per contact and no heel
    for table in (pd.read_csv(out / "sessions.csv"), pd.read_parquet(out / "sessions.parquet")):
        rows = table.set_index("recording")
        p, r = rows.loc[str(plate)], rows.loc[str(run)]
        assert p["per_side.both.steps"] == p["step_count"] == p["steps.both"]
        assert pd.isna(p["per_side.left.steps"])
        assert pd.isna(p["steps.left"])
        assert pd.isna(p["heel_peak_n.median"])
        assert pd.isna(p["heel_impulse_ns"])
        assert p["peak_force_n.median"] == pytest.approx(1200, rel=0.01)
        assert r["per_side.left.steps"] > 0
        assert r["heel_peak_n.median"] > 0
        assert pd.isna(r["peak_force_n.median"])
    # the one line per recording without --out-dir
    lines = cli("analyze", plate, run).stdout.splitlines()
    assert "per contact (one force plate under both feet)" in lines[0]
    assert "heel" not in lines[0]
    assert "heel peak" in lines[1]


def test_foreign_file_error_names_the_import(tmp_path: Path) -> None:
    from helpers_plate import plate_table

    from insole.commands.imports import suggest_import

    table = plate_table(tmp_path, "force.csv")
    rec = RECORDINGS / "walk_20s.insrec"
    proc = cli("analyze", rec, table, "--out-dir", tmp_path / "o", "--quiet", check=1)
    hint = suggest_import(table)
    assert hint is not None
    assert "insole import table " in hint
    assert "--out force.insrec" in hint
    (entry,) = json.loads((tmp_path / "o" / "errors.json").read_text())
    assert entry == {"recording": str(table), "error": hint, "type": "RecordingError"}
    # the one-line message is the one single-file 'insole analyze' gives
    single = cli("analyze", table, check=2).stderr.strip()
    assert single == f"insole analyze: error: {hint}"
    assert single in proc.stderr.splitlines()
    # in the library too, and a file that is no known format keeps its own message
    (res,) = batch.analyze_files([str(table)])
    assert res["error"] == hint
    junk = tmp_path / "junk.insrec"
    junk.write_bytes(b"PK\x03\x04 a zip file, not a recording")
    (res,) = batch.analyze_files([str(junk)])
    assert "not an insole recording" in res["error"]
    assert "insole import" not in res["error"]
