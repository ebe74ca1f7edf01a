"""Moticon OpenGo text exports: import, layout, events, malformed input.

The two shared exports are read from ``../shared/data/commercial_exports`` (skipped when
absent); malformed inputs are small files written to ``tmp_path``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from insole.cli import main
from insole.core.layouts import SensorLayout
from insole.core.moticon import PRESSURE_STEP_N_CM2, insole_length_mm, moticon_layout
from insole.recordings.container import read_raw_recording
from insole.recordings.loader import load_recording
from insole.session.analysis import SessionAnalysis
from insole.sources.importers import ImportFormatError
from insole.sources.importers.convert import counts_to_values
from insole.sources.importers.moticon import import_moticon, read_moticon

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "commercial_exports"
WALK = DATA / "moticon_opengo_walk_230927_102114.txt"
EVENTS = DATA / "moticon_opengo_walk_events.txt"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"validation data not available: {path}")
    return path


@pytest.mark.parametrize("name", ["walk", "events"])
def test_round_trip_within_one_step(tmp_path: Path, name: str) -> None:
    src = need(WALK if name == "walk" else EVENTS)
    data = read_moticon(src)
    out = tmp_path / "m.insrec"
    result = import_moticon(src, out)
    assert result.sample_rate_hz == pytest.approx(100.0)
    rec = load_recording(out)
    assert rec.header["source"] == "import:moticon"
    assert rec.frames_lost == 0
    assert rec.damage is None
    assert {d.side for d in rec.devices} == {"left", "right"}
    for dev in rec.devices:
        side = data.sides[dev.side]
        cal = dev.header["calibration"]
        assert cal["unit"] == "kPa"
        assert cal["scale"][0] == 2.5
        back = counts_to_values(dev.counts, cal) / 10.0  # kPa -> N/cm²
        assert back.shape == side.pressure_n_cm2.shape
        # within one quantisation step (OpenGo's 0.25 N/cm² grid: in fact exact)
        assert np.max(np.abs(back - side.pressure_n_cm2)) <= PRESSURE_STEP_N_CM2 + 1e-12
        np.testing.assert_allclose(back, side.pressure_n_cm2, atol=1e-9)
        expected_t = side.time_s - side.time_s[0]
        assert np.max(np.abs(dev.device_time_s - expected_t)) <= 1e-3
        assert SensorLayout.from_json(dev.header["layout"]) == moticon_layout(data.size or 5)


def test_walk_export_header_sides_and_vendor_events(tmp_path: Path) -> None:
    data = read_moticon(need(WALK))
    assert data.size == 7
    assert data.serials == {"left": 5968, "right": 9171}
    assert data.start is not None
    assert data.start.year == 2023
    # Rows where one side has no sample: the left insole starts 0.5 s later.
    assert data.sides["left"].time_s[0] == pytest.approx(0.5)
    assert data.sides["right"].time_s[0] == pytest.approx(0.0)
    kinds = [(ev["side"], ev["kind"]) for _, ev in data.events]
    assert kinds.count(("left", "heel_strike")) == 7
    assert kinds.count(("right", "toe_off")) == 7
    import_moticon(WALK, tmp_path / "m.insrec")
    raw = read_raw_recording(tmp_path / "m.insrec")
    events = [e for e in raw.events if e["event"] == "moticon_event"]
    assert len(events) == len(data.events) == 28
    first = min(events, key=lambda e: e["host_time_s"])
    # host time 0 = the first sample in the file (right, t = 0.00 s): left HS at 3.00 s
    assert (first["kind"], first["side"]) == ("heel_strike", "left")
    assert first["host_time_s"] == pytest.approx(3.0)


def test_user_event_columns_keep_their_labels() -> None:
    data = read_moticon(need(EVENTS))
    assert data.size == 3
    assert len(data.events) == 16
    assert {ev["label"] for _, ev in data.events} == {"Event"}
    assert {ev["value"] for _, ev in data.events} == {1.0, 2.0}
    assert "left COP velocity[1]" in data.ignored_columns


@pytest.mark.parametrize(("name", "steps", "cadence", "contact"), [
    ("walk", (15, 19), (85.0, 100.0), (0.70, 0.90)),
    ("events", (6, 10), (95.0, 120.0), (0.60, 0.80)),
])
def test_analyze_finds_plausible_walking_steps(
    tmp_path: Path, name: str, steps: tuple[int, int], cadence: tuple[float, float],
    contact: tuple[float, float],
) -> None:
    src = need(WALK if name == "walk" else EVENTS)
    import_moticon(src, tmp_path / "m.insrec")
    s = SessionAnalysis().run(tmp_path / "m.insrec").summary_
    n = sum(s["steps"].values())
    assert steps[0] <= n <= steps[1]
    assert abs(s["steps"]["left"] - s["steps"]["right"]) <= 1
    assert cadence[0] <= s["cadence_spm"] <= cadence[1]
    assert contact[0] <= s["contact_time_s"] <= contact[1]


@pytest.mark.parametrize("name", ["walk", "events"])
def test_layout_areas_and_positions_reproduce_vendor_force_and_cop(name: str) -> None:
    """Σ pressure · area is the export's total force; the weighted centres its CoP."""
    data = read_moticon(need(WALK if name == "walk" else EVENTS))
    layout = moticon_layout(data.size or 5)
    area_cm2 = layout.area_mm2 / 100.0
    for side in data.sides.values():
        p = side.pressure_n_cm2
        ok = np.all(np.isfinite(p), axis=1) & (side.channels["force"] > 100)
        force = (p[ok] * area_cm2).sum(axis=1)
        rel = np.abs(force - side.channels["force"][ok]) / side.channels["force"][ok]
        assert np.median(rel) < 0.01
        # centre of pressure along the insole, from our positions (y_mm = (X + 0.5) L)
        x = (layout.y_mm / layout.foot_length_mm) - 0.5
        cop = (p[ok] * area_cm2) @ x / force
        assert np.median(np.abs(cop - side.channels["cop_x"][ok])) < 0.005


