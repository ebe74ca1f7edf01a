"""Importers: lab and commercial files become ordinary recordings that decode back to the data.

Real files are read from ``../shared/data`` (relative to the project root); tests that need one
skip when it is absent. Malformed inputs are small files written to ``tmp_path``.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from helpers_importers import write_stappone  # tests/ is on the path (tests/conftest.py)

from insole.cli import main
from insole.commands.imports import add_parsers
from insole.core.calibration import Calibrator
from insole.core.layouts import REGIONS, SensorLayout
from insole.errors import InsoleError, RecordingError
from insole.recordings.loader import DeviceData, Recording, load_recording
from insole.session.analysis import SessionAnalysis
from insole.sources.importers import ImportFormatError
from insole.sources.importers.convert import (
    INVALID_COUNT,
    counts_to_values,
    linear_calibration,
    values_to_counts,
)
from insole.sources.importers.pedar import import_pedar, pedar_layout, read_pedar
from insole.sources.importers.physionet import import_gaitndd, import_gaitpdb, read_gaitndd
from insole.sources.importers.stappone import import_stappone, read_stappone
from insole.sources.importers.table import import_table

DATA = Path(__file__).parents[2].parent / "shared" / "data"
GAITPDB = DATA / "gaitpdb"
GAITNDD = DATA / "gaitndd"
FUKUCHI = DATA / "running_forceplate" / "RBDS001runT25forces.txt"
PEDAR = DATA / "commercial_exports" / "pedar_example.asc"
STAPPONE = DATA / "commercial_exports" / "stappone_example.csv"

GAITPDB_FILES = ["GaCo01_01", "GaCo13_10", "GaPt03_01", "JuCo01_01", "SiCo01_01"]
TIME_TOLERANCE_S = 0.001


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def decoded(dev: DeviceData) -> np.ndarray:
    """Counts -> values with the device's linear calibration, in float64."""
    cal = dev.header["calibration"]
    assert cal["model"] == "linear_v1"
    assert cal["invalid_count"] == INVALID_COUNT
    return counts_to_values(dev.counts, cal)


def step_of(dev: DeviceData) -> np.ndarray:
    return np.asarray(dev.header["calibration"]["scale"], dtype=float)


def check_clean(rec: Recording, fmt: str) -> None:
    """What every import must give: its source, no loss, no decoder complaint."""
    assert rec.header["source"] == f"import:{fmt}"
    assert rec.header["extra"]["import"]["format"] == fmt
    assert all(s["transport"] == "import" for s in rec.header["streams"])
    assert rec.frames_lost == 0
    for name in ("crc_errors", "cobs_errors", "discarded_bytes", "duplicate_frames"):
        assert rec.counter(name) == 0, name
    assert rec.damage is None
    for dev in rec.devices:
        assert dev.frames_lost == 0
        assert dev.info is not None
        assert dev.info.n_sensors == dev.n_sensors
        # host time = time of the frame's last sample (as if live): not before the sample,
        # at most one frame later
        assert np.all(np.diff(dev.host_time_s) >= 0)
        lag = dev.host_time_s - dev.device_time_s
        assert np.all(lag >= -TIME_TOLERANCE_S)
        assert np.all(lag <= 32 / dev.sample_rate_hz)


def check_times(dev: DeviceData, source_time_s: np.ndarray) -> None:
    expected = source_time_s - source_time_s[0]
    assert dev.device_time_s.shape == expected.shape
    assert np.max(np.abs(dev.device_time_s - expected)) <= TIME_TOLERANCE_S


