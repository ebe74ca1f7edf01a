"""XSENSOR CSV import: the shared example, units and exact forces, bad files.

The example (``../shared/data/commercial_exports/xsensor_data.csv``, pressuRe package, MIT) is
read from the shared data folder and skipped when it is absent; malformed inputs are small
files written to ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insole.cli import main
from insole.core.calibration import Calibrator
from insole.core.layouts import SensorLayout
from insole.recordings.loader import DeviceData, load_recording
from insole.session.analysis import SessionAnalysis
from insole.sources.importers import ImportFormatError
from insole.sources.importers.convert import counts_to_values
from insole.sources.importers.xsensor import import_xsensor, read_xsensor

DATA = Path(__file__).parents[2].parent / "shared" / "data"
XSENSOR = DATA / "commercial_exports" / "xsensor_data.csv"
MMHG_KPA = 0.133322387415  # NIST SP 811 B.8, conventional millimetre of mercury


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def decoded(dev: DeviceData) -> np.ndarray:
    return counts_to_values(dev.counts, dev.header["calibration"])


def est_load(path: Path) -> dict[str, list[float]]:
    """XSENSOR's own 'Est. Load (N)' of each sensor per frame, read independently."""
    out: dict[str, list[float]] = {}
    current = None
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split(",")
        if fields[0] == "SENSOR":
            current = fields[1]
        elif fields[0] == "GROUP":
            current = None
        elif fields[0] == "Est. Load (N)" and current is not None:
            out.setdefault(current, []).append(float(fields[1]))
    return out