def test_layout_sizes() -> None:
    small, large = moticon_layout(3), moticon_layout(7)
    assert small.n_sensors == large.n_sensors == 16
    assert small.area_mm2.sum() == pytest.approx(0.70 * large.area_mm2.sum(), rel=1e-3)
    assert insole_length_mm(3) < insole_length_mm(7)
    assert set(large.region[:4]) == {"heel_medial", "heel_lateral"}
    assert set(large.region[13:]) == {"toes"}
    assert np.all(large.y_mm[:4] < large.y_mm[13:].min())
    with pytest.raises(ValueError, match="size"):
        moticon_layout(0)


HEADER = ("# Start time: 27.09.2023 10:21:14.922\n# Size: 7\n# time\t"
          + "\t".join(f"left pressure {i}[N/cm²]" for i in range(1, 17)) + "\n")


def row(t: float, value: str = "1.00") -> str:
    return f"{t:.2f}\t" + "\t".join([value] * 16) + "\n"


@pytest.mark.parametrize(("text", "message"), [
    ("", "no '#' header lines"),
    ("time\tleft pressure 1\n0.00\t1\n", "no '#' header lines"),
    ("# Size: 7\n# foo\tbar\n1\t2\n", "does not start with the column 'time'"),
    (HEADER, "no data rows"),
    # a row may end where its last cells are empty (no sample of a side): padded, valid ...
    (HEADER + row(0.0) + "0.01\n" + row(0.02), None),
    # ... but not inside a side's cells: a damaged line, not invalid samples
    (HEADER + row(0.0) + "0.01\t1.0\t2.0\n" + row(0.02),
     "line 5 has 3 fields but the header has 17: the file is damaged at line 5"),
    # a last line cut off (no line end) is a truncated file, even where the cut is between sides
    (HEADER + row(0.0) + row(0.01) + "0.02", "line 6 has 1 field but the header has 17: the "
     "file is truncated"),
    (HEADER + row(0.0) + row(0.01) + "0.02" + "\t1" * 20 + "\n", "has 21 fields"),
    (HEADER + row(0.0) + row(0.01, "abc"), "'abc' is not a number"),
    (HEADER + row(0.0) + row(0.01) + row(0.01), "time does not increase"),
    (HEADER.replace("N/cm²", "kPa") + row(0.0), "only N/cm² is read"),
    (HEADER.replace("left pressure 16", "left pressure 17") + row(0.0), "an OpenGo insole has 16"),
    (HEADER + row(0.0) + row(0.01, "-1.00"), "negative left pressure"),
    (HEADER + row(0.0), "fewer than two rows"),
])
def test_malformed_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str | None
) -> None:
    src = tmp_path / "bad.txt"
    src.write_text(text, encoding="utf-8")
    rc = main(["import", "moticon", str(src), "--out", str(tmp_path / "o.insrec")])
    err = capsys.readouterr().err
    if message is None:
        assert rc == 0
        return
    assert rc == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert message in err
    assert not (tmp_path / "o.insrec").exists()


def test_missing_file_and_binary(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="not found"):
        read_moticon(tmp_path / "nope.txt")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01" * 100)
    with pytest.raises(ImportFormatError, match="not a text file"):
        read_moticon(tmp_path / "b.txt")


def test_cli_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_text(HEADER + row(0.0) + row(0.01, "x"), encoding="utf-8")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("insole")), "import", "moticon", str(src), "--out",
         str(tmp_path / "o.insrec")], capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_cli_imports_with_size_and_analyze_info_report_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --size is the layout's size for an export without a 'Size' line (an export that names
    # its size is imported with it: tests/importers/test_import_inputs.py)
    src = tmp_path / "walk.txt"
    src.write_text(need(WALK).read_text(encoding="utf-8").replace("# Size: 7\n", ""),
                   encoding="utf-8")
    out = tmp_path / "m.insrec"
    assert main(["import", "moticon", str(src), "--out", str(out), "--size", "6"]) == 0
    assert "moticon, 17.46 s at 100 Hz" in capsys.readouterr().out
    assert load_recording(out).header["extra"]["import"]["size"] == 6
    for cmd in (["info", str(out)], ["analyze", str(out)]):
        assert main(cmd) == 0
    assert "steps" in capsys.readouterr().out