# --- gaitpdb ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GAITPDB_FILES)
def test_gaitpdb_round_trip(tmp_path: Path, name: str) -> None:
    src = need(GAITPDB / f"{name}.txt")
    data = np.loadtxt(src)
    result = import_gaitpdb(src, tmp_path / "g.insrec")
    rec = load_recording(tmp_path / "g.insrec")
    check_clean(rec, "gaitpdb")
    assert [d.side for d in rec.devices] == ["left", "right"]
    for dev, cols in zip(rec.devices, (slice(1, 9), slice(9, 17)), strict=True):
        assert dev.n_sensors == 8
        assert dev.n_samples == data.shape[0]
        assert dev.header["layout"]["name"] == "gaitpdb8"
        assert dev.header["calibration"]["unit"] == "N"
        err = np.abs(decoded(dev) - data[:, cols])
        assert np.all(err <= step_of(dev) / 2 + 1e-9)
        check_times(dev, data[:, 0])
        assert dev.duration_s == pytest.approx(data[-1, 0] - data[0, 0] + 0.01, abs=1e-3)
        # The analysis' own converter gives the same forces (float32 tables).
        cal = Calibrator(dev.header["calibration"], SensorLayout.from_json(dev.header["layout"]))
        assert np.allclose(cal.force(dev.counts), data[:, cols], atol=0.01)
    assert result.samples == 2 * data.shape[0]
    assert result.invalid_samples == 0
    assert max(d["max_abs_error"] for d in result.devices) <= 0.005 + 1e-9
    extra = rec.header["extra"]["import"]
    assert extra["file"] == src.name
    assert len(extra["sha256"]) == 64
    assert extra["devices"][0]["columns"] == [f"L{i}" for i in range(1, 9)]


def test_gaitpdb_keeps_two_decimals_exactly(tmp_path: Path) -> None:
    src = need(GAITPDB / "GaCo01_01.txt")
    result = import_gaitpdb(src, tmp_path / "g.insrec")
    assert {d["scale"] for d in result.devices} == {0.01}
    assert max(d["max_abs_error"] for d in result.devices) < 1e-9


# --- gaitndd ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["control1", "hunt1"])
def test_gaitndd_round_trip(tmp_path: Path, name: str) -> None:
    record = need(GAITNDD / f"{name}.hea").with_suffix("")
    left, right, rate, invalid = read_gaitndd(record)
    import_gaitndd(record, tmp_path / "n.insrec")
    rec = load_recording(tmp_path / "n.insrec")
    check_clean(rec, "gaitndd")
    assert [d.side for d in rec.devices] == ["left", "right"]
    for dev, signal in zip(rec.devices, (left, right), strict=True):
        assert dev.n_sensors == 1
        assert dev.header["layout"]["name"] == "whole_foot"
        cal = dev.header["calibration"]
        assert (cal["unit"], cal["scale"], cal["offset"]) == ("counts", [1.0], [2048.0])
        np.testing.assert_array_equal(decoded(dev)[:, 0], signal)
        check_times(dev, np.arange(signal.size) / rate)
        assert dev.sample_rate_hz == 300.0
        assert dev.duration_s == pytest.approx(300.0)


def test_gaitndd_accepts_hea_path(tmp_path: Path) -> None:
    header = need(GAITNDD / "park1.hea")
    result = import_gaitndd(header, tmp_path / "n.insrec")
    assert result.samples == 2 * 90000


def write_wfdb(folder: Path, digital: np.ndarray) -> Path:
    with warnings.catch_warnings():  # wfdb uses pandas API that pandas deprecates
        warnings.simplefilter("ignore")
        import wfdb

        wfdb.wrsamp(
            "rec", fs=300, units=["mV", "mV"], sig_name=["left-foot", "right-foot"],
            d_signal=digital.astype(np.int64), fmt=["212", "212"], adc_gain=[1000.0, 1000.0],
            baseline=[0, 0], write_dir=str(folder),
        )
    return folder / "rec"


def test_gaitndd_invalid_samples_become_reserved_count(tmp_path: Path) -> None:
    digital = np.array([[0, 10], [100, -2048], [-2048, 5], [2047, -2047]] * 30)
    record = write_wfdb(tmp_path, digital)
    result = import_gaitndd(record, tmp_path / "n.insrec")
    assert result.invalid_samples == 60
    assert [d["invalid_samples"] for d in result.devices] == [30, 30]
    rec = load_recording(tmp_path / "n.insrec")
    for dev, col in zip(rec.devices, (0, 1), strict=True):
        bad = digital[:, col] == -2048
        assert np.all(dev.counts[bad, 0] == INVALID_COUNT)
        values = decoded(dev)[:, 0]
        assert np.all(np.isnan(values[bad]))
        np.testing.assert_array_equal(values[~bad], digital[~bad, col])
        layout = SensorLayout.from_json(dev.header["layout"])
        force = Calibrator(dev.header["calibration"], layout).force(dev.counts)[:, 0]
        assert np.all(np.isnan(force[bad]))
        assert not np.any(np.isnan(force[~bad]))
    assert rec.header["extra"]["import"]["invalid_count"] == INVALID_COUNT


