"""The Python API (`insole.analyze`, `load`, `open_reader`, `import_file`) on real recordings."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import insole
from insole.api import MissingExtraError, Session
from insole.commands.batch import steps_csv_text
from insole.core.summary import STEP_COLUMNS
from insole.errors import RecordingError
from insole.recordings.container import read_raw_recording
from insole.sources.importers import ImportFormatError

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "recordings" / "run_rearfoot_20s.insrec"
WALK = ROOT / "recordings" / "walk_20s.insrec"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "insole.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def run() -> Session:
    return insole.analyze(RUN)


def test_import_insole_stays_light() -> None:
    code = ("import sys, insole; assert callable(insole.analyze); "
            "print(sorted(m for m in ('numpy', 'pandas', 'insole.api') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", "import sys, insole; print(sorted(m for m in "
                          "('numpy', 'pandas', 'pyarrow', 'insole.api') if m in sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "'insole.api'" in out
    assert "'pandas'" not in out
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = insole.nope  # type: ignore[attr-defined]


def test_done_when_command_matches_analyze_json(tmp_path: Path) -> None:
    code = ("import insole; s = insole.analyze('recordings/run_rearfoot_20s.insrec'); "
            "print(s.steps.shape, s.summary['step_count'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    summary = json.loads(cli("analyze", "recordings/run_rearfoot_20s.insrec", "--json").stdout)
    assert out.strip() == f"({summary['step_count']}, {len(STEP_COLUMNS)}) {summary['step_count']}"


def test_summary_is_the_json_of_analyze(run: Session) -> None:
    summary = json.loads(cli("analyze", str(RUN), "--json").stdout)
    assert json.loads(json.dumps(run.summary, default=str)) == summary


def test_steps_is_a_dataframe_with_the_rows_of_steps_csv(run: Session, tmp_path: Path) -> None:
    out = tmp_path / "steps.csv"
    cli("analyze", str(RUN), "--steps-csv", str(out))
    steps = run.steps
    assert isinstance(steps, pd.DataFrame)
    assert list(steps.columns) == list(STEP_COLUMNS)
    assert len(steps) == run.summary["step_count"] == 56
    assert steps["number"].dtype == np.int64
    assert steps["has_gap"].dtype == bool
    assert set(steps["side"]) == {"left", "right"}
    # Cell for cell what --steps-csv writes.
    columns = {c: steps[c].to_numpy() for c in STEP_COLUMNS}
    columns["side"] = columns["side"].astype(str)
    columns["strike_pattern"] = columns["strike_pattern"].astype(str)
    text = out.read_bytes().decode()
    header, _, body = text.partition("\r\n")
    assert header.strip().split(",") == list(STEP_COLUMNS)
    assert steps_csv_text(columns) == body
    rows = list(csv.DictReader(io.StringIO(text)))
    assert float(rows[3]["heel_peak_n"]) == pytest.approx(steps["heel_peak_n"][3], rel=1e-5)


def test_without_pandas_steps_is_a_structured_array(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    s = insole.analyze(WALK)
    steps = s.steps
    assert isinstance(steps, np.ndarray)
    assert steps.dtype.names == STEP_COLUMNS
    assert len(steps) == s.summary["step_count"]
    assert set(steps["side"].tolist()) == {"left", "right"}
    assert steps["number"].dtype == np.int64
    np.testing.assert_array_equal(steps["heel_strike_s"], s.table.column("heel_strike_s"))


def test_samples_match_the_steps(run: Session) -> None:
    steps = run.steps
    for side in ("left", "right"):
        sm = run.samples(side)
        n = len(sm.time_s)
        assert n > 3900  # 20 s at 200 Hz
        assert sm.force_n.shape == (n,)
        assert sm.pressure_kpa.shape == sm.sensor_force_n.shape == (n, len(sm.regions))
        assert sm.unit == "N"
        assert sm.sample_rate_hz == 200.0
        assert np.all(np.diff(sm.time_s) > 0)
        for _, step in steps[steps.side == side].head(5).iterrows():
            inside = (sm.time_s >= step.heel_strike_s) & (sm.time_s <= step.toe_off_s)
            assert sm.force_n[inside].max() == pytest.approx(step.peak_force_n, rel=0.03)
    with pytest.raises(ValueError, match="side must be"):
        run.samples("middle")


def test_to_parquet_round_trip(run: Session, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = run.to_parquet(tmp_path / "run.parquet")
    back = pd.read_parquet(path)
    assert list(back.columns) == list(STEP_COLUMNS)
    pd.testing.assert_frame_equal(back, run.steps, check_dtype=False)
    meta = json.loads(pq.read_schema(path).metadata[b"insole.summary"])
    assert meta["step_count"] == 56


def test_to_parquet_without_pyarrow_names_the_extra(
    run: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'insole[lab]'")):
        run.to_parquet(tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_analyze_accepts_loaded_and_raw_recordings(run: Session) -> None:
    rec = insole.load(RUN)
    assert rec.side("left").counts.shape[1] == 16
    from_loaded = insole.analyze(rec)
    from_raw = insole.analyze(read_raw_recording(RUN))
    for s in (from_loaded, from_raw):
        pd.testing.assert_frame_equal(s.steps, run.steps)
    assert from_loaded.recording() is rec  # samples reuse the loaded data


def test_analyze_options_and_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unknown option"):
        insole.analyze(RUN, speed=2)
    bad = tmp_path / "bad.insrec"
    bad.write_bytes(b"hello, not a recording")
    with pytest.raises(RecordingError, match="not an insole recording"):
        insole.analyze(bad)
    cut = tmp_path / "cut.insrec"
    data = RUN.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert insole.analyze(cut).summary["damage"] is not None
    with pytest.raises(RecordingError):
        insole.analyze(cut, strict=True)


def test_import_file_then_analyze(tmp_path: Path) -> None:
    # A gaitpdb file: time, 8 + 8 sensor forces [N], two totals; 3 s of a square-wave gait.
    rows = []
    for i in range(300):
        t = i / 100
        left = 100.0 if (t % 1.0) < 0.6 else 0.0
        right = 100.0 if ((t + 0.5) % 1.0) < 0.6 else 0.0
        rows.append("\t".join([f"{t:.2f}", *[f"{left}"] * 8, *[f"{right}"] * 8,
                               f"{8 * left}", f"{8 * right}"]))
    src = tmp_path / "GaCo01_01.txt"
    src.write_text("\n".join(rows) + "\n")
    result = insole.import_file("gaitpdb", src, tmp_path / "g.insrec")
    assert result.as_dict()["samples"] == 2 * 300  # both insoles
    s = insole.analyze(tmp_path / "g.insrec")
    assert s.summary["duration_s"] == pytest.approx(3.0, abs=0.05)
    with pytest.raises(ImportFormatError, match="unknown import format 'nope'"):
        insole.import_file("nope", src, tmp_path / "n.insrec")


def test_open_reader_gives_a_reader() -> None:
    from insole.sources.readers import Reader

    reader = insole.open_reader("sim:?seed=3")
    assert isinstance(reader, Reader)


def test_docs_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    head = text.split("## Reference")[0]
    blocks = re.findall(r"```python\n(.*?)```", head, flags=re.S)
    assert len(blocks) >= 4
    (tmp_path / "recordings").symlink_to(ROOT / "recordings")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "Session('recordings/run_rearfoot_20s.insrec', 56 steps)" in out
    assert "(56, 52)" in out
    assert (tmp_path / "run.parquet").is_file()


# --- a force plate under both feet (issue 13, item 5) ------------------------------------------


def test_plate_session_is_labelled_as_steps_csv_labels_it(tmp_path: Path) -> None:
    from helpers_plate import plate_recording

    rec = plate_recording(tmp_path)
    s = insole.analyze(rec)
    assert s.plate
    steps = s.steps
    assert isinstance(steps, pd.DataFrame)
    assert len(steps) > 25
    assert set(steps["side"]) == {"both"}
    assert steps["heel_peak_n"].isna().all()
    assert steps["heel_impulse_ns"].isna().all()
    assert steps["whole_foot_peak_kpa"].isna().all()
    assert (steps["peak_force_n"] > 1000).all()
    assert set(s.steps_array["side"]) == {"both"}
    # the rows of 'insole analyze --steps-csv' (side both, blank heel cells), cell for cell
    cli_rows = cli("analyze", str(rec), "--steps-csv", "-").stdout.splitlines()[1:]
    ours = steps_csv_text(dict(zip(steps.columns, (np.asarray(steps[c]) for c in steps),
                                   strict=True))).splitlines()
    assert ours == cli_rows
    # the summary: the plate, not a left foot; peak force per contact, no heel figures
    raw = json.loads(cli("analyze", str(rec), "--json").stdout)
    summary = s.summary
    assert summary == raw  # 'insole analyze --json' says the same
    assert summary["steps"] == {"both": summary["step_count"]}
    assert set(summary["per_side"]) == {"both"}
    assert summary["per_side"]["both"]["heel_peak_n"] is None
    assert summary["per_side"]["both"]["peak_force_n"] > 1000
    assert summary["peak_force_n"]["median"] > 1000
    assert summary["heel_peak_n"] == {"median": None, "p10": None, "p90": None}
    assert summary["heel_impulse_ns"] is None
    assert "left" not in json.dumps({k: v for k, v in summary.items()
                                     if k != "clock_alignment"})
    # its samples are the plate's stream; 'both' is refused for insoles
    both = s.samples("both")
    assert both.side == "both"
    assert both.force_n.max() == pytest.approx(1200, rel=0.01)
    with pytest.raises(ValueError, match="force plate"):
        insole.analyze(RUN).samples("both")
    # Parquet: the same labels
    table = pd.read_parquet(s.to_parquet(tmp_path / "plate.parquet"))
    assert set(table["side"]) == {"both"}
    assert table["heel_peak_n"].isna().all()


@pytest.mark.parametrize("flight_s", [0.1, 0.06, 0.04])
def test_plate_keeps_every_contact_of_short_flights(tmp_path: Path, flight_s: float) -> None:
    """A jogger's flights on a plate under both feet last 35-100 ms: each contact is a step.

    The default bridge of a foot's swing (0.1 s) merged contacts with shorter flights;
    the analysis runs a plate under both feet with `PLATE_UNDER_BOTH_FEET`.
    """
    from helpers_plate import plate_recording

    contact_s = 0.28
    period = contact_s + flight_s
    first_s = flight_s / 2  # the recording starts in a flight
    s = insole.analyze(
        plate_recording(tmp_path, contact_s=contact_s, flight_s=flight_s, first_s=first_s)
    )
    steps = s.steps
    # the truth: a contact every period from first_s
    truth = first_s + np.arange(0, int(12 / period) + 1) * period
    truth = truth[truth + contact_s < 12 - 1 / 300]  # whole contacts
    hs = np.asarray(steps["heel_strike_s"])
    nearest = np.abs(hs[:, None] - truth[None, :]).min(axis=0)
    assert (nearest < 0.005).all(), truth[nearest >= 0.005]  # every one within 5 ms
    valid = steps["toe_off_valid"].to_numpy()
    contact = (steps["toe_off_s"] - steps["heel_strike_s"]).to_numpy()[valid]
    # the noise floor (2 % of the range) at both ends of a half sine: a few ms shorter
    assert np.median(contact) == pytest.approx(contact_s, abs=0.008)
    assert len(hs) - len(truth) <= 1  # at most the contact cut by the end


def test_a_plate_marked_only_recording_wide_is_detected_as_one(tmp_path: Path) -> None:
    """``extra.import.plate_under_both_feet`` alone (no device entry marked): a plate too."""
    from helpers_plate import plate_recording

    from insole.session.analysis import SessionAnalysis

    rec = plate_recording(tmp_path, flight_s=0.06, first_s=0.03)
    raw = read_raw_recording(rec)
    assert raw.header["extra"]["import"]["plate_under_both_feet"]
    full = SessionAnalysis().run(raw).summary_["step_count"]
    for device in raw.header["devices"]:
        device.pop("plate_under_both_feet", None)
    assert SessionAnalysis().run(raw).summary_["step_count"] == full >= 33


def test_walking_on_one_plate_is_said_to_have_no_flight(tmp_path: Path) -> None:
    """Walking on one plate under both feet: double support, no flight; said, not 'standing'."""
    t = np.arange(0, 30, 1 / 100)
    force = np.zeros_like(t)
    for first in (0.3, 0.85):  # left and right heel strikes, half a stride apart
        phase = np.mod(t - first, 1.1)
        force += 700 * np.sqrt(np.clip(np.sin(np.pi * np.minimum(phase, 0.7) / 0.7), 0, 1))
    table = tmp_path / "walk.csv"
    table.write_text("time,Fz\n" + "".join(f"{a:.3f},{b:.2f}\n" for a, b in zip(t, force,
                                                                            strict=True)))
    rec = tmp_path / "walk.insrec"
    insole.import_file("table", table, rec, columns=["Fz"], sides=["both"], time_column="time")
    assert force.min() > 100  # the plate never unloads
    out = cli("analyze", str(rec)).stdout
    assert "double support one plate under both feet cannot split into steps" in out
    assert "weight shift" not in out
    assert "the foot stayed loaded" not in out


def test_plate_summary_leaves_insole_summaries_alone(run: Session) -> None:
    from insole.api import plate_summary

    assert plate_summary(run.summary) is run.summary
    assert set(run.steps["side"]) == {"left", "right"}


@pytest.mark.parametrize(("chunk", "error"), [(-1, ValueError), (-4096, ValueError),
                                              (2.5, TypeError), ("64", TypeError)])
def test_a_chunk_size_that_feeds_nothing_is_refused(chunk: object, error: type) -> None:
    # range(0, n, -1) fed nothing: an empty session, silently (QA, 2026-12-07).
    with pytest.raises(error, match="chunk_bytes"):
        insole.analyze(RUN, chunk_bytes=chunk)
    assert insole.analyze(RUN, chunk_bytes=0).summary == insole.analyze(RUN).summary


@pytest.mark.parametrize("bad", [42, None, b"recordings/run_rearfoot_20s.insrec"])
def test_a_path_that_is_not_one_says_what_is_taken(bad: object) -> None:
    with pytest.raises(TypeError, match=r"analyze\(\) takes a recording's path"):
        insole.analyze(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"load\(\) takes a recording's path"):
        insole.load(bad)  # type: ignore[arg-type]