def small_xsensor(
    path: Path,
    n_frames: int = 30,
    *,
    names: tuple[str, ...] = ("X-LF S1", "X-RF S1"),
    units: str = "mmHg",
    cell: str | None = None,
    width: str = "Sensel Width (cm),0.86",
) -> Path:
    """Write a small export with the structure of the real one (4 x 3 sensels per insole)."""
    lines = ["File:,test.XSN,,", ",,,", f"Units:,{units},,", ",,,", "Threshold:,51.72,,", ",,,"]
    for k in range(n_frames):
        lines += [f"FRAME,{100 + k},,", ",,,", "Date, 2022 Aug 16,,", ",,,",
                  f"Time, 08:21:{17 + k * 0.0133:06.3f},,", ",,,"]
        for j, name in enumerate(names):
            load = max(0.0, np.sin(2 * np.pi * (k / 15 + j / 2))) * 400
            lines += [f"SENSOR,{name},,", ",,,", "Rows,4,,", ",,,", "Columns,3,,", ",,,", width,
                      ",,,", "Sensel Height (cm),0.86,,", ",,,", "Est. Load (N),1,,", ",,,",
                      "SENSELS,,,", ",,,"]
            for r in range(4):
                row = [f"{load * (r + 1) / 4:.2f}", f"{load / 2:.2f}", "0"]
                if cell is not None and k == 3 and r == 2:
                    row[1] = cell
                lines += [",".join(row), ",,,"]
        lines += ["GROUP,1,,", ",,,", "Name,Left Heel,,", ",,,", "Cells,2,,", ",,,",
                  "SENSELS,,,", ",,,", "1.5,2.5,,", ",,,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the shared example ----------------------------------------------------------------------


def test_read_example() -> None:
    data = read_xsensor(need(XSENSOR))
    assert [(s.side, s.frames.shape) for s in data.sensors] == [
        ("left", (101, 31, 11)), ("right", (101, 31, 11))]
    assert data.unit == "mmHg"
    assert (data.sensors[0].width_mm, data.sensors[0].height_mm) == (8.6, 8.6)
    assert data.frame_numbers[0] == 1464
    assert data.frame_numbers[-1] == 1564
    assert data.time_s[-1] == pytest.approx(1.331)
    assert data.sampling_rate_hz == pytest.approx(100 / 1.331)
    assert data.start is not None
    assert data.start.strftime("%H:%M:%S") == "08:21:17"
    # first matrix row with a load, as written in the file
    assert data.sensors[0].frames[0, 1, 5] == 107.87


def test_round_trip_and_total_force_matches_xsensor_estimate(tmp_path: Path) -> None:
    src = need(XSENSOR)
    data = read_xsensor(src)
    result = import_xsensor(src, tmp_path / "x.insrec")
    rec = load_recording(tmp_path / "x.insrec")
    assert rec.header["source"] == "import:xsensor"
    assert rec.frames_lost == 0
    assert rec.damage is None
    assert [d.side for d in rec.devices] == ["left", "right"]
    estimates = est_load(src)
    for dev, sensor, facts in zip(rec.devices, data.sensors, result.devices, strict=True):
        layout = SensorLayout.from_json(dev.header["layout"])
        assert dev.n_sensors <= 128
        extra = next(d for d in rec.header["extra"]["import"]["devices"]
                     if d["side"] == dev.side)
        cell_of = np.array(extra["cell_of_sensel"])
        kpa = sensor.frames * MMHG_KPA
        # sensels never loaded are left out; every loaded one is in exactly one cell
        assert np.array_equal(cell_of >= 0, np.any(kpa > 0, axis=0))
        expected = np.stack([kpa[:, cell_of == c].mean(axis=1) for c in range(dev.n_sensors)],
                            axis=1)
        step = facts["scale"]
        assert np.max(np.abs(decoded(dev) - expected)) <= step / 2 + 1e-9
        force = Calibrator(dev.header["calibration"], layout).force(dev.counts)
        total = force.astype(np.float64).sum(axis=1)
        sensel_total = kpa.sum(axis=(1, 2)) * 8.6 * 8.6 / 1000.0
        assert np.max(np.abs(total - sensel_total)) <= (
            step / 2 * layout.area_mm2.sum() / 1000 + 1e-3 * sensel_total.max())
        # XSENSOR's own estimate (average pressure x contact area) within 0.5 % + 0.5 N
        est = np.array(estimates[sensor.name])
        assert np.all(np.abs(total - est) <= 0.005 * est + 0.5)
        np.testing.assert_allclose(dev.device_time_s, data.time_s, atol=1e-3)


def test_side_selects_one_foot(tmp_path: Path) -> None:
    src = need(XSENSOR)
    import_xsensor(src, tmp_path / "r.insrec", side="right")
    rec = load_recording(tmp_path / "r.insrec")
    assert [d.side for d in rec.devices] == ["right"]
    layout = SensorLayout.from_json(rec.devices[0].header["layout"])
    # the right insole's first column is medial: its highest forefoot pressures (first ray)
    # come out on the medial (negative x) side
    peak = decoded(rec.devices[0]).max(axis=0)
    fore = np.isin(np.array(layout.region), ["forefoot_medial", "forefoot_central",
                                             "forefoot_lateral", "toes"])
    assert layout.x_mm[fore][np.argmax(peak[fore])] < 0


def test_example_goes_through_the_pipeline(tmp_path: Path) -> None:
    src = need(XSENSOR)
    import_xsensor(src, tmp_path / "x.insrec")
    s = SessionAnalysis().run(tmp_path / "x.insrec").summary_
    assert s["frames_lost"] == 0
    assert s["gap_s"] == 0
    # 1.3 s of walking: one complete left contact; the right foot's contacts are cut by the
    # start and the end of the export
    assert s["steps"]["left"] == 1
    assert 0.45 < s["contact_time_s"] < 0.75


# --- malformed input -------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _truncated(d: Path) -> Path:
    lines = small_xsensor(d / "ok.csv").read_text().splitlines()
    cut = max(i for i, ln in enumerate(lines) if ln.startswith("SENSELS")) - 20
    return _write(d / "cut.csv", "\n".join(lines[:cut]) + "\n")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _write(d / "e.csv", ""), "empty"),
        (lambda d: _write(d / "h.csv", "Time,Fx,Fy\n1,2,3\n"), "no FRAME blocks"),
        (_truncated, "truncated"),
        (lambda d: small_xsensor(d / "n.csv", cell="abc"), "'abc' is not a number"),
        (lambda d: small_xsensor(d / "u.csv", units="bar-ish"), "unknown pressure unit"),
        (lambda d: small_xsensor(d / "w.csv", width="Sensel Width (furlong),1"),
         "unknown length unit"),
        (lambda d: small_xsensor(d / "s.csv", names=("A", "B")), "cannot tell the foot"),
    ],
    ids=["empty", "wrong-header", "truncated", "non-numeric", "unknown-unit", "unknown-size",
         "unknown-foot"],
)
def test_malformed_files(tmp_path: Path, make: object, message: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    src = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ImportFormatError, match="XSENSOR file") as exc:
        import_xsensor(src, tmp_path / "o.insrec")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert main(["import", "xsensor", str(src), "--out", str(tmp_path / "o.insrec")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.insrec").exists()


def test_small_export_units_and_single_sensor(tmp_path: Path) -> None:
    src = small_xsensor(tmp_path / "k.csv", units="kPa")
    import_xsensor(src, tmp_path / "k.insrec")
    rec = load_recording(tmp_path / "k.insrec")
    data = read_xsensor(src)
    for dev, sensor in zip(rec.devices, data.sensors, strict=True):
        layout = SensorLayout.from_json(dev.header["layout"])
        # 8 of 12 sensels loaded: small enough to keep one cell per sensel
        assert dev.n_sensors == 8
        total = Calibrator(dev.header["calibration"], layout).force(dev.counts).sum(axis=1)
        expected = sensor.frames.sum(axis=(1, 2)) * 8.6 * 8.6 / 1000
        np.testing.assert_allclose(total, expected, atol=0.01)
    one = small_xsensor(tmp_path / "one.csv", names=("ABC",))
    import_xsensor(one, tmp_path / "one.insrec", side="right")
    assert [d.side for d in load_recording(tmp_path / "one.insrec").devices] == ["right"]
    with pytest.raises(ImportFormatError, match="has no left insole"):
        import_xsensor(small_xsensor(tmp_path / "r.csv", names=("X-RF",)),
                       tmp_path / "r.insrec", side="left")


def test_lone_carriage_return_is_a_line_end_not_a_crash(tmp_path: Path) -> None:
    """Found by bench/fuzz_importers.py: a CR inside a line made csv raise its own error."""
    from insole.sources.importers import ImportFormatError
    from insole.sources.importers.xsensor import read_xsensor

    bad = tmp_path / "cr.csv"
    bad.write_bytes(b"File:,x.XSN\rUnits:,kPa\r\nFRAME,1\nDate,2022 Aug 16\r")
    with pytest.raises(ImportFormatError):
        read_xsensor(bad)
    quote = tmp_path / "quote.csv"
    quote.write_bytes(b'File:,x.XSN\nUnits:,"kPa\nFRAME,1\n')
    with pytest.raises(ImportFormatError):
        read_xsensor(quote)