# --- table (Fukuchi force plate) -------------------------------------------------------------


def test_table_force_plate_under_both_feet(tmp_path: Path) -> None:
    src = need(FUKUCHI)
    data = np.loadtxt(src, skiprows=1)
    result = import_table(src, tmp_path / "t.insrec", columns=["Fy"], sampling_rate_hz=300,
                          time_column="Time", time_unit="frame")
    rec = load_recording(tmp_path / "t.insrec")
    check_clean(rec, "table")
    (dev,) = rec.devices
    assert (dev.side, dev.n_sensors) == ("left", 1)
    extra = rec.header["extra"]["import"]
    assert extra["plate_under_both_feet"] is True
    assert extra["devices"][0]["under_both_feet"] is True
    assert dev.header["plate_under_both_feet"] is True
    assert extra["devices"][0]["columns"] == ["Fy"]
    values = decoded(dev)[:, 0]
    assert np.min(data[:, 2]) < 0  # negative plate noise must be representable
    assert np.all(np.abs(values - data[:, 2]) <= step_of(dev)[0] / 2 + 1e-9)
    check_times(dev, (data[:, 0] - 1) / 300.0)
    assert dev.duration_s == pytest.approx(30.0)
    assert result.devices[0]["max_abs_error"] <= result.devices[0]["scale"] / 2 + 1e-9


def test_table_two_columns_left_right_and_empty_fields(tmp_path: Path) -> None:
    src = tmp_path / "forces.csv"
    rows = ["t,left_N,right_N"] + [
        f"{i / 100:.2f},{200 * np.sin(i / 10):.1f},{'' if i % 7 == 3 else f'{i * 1.5:.1f}'}"
        for i in range(200)
    ]
    src.write_text("\n".join(rows) + "\n")
    result = import_table(src, tmp_path / "t.insrec", columns=["left_N", "right_N"],
                          time_column="t")
    assert result.sample_rate_hz == pytest.approx(100.0)
    rec = load_recording(tmp_path / "t.insrec")
    left, right = rec.devices
    assert (left.side, right.side) == ("left", "right")
    expected_left = np.round(200 * np.sin(np.arange(200) / 10), 1)
    assert np.allclose(decoded(left)[:, 0], expected_left, atol=1e-9)
    gaps = np.arange(200) % 7 == 3
    assert np.all(right.counts[gaps, 0] == INVALID_COUNT)
    assert np.all(np.isnan(decoded(right)[gaps, 0]))
    assert result.devices[1]["invalid_samples"] == gaps.sum()
    check_times(left, np.arange(200) / 100)


