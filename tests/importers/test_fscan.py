"""Tekscan F-Scan ASCII import: the shared example, region cells with exact forces, bad files.

The example (``../shared/data/commercial_exports/fscan_testL.asf``, pressuRe package, MIT) is
read from the shared data folder and skipped when it is absent; malformed inputs are small
files written to ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insole.cli import main
from insole.core.calibration import Calibrator
from insole.core.layouts import REGIONS, SensorLayout
from insole.recordings.loader import DeviceData, load_recording
from insole.session.analysis import SessionAnalysis
from insole.sources.importers import ImportFormatError
from insole.sources.importers.convert import counts_to_values, kpa_per_unit, merge_sensels
from insole.sources.importers.fscan import import_fscan, read_fscan

DATA = Path(__file__).parents[2].parent / "shared" / "data"
FSCAN = DATA / "commercial_exports" / "fscan_testL.asf"
SENSEL_MM2 = 5.08 * 5.08  # the example's ROW_SPACING x COL_SPACING (header SENSEL_AREA 25.8064)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def decoded(dev: DeviceData) -> np.ndarray:
    return counts_to_values(dev.counts, dev.header["calibration"])


def small_fscan(
    path: Path,
    frames: list[list[list[str]]],
    *,
    units: str = "KPa",
    end: int | None = None,
    closing: bool = True,
    spacing: str = "5.08 mm",
) -> Path:
    """Write a minimal F-Scan ASCII movie with the header fields of the real export."""
    rows, cols = len(frames[0]), len(frames[0][0])
    head = [
        "DATA_TYPE MOVIE",
        "VERSION Tekscan Pressure Measurement System 6.33",
        "SENSOR_TYPE FSCAN",
        f"ROWS {rows}",
        f"COLS {cols}",
        f"ROW_SPACING {spacing}",
        f"COL_SPACING {spacing}",
        "SECONDS_PER_FRAME 0.01",
        "TIME Thursday, 16 February 2017 11:26:22 a.m.",
        "START_FRAME 1",
        f"END_FRAME {end if end is not None else len(frames)}",
        f"UNITS {units}",
        "MIRROR_ROW 0",
        "MIRROR_COL 0",
        "ASCII_DATA @@",
        "",
    ]
    body = []
    for k, frame in enumerate(frames, start=1):
        body.append(f"Frame {k}")
        body.extend(",".join(r) for r in frame)
        body.append("")
    path.write_text("\n".join(head + body + (["@@"] if closing else [])) + "\n")
    return path


def grid_frames(n: int = 40, rows: int = 8, cols: int = 4) -> list[list[list[str]]]:
    """A loading-unloading pattern on a rows x cols sensor, one corner outside the insole."""
    out = []
    for k in range(n):
        load = max(0.0, np.sin(2 * np.pi * k / 20)) * 100
        frame = [[str(int(load * (1 + r % 3))) for _ in range(cols)] for r in range(rows)]
        frame[0][0] = "B"
        out.append(frame)
    return out


# --- the shared example ----------------------------------------------------------------------


def test_read_example() -> None:
    data = read_fscan(need(FSCAN))
    assert data.frames.shape == (205, 60, 21)
    assert int(data.mask.sum()) == 955
    assert data.sampling_rate_hz == pytest.approx(31.25)
    assert (data.row_spacing_mm, data.col_spacing_mm) == (5.08, 5.08)
    assert data.unit == "KPa"
    assert data.start is not None
    assert data.start.strftime("%Y-%m-%d %H:%M:%S") == "2017-02-16 11:26:22"
    assert np.all(np.isnan(data.frames[:, ~data.mask]))
    # the first data row of frame 1 as written in the file
    assert data.frames[0, 20, :8].tolist() == [0, 0, 0, 0, 0, 18, 0, 18]
    assert data.time_s[-1] == pytest.approx(204 * 0.032)


def test_round_trip_cells_and_exact_force(tmp_path: Path) -> None:
    src = need(FSCAN)
    data = read_fscan(src)
    result = import_fscan(src, tmp_path / "f.insrec", side="left")
    rec = load_recording(tmp_path / "f.insrec")
    assert rec.header["source"] == "import:fscan"
    assert rec.frames_lost == 0
    assert rec.damage is None
    (dev,) = rec.devices
    layout = SensorLayout.from_json(dev.header["layout"])
    assert dev.side == "left"
    assert dev.n_sensors == layout.n_sensors <= 128
    assert dev.header["calibration"]["unit"] == "kPa"
    extra = rec.header["extra"]["import"]["devices"][0]
    cell_of = np.array(extra["cell_of_sensel"])
    assert np.array_equal(cell_of >= 0, data.mask)  # every insole sensel in exactly one cell
    # cell areas are their sensels' areas
    counts = np.bincount(cell_of[data.mask], minlength=dev.n_sensors)
    np.testing.assert_allclose(layout.area_mm2, counts * SENSEL_MM2)
    # each cell lies in one region; sensel -> cell mean pressure
    kpa = np.nan_to_num(data.frames)
    expected = np.zeros((kpa.shape[0], dev.n_sensors))
    for c in range(dev.n_sensors):
        expected[:, c] = kpa[:, cell_of == c].mean(axis=1)
    step = float(dev.header["calibration"]["scale"][0])
    assert np.max(np.abs(decoded(dev) - expected)) <= step / 2 + 1e-9
    assert result.devices[0]["max_abs_error"] <= step / 2 + 1e-9
    # total force: the analysis' own converter gives the sum of the sensel forces
    cal = Calibrator(dev.header["calibration"], layout)
    total = cal.force(dev.counts).astype(np.float64).sum(axis=1)
    sensel_total = kpa[:, data.mask].sum(axis=1) * SENSEL_MM2 / 1000.0
    bound = step / 2 * layout.area_mm2.sum() / 1000.0 + 1e-3 * sensel_total.max()
    assert np.max(np.abs(total - sensel_total)) <= bound
    assert sensel_total.max() > 800  # about the 75 kg calibration load of the header
    np.testing.assert_allclose(dev.device_time_s, data.time_s, atol=1e-3)


def test_regions_and_medial_edge(tmp_path: Path) -> None:
    src = need(FSCAN)
    import_fscan(src, tmp_path / "f.insrec", side="left")
    rec = load_recording(tmp_path / "f.insrec")
    (dev,) = rec.devices
    layout = SensorLayout.from_json(dev.header["layout"])
    extra = rec.header["extra"]["import"]["devices"][0]
    # the toe tip of the trimmed outline lies towards the last columns: medial on a left insole
    assert (extra["medial_edge"], extra["medial_edge_from"]) == ("last column", "outline")
    assert set(layout.region) <= set(REGIONS) - {"whole_foot"}
    assert {"heel_medial", "heel_lateral", "midfoot", "toes"} <= set(layout.region)
    # heel cells behind midfoot cells behind toe cells
    y = {r: layout.y_mm[np.array(layout.region) == r].mean() for r in set(layout.region)}
    assert y["heel_medial"] < y["midfoot"] < y["toes"]
    assert np.all(layout.x_mm[np.array(layout.region) == "heel_medial"] < 0)


def test_example_goes_through_the_pipeline(tmp_path: Path) -> None:
    src = need(FSCAN)
    import_fscan(src, tmp_path / "f.insrec", side="left")
    analysis = SessionAnalysis().run(tmp_path / "f.insrec")
    s = analysis.summary_
    assert s["frames_lost"] == 0
    # 6.6 s of overground walking on one insole: five complete contacts
    assert s["steps"] == {"left": 5}
    assert 0.6 < s["contact_time_s"] < 0.85
    assert 90 < s["cadence_spm"] < 130


def test_foot_length_moves_region_boundaries(tmp_path: Path) -> None:
    src = need(FSCAN)
    import_fscan(src, tmp_path / "a.insrec", side="left")
    import_fscan(src, tmp_path / "b.insrec", side="left", foot_length_mm=250)
    a = SensorLayout.from_json(load_recording(tmp_path / "a.insrec").devices[0].header["layout"])
    b = SensorLayout.from_json(load_recording(tmp_path / "b.insrec").devices[0].header["layout"])
    assert a.foot_length_mm == b.foot_length_mm == pytest.approx(60 * 5.08)
    toes_a = a.area_mm2[np.array(a.region) == "toes"].sum()
    toes_b = b.area_mm2[np.array(b.region) == "toes"].sum()
    assert toes_b > toes_a  # a shorter foot puts more of the sensor beyond 80 % of its length


# --- units, merging --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "kpa"),
    [("KPa", 1.0), ("MmHg", 0.133322387415), ("PSI", 6.894757293168),
     ("kg/cm2", 98.0665), ("N/cm²", 10.0), ("MPa", 1000.0)],
)
def test_units_convert_to_kpa(tmp_path: Path, unit: str, kpa: float) -> None:
    assert kpa_per_unit(unit) == pytest.approx(kpa, rel=1e-12)
    frames = grid_frames()
    src = small_fscan(tmp_path / "u.asf", frames, units=unit)
    import_fscan(src, tmp_path / "u.insrec", side="right")
    (dev,) = load_recording(tmp_path / "u.insrec").devices
    layout = SensorLayout.from_json(dev.header["layout"])
    raw = np.array([[[float(v) if v != "B" else 0.0 for v in r] for r in f] for f in frames])
    force = Calibrator(dev.header["calibration"], layout).force(dev.counts).sum(axis=1)
    expected = raw.sum(axis=(1, 2)) * kpa * SENSEL_MM2 / 1000.0
    np.testing.assert_allclose(force, expected, rtol=1e-4, atol=layout.area_mm2.sum() * 1e-3 *
                               float(dev.header["calibration"]["scale"][0]))


def test_raw_units_are_counts(tmp_path: Path) -> None:
    src = small_fscan(tmp_path / "r.asf", grid_frames(), units="Raw")
    import_fscan(src, tmp_path / "r.insrec", side="left")
    (dev,) = load_recording(tmp_path / "r.insrec").devices
    assert dev.header["calibration"]["unit"] == "counts"
    assert float(np.nansum(decoded(dev)[5])) == pytest.approx(
        sum(float(v) for r in grid_frames()[5] for v in r if v != "B"))


def test_small_sensor_keeps_every_sensel_and_merging_keeps_region_totals() -> None:
    rng = np.random.default_rng(1)
    mask = np.ones((60, 21), dtype=bool)
    mask[:5, :6] = False
    frames = rng.uniform(0, 300, size=(7, 60, 21))
    cells = merge_sensels(frames, mask, row_pitch_mm=5.08, col_pitch_mm=5.08,
                          medial_col_last=True, unit="kPa", name="t")
    assert cells.layout.n_sensors <= 128
    assert cells.block != (1, 1)
    area = cells.layout.area_mm2
    region = np.array(cells.layout.region)
    # per region: force of the cells == force of the sensels (exact up to float rounding)
    sensel_region = region[cells.cell_of_sensel[mask]]
    for reg in set(region):
        by_cells = (cells.values[:, region == reg] * area[region == reg]).sum(axis=1)
        by_sensels = frames[:, mask][:, sensel_region == reg].sum(axis=1) * 5.08 * 5.08
        np.testing.assert_allclose(by_cells, by_sensels, rtol=1e-12)
    small = merge_sensels(frames[:, :10, :8], np.ones((10, 8), bool), row_pitch_mm=5.0,
                          col_pitch_mm=5.0, medial_col_last=False, unit="kPa", name="t")
    assert small.block == (1, 1)
    assert small.layout.n_sensors == 80


# --- malformed input -------------------------------------------------------------------------


def _cut_in_frame(tmp_path: Path) -> Path:
    text = small_fscan(tmp_path / "ok.asf", grid_frames()).read_text().splitlines()
    return _write(tmp_path / "cut.asf", "\n".join(text[:-6]) + "\n")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _write(d / "e.asf", ""), "empty"),
        (lambda d: _write(d / "h.asf", "Time,Fx,Fy\n1,2,3\n"), "no 'ASCII_DATA'"),
        (_cut_in_frame, "truncated"),
        (lambda d: small_fscan(d / "n.asf", grid_frames(), end=50), "END_FRAME is 50"),
        (lambda d: small_fscan(d / "c.asf", grid_frames(), closing=False), "no closing '@@'"),
        (lambda d: small_fscan(d / "x.asf", [[["1", "x"], ["2", "3"]]]),
         "'x' is neither a number nor B"),
        (lambda d: small_fscan(d / "u.asf", grid_frames(), units="Furlongs"),
         "unknown pressure unit 'Furlongs'"),
        (lambda d: small_fscan(d / "s.asf", grid_frames(), spacing="5.08 parsecs"),
         "unknown length unit"),
        (lambda d: small_fscan(d / "w.asf", [[["1", "2"], ["3"]]]), "has 1 values, COLS says 2"),
    ],
    ids=["empty", "wrong-header", "truncated-frame", "missing-frames", "no-end", "non-numeric",
         "unknown-unit", "unknown-spacing", "short-row"],
)
def test_malformed_files(tmp_path: Path, make: object, message: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    src = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ImportFormatError, match="F-Scan file") as exc:
        import_fscan(src, tmp_path / "o.insrec", side="left")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    rc = main(["import", "fscan", str(src), "--side", "left", "--out", str(tmp_path / "o.insrec")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.insrec").exists()


def test_side_is_required_and_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = small_fscan(tmp_path / "a.asf", grid_frames())
    with pytest.raises(ImportFormatError, match="--side must be left or right"):
        import_fscan(src, tmp_path / "o.insrec", side="both")
    with pytest.raises(SystemExit) as exc:
        main(["import", "fscan", str(src), "--out", str(tmp_path / "o.insrec")])
    assert exc.value.code == 2
    assert "--side" in capsys.readouterr().err


def test_cli_writes_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = need(FSCAN)
    assert main(["import", "fscan", str(src), "--side", "left", "--out",
                 str(tmp_path / "f.insrec")]) == 0
    out = capsys.readouterr().out
    assert "fscan, 6.56 s at 31.25 Hz, 205 samples; left" in out


def test_fractional_rate_placed_exactly_for_any_chunking(tmp_path: Path) -> None:
    """31.25 Hz is stored rounded (31) in every frame and exactly in the header: samples are
    placed at the exact rate, so no sample overwrites another, no gap is negative, and the
    results do not depend on how the bytes are split."""
    out = tmp_path / "fscan.insrec"
    import_fscan(need(FSCAN), out, side="left")
    whole = SessionAnalysis(keep_records=False).run(out).summary_
    split = SessionAnalysis(keep_records=False, chunk_bytes=7).run(out).summary_
    assert whole["gap_s"] == 0.0
    assert whole["gap_samples"] == {"left": 0}
    assert whole == split