def test_table_reaction_force_is_stored_positive(tmp_path: Path, capsys) -> None:
    """A plate loaded below zero (the force on the plate; AMTI, many lab frames) is flipped.

    As the C3D importer does: the load must be positive for the analysis (negated, RBDS001's
    78 contacts had read as 78 "steps" of 320 ms in the wrong phase). Said, and recorded.
    """
    from helpers_plate import plate_table

    table = plate_table(tmp_path)
    rows = table.read_text().splitlines()
    flipped = tmp_path / "reaction.csv"
    flipped.write_text("\n".join([rows[0]] + [
        f"{t},{-float(v):.3f}" for t, v in (r.split(",") for r in rows[1:])]) + "\n")
    assert main(["import", "table", str(flipped), "--column", "Fz", "--time-column", "time",
                 "--out", str(tmp_path / "r.insrec")]) == 0
    out = capsys.readouterr().out
    assert "note: column 'Fz' stored with its sign flipped" in out
    assert main(["import", "table", str(table), "--column", "Fz", "--time-column", "time",
                 "--out", str(tmp_path / "p.insrec")]) == 0
    assert "sign flipped" not in capsys.readouterr().out
    assert main(["import", "table", str(flipped), "--column", "Fz", "--time-column", "time",
                 "--out", str(tmp_path / "r2.insrec"), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert len(notes) == 1
    assert "sign flipped" in notes[0]
    positive = load_recording(tmp_path / "p.insrec").devices[0]
    reaction = load_recording(tmp_path / "r.insrec")
    assert reaction.header["extra"]["import"]["vertical_sign"] == {"Fz": -1.0}
    np.testing.assert_allclose(decoded(reaction.devices[0]), decoded(positive), atol=1e-9)
    count = SessionAnalysis().run(tmp_path / "r.insrec").summary_["step_count"]
    assert count == SessionAnalysis().run(tmp_path / "p.insrec").summary_["step_count"] > 25


def test_table_force_resting_below_zero_with_brief_loads_keeps_its_sign(tmp_path: Path) -> None:
    """An offset after zeroing (-8 N), loaded in under 1 % of its samples: no reaction force."""
    rng = np.random.default_rng(0)
    force = -8.0 + rng.normal(0.0, 2.0, 60000)
    for k in range(60):
        force[k * 1000 : k * 1000 + 8] += 700.0
    src = tmp_path / "f.csv"
    src.write_text("Fz\n" + "".join(f"{v:.2f}\n" for v in force))
    result = import_table(src, tmp_path / "f.insrec", columns=["Fz"], sampling_rate_hz=100.0)
    assert result.told == []
    assert np.nanmax(decoded(load_recording(tmp_path / "f.insrec").devices[0])) > 600


# --- pedar -----------------------------------------------------------------------------------


def test_pedar_round_trip(tmp_path: Path) -> None:
    src = need(PEDAR)
    data = read_pedar(src)
    raw = np.loadtxt(src, skiprows=10)
    np.testing.assert_array_equal(data.pressure_kpa["left"], raw[:, 1:100])
    import_pedar(src, tmp_path / "p.insrec")
    rec = load_recording(tmp_path / "p.insrec")
    check_clean(rec, "pedar")
    assert rec.header["start_time"].startswith("2023-04-25T10:49")
    full = pedar_layout()
    for dev in rec.devices:
        kpa = data.pressure_kpa[dev.side]
        assert dev.n_sensors == 99
        assert dev.header["calibration"]["unit"] == "kPa"
        # Every sensor one to one, within half a quantisation step (the export has 2.5 kPa
        # steps, so in practice exactly), on the 99-sensor layout.
        assert np.all(np.abs(decoded(dev) - kpa) <= step_of(dev) / 2 + 1e-9)
        assert float(np.max(decoded(dev))) == float(np.max(kpa))
        assert SensorLayout.from_json(dev.header["layout"]) == full
        check_times(dev, data.time_s)
        assert dev.duration_s == pytest.approx(15.05)


def test_pedar_layout() -> None:
    full = pedar_layout()
    assert full.n_sensors == 99
    assert set(full.region[:26]) == {"heel_medial", "heel_lateral"}
    assert set(full.region[83 - 1:]) == {"toes"}
    assert np.all(np.diff(full.y_mm) >= 0)  # numbered heel to toe


def test_pedar_recording_goes_through_the_pipeline(tmp_path: Path) -> None:
    src = need(PEDAR)
    import_pedar(src, tmp_path / "p.insrec")
    analysis = SessionAnalysis().run(tmp_path / "p.insrec")
    assert analysis.summary_["frames_lost"] == 0
    rows = analysis.steps_
    assert {r["side"] for r in rows} == {"left", "right"}
    # The highest regional peak pressure is the highest sensor pressure of the export.
    data = read_pedar(src)
    peak = max(max(r[f"{reg}_peak_kpa"] for reg in REGIONS) for r in rows)
    highest = max(float(np.max(v)) for v in data.pressure_kpa.values())
    assert peak == pytest.approx(highest, rel=0.02)


# --- stAPPone --------------------------------------------------------------------------------


def test_stappone_round_trip(tmp_path: Path) -> None:
    src = need(STAPPONE)
    soles = read_stappone(src)
    (sole,) = soles.values()
    result = import_stappone(src, tmp_path / "s.insrec", sides="left")
    rec = load_recording(tmp_path / "s.insrec")
    check_clean(rec, "stappone")
    (dev,) = rec.devices
    assert (dev.side, dev.n_sensors) == ("left", 12)
    assert rec.header["devices"][0]["sample_rate_hz"] == 62.5
    np.testing.assert_array_equal(decoded(dev), sole.pressure)
    check_times(dev, sole.timestamp_ms / 1000)
    assert dev.duration_s == pytest.approx(np.ptp(sole.timestamp_ms) / 1000 + 0.016, abs=1e-3)
    start = datetime.fromisoformat(rec.header["start_time"])
    assert start == datetime.fromtimestamp(sole.timestamp_ms[0] / 1000, UTC)
    assert result.devices[0]["samples_per_frame"] == 1


def test_a_generic_grid_layout_says_strike_and_regions_are_a_guess(tmp_path: Path) -> None:
    # stAPPone publishes no sensor positions: the "midfoot first 56 %, forefoot first 44 %" of
    # its walk, and its regional loads, came from a generic 12-sensor grid without a word.
    import io

    from insole.session.analysis import SessionAnalysis
    from insole.session.text import print_summary

    import_stappone(need(STAPPONE), tmp_path / "s.insrec", sides="left")
    s = SessionAnalysis().run(tmp_path / "s.insrec").summary_
    assert s["layout_assumed"] == ["left"]
    out = io.StringIO()
    print_summary(s, out=out)
    lines = [ln for ln in out.getvalue().splitlines()
             if ln.lstrip().startswith(("foot strike", "load, left"))]
    assert len(lines) == 2
    assert all("a guess: the insole's sensor positions are not known" in ln for ln in lines)
    # Known positions (the simulator's 16-sensor layout): no such words.
    rec = Path(__file__).parents[2] / "recordings" / "walk_20s.insrec"
    s = SessionAnalysis().run(rec).summary_
    assert s["layout_assumed"] == []
    out = io.StringIO()
    print_summary(s, out=out)
    assert "a guess" not in out.getvalue()


def test_stappone_two_soles_and_corrupt_samples(tmp_path: Path) -> None:
    rows = []
    for k in range(50):
        for sole in (3, 4):
            corrupt = int(sole == 4 and k % 10 == 5)
            rows.append([sole, 1_700_000_000_000 + 16 * k + sole, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                        + [100 + k + i for i in range(12)] + [corrupt])
    src = write_stappone(tmp_path / "two.csv", rows)
    with pytest.raises(ImportFormatError, match="--side 3=left --side 4=right"):
        import_stappone(src, tmp_path / "s.insrec")
    result = import_stappone(src, tmp_path / "s.insrec", sides={3: "right", 4: "left"})
    assert result.invalid_samples == 5 * 12
    rec = load_recording(tmp_path / "s.insrec")
    left, right = rec.devices
    assert (left.device_id, right.device_id) == (4, 3)
    bad = np.arange(50) % 10 == 5
    assert np.all(left.counts[bad] == INVALID_COUNT)
    assert not np.any(right.counts == INVALID_COUNT)
    np.testing.assert_array_equal(decoded(right)[:, 0], 100 + np.arange(50))
    # each sole keeps its own clock, 1 ms apart
    assert right.device_time_s[-1] == pytest.approx(49 * 0.016, abs=TIME_TOLERANCE_S)


# --- quantisation ----------------------------------------------------------------------------


def test_linear_calibration_choices() -> None:
    pedar_like = np.array([[0.0, 2.5, 1200.0]])
    assert linear_calibration(pedar_like, "kPa")["scale"] == [2.5] * 3
    plate = np.array([[-34.03], [1428.99], [0.01]])
    cal = linear_calibration(plate, "N")
    assert cal["scale"] == [0.025]
    assert cal["offset"][0] > 0
    counts, n_bad = values_to_counts(np.array([[np.nan], [-34.03]]), cal)
    assert n_bad == 1
    assert counts[0, 0] == INVALID_COUNT
    assert abs(counts_to_values(counts, cal)[1, 0] + 34.03) <= 0.0125 + 1e-9
    assert np.isnan(counts_to_values(counts, cal)[0, 0])
    with pytest.raises(ImportFormatError, match="unit"):
        linear_calibration(plate, "psi")
    with pytest.raises(ImportFormatError, match="does not fit"):
        linear_calibration(plate, "N", step=0.001)


# --- malformed input -------------------------------------------------------------------------


def one_line(exc: pytest.ExceptionInfo[BaseException], *words: str) -> str:
    text = str(exc.value)
    assert "\n" not in text
    for w in words:
        assert w in text, (w, text)
    return text


@pytest.mark.parametrize(
    "run",
    [
        lambda p, o: import_gaitpdb(p, o),
        lambda p, o: import_table(p, o, columns=["Fy"], sampling_rate_hz=300),
        lambda p, o: import_pedar(p, o),
        lambda p, o: import_stappone(p, o, sides="left"),
    ],
    ids=["gaitpdb", "table", "pedar", "stappone"],
)
def test_empty_file(tmp_path: Path, run: object) -> None:
    src = tmp_path / "empty.txt"
    src.write_text("")
    with pytest.raises(ImportFormatError) as exc:
        run(src, tmp_path / "out.insrec")  # type: ignore[operator]
    one_line(exc, "empty.txt")
    assert not (tmp_path / "out.insrec").exists()


def test_wrong_column_count(tmp_path: Path) -> None:
    src = tmp_path / "short.txt"
    src.write_text("\n".join(" ".join(["1.0"] * 18) for _ in range(3)) + "\n")
    with pytest.raises(ImportFormatError) as exc:
        import_gaitpdb(src, tmp_path / "o.insrec")
    one_line(exc, "18 columns", "expected 19")
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("Time\tFy\tFz\n1\t2\t3\n2\t4\n")
    with pytest.raises(ImportFormatError) as exc:
        import_table(ragged, tmp_path / "o.insrec", columns=["Fy"], sampling_rate_hz=100)
    one_line(exc, "line 3", "2 fields", "header has 3")


def test_non_numeric_values(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_text(" ".join(["0.0"] * 19) + "\n" + " ".join(["abc"] + ["1"] * 18) + "\n")
    with pytest.raises(ImportFormatError) as exc:
        import_gaitpdb(src, tmp_path / "o.insrec")
    one_line(exc, "bad.txt", "line 2, column 1: 'abc' is not a number", "damaged at line 2")
    src.write_text(" ".join(["abc"] + ["1"] * 18) + "\n")
    with pytest.raises(ImportFormatError) as exc:
        import_gaitpdb(src, tmp_path / "o.insrec")
    one_line(exc, "bad.txt", "not a numeric table (line 1, column 1: 'abc' is not a number)")
    table = tmp_path / "bad.csv"
    table.write_text("Time,Fy\n1,2\n2,x\n")
    with pytest.raises(ImportFormatError) as exc:
        import_table(table, tmp_path / "o.insrec", columns=["Fy"], sampling_rate_hz=100)
    one_line(exc, "line 3", "'x' is not a number")
    rows = [[1, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0] + ["n/a"] * 12 + [0]]
    st = write_stappone(tmp_path / "bad_st.csv", rows)
    with pytest.raises(ImportFormatError) as exc:
        import_stappone(st, tmp_path / "o.insrec", sides="left")
    one_line(exc, "pressure_01", "not a number")


def test_missing_column_names_the_available_ones(tmp_path: Path) -> None:
    src = tmp_path / "plate.tsv"
    src.write_text("Time\tFx\tFy\n1\t0\t5\n2\t0\t6\n")
    with pytest.raises(ImportFormatError) as exc:
        import_table(src, tmp_path / "o.insrec", columns=["Fz"], sampling_rate_hz=300)
    one_line(exc, "no column 'Fz'", "Time, Fx, Fy")
    with pytest.raises(ImportFormatError) as exc:
        import_table(src, tmp_path / "o.insrec", columns=["Fy"])
    one_line(exc, "--rate")


@pytest.mark.parametrize(
    ("source", "run", "words"),
    [
        (PEDAR, lambda p, o: import_gaitpdb(p, o), ["gaitpdb", "not a numeric table"]),
        (GAITPDB / "GaCo01_01.txt", lambda p, o: import_pedar(p, o),
         ["pedar", "time[secs]"]),
        (GAITPDB / "GaCo01_01.txt",
         lambda p, o: import_table(p, o, columns=["Fy"], sampling_rate_hz=100),
         ["no header row"]),
        (FUKUCHI, lambda p, o: import_stappone(p, o, sides="left"), ["no column 'sole_id'"]),
        (STAPPONE, lambda p, o: import_pedar(p, o), ["pedar", "time[secs]"]),
        (GAITPDB / "GaCo01_01.txt", lambda p, o: import_gaitndd(p, o),
         ["not a gaitndd WFDB record"]),
        (FUKUCHI, lambda p, o: import_gaitpdb(p, o), ["not a numeric table"]),
    ],
    ids=["pedar-as-gaitpdb", "gaitpdb-as-pedar", "gaitpdb-as-table", "fukuchi-as-stappone",
         "stappone-as-pedar", "gaitpdb-as-gaitndd", "fukuchi-as-gaitpdb"],
)
def test_file_of_another_format(tmp_path: Path, source: Path, run: object,
                                words: list[str]) -> None:
    need(source)
    with pytest.raises(ImportFormatError) as exc:
        run(source, tmp_path / "o.insrec")  # type: ignore[operator]
    one_line(exc, source.name, *words)
    assert not (tmp_path / "o.insrec").exists()


def test_missing_file_and_existing_output(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as exc:
        import_gaitpdb(tmp_path / "nope.txt", tmp_path / "o.insrec")
    one_line(exc, "nope.txt", "not found")
    with pytest.raises(ImportFormatError):
        import_gaitndd(tmp_path / "nope", tmp_path / "o.insrec")
    src = tmp_path / "f.csv"
    src.write_text("Fy\n1\n2\n3\n")
    out = tmp_path / "o.insrec"
    out.write_bytes(b"keep me")
    with pytest.raises(RecordingError, match="already exists"):
        import_table(src, out, columns=["Fy"], sampling_rate_hz=100)
    assert out.read_bytes() == b"keep me"
    import_table(src, out, columns=["Fy"], sampling_rate_hz=100, overwrite=True)
    assert load_recording(out).devices[0].n_samples == 3


def test_time_must_increase(tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("t,F\n0.00,1\n0.01,2\n0.01,3\n")
    with pytest.raises(ImportFormatError) as exc:
        import_table(src, tmp_path / "o.insrec", columns=["F"], time_column="t",
                     sampling_rate_hz=100)
    one_line(exc, "time does not increase")


def test_errors_are_insole_and_value_errors() -> None:
    assert issubclass(ImportFormatError, InsoleError)
    assert issubclass(ImportFormatError, ValueError)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = need(FUKUCHI)
    out = tmp_path / "t.insrec"
    rc = main(["import", "table", str(src), "--rate", "300", "--column", "Fy",
               "--out", str(out), "--json"])
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["path"], info["format"]) == (str(out), "table")
    assert (info["samples"], info["sample_rate_hz"], info["invalid_samples"]) == (9000, 300, 0)
    assert info["duration_s"] == pytest.approx(30.0)
    assert info["devices"][0]["side"] == "left"


def test_cli_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "plate.tsv"
    src.write_text("Time\tFx\tFy\n1\t0\t5\n")
    rc = main(["import", "table", str(src), "--rate", "300", "--column", "Fv",
               "--out", str(tmp_path / "o.insrec")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no column 'Fv'" in err
    assert "Time, Fx, Fy" in err


def test_cli_formats_and_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="insole")
    add_parsers(parser.add_subparsers(dest="command"))
    for fmt in ("gaitpdb", "gaitndd", "table", "pedar", "stappone"):
        args = parser.parse_args(["import", fmt, "x", "--out", "y"]
                                 + (["--column", "Fy"] if fmt == "table" else []))
        assert callable(args.func)
    src = need(STAPPONE)
    assert main(["import", "stappone", str(src), "--out", str(tmp_path / "s.insrec"),
                 "--side", "1=right"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert load_recording(tmp_path / "s.insrec").devices[0].side == "right"
    assert main(["import", "stappone", str(src), "--out", str(tmp_path / "x.insrec"),
                 "--side", "up"]) == 2
    assert "--side must be" in capsys.readouterr().err
