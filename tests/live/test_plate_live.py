"""One force plate under both feet in the live faces: a plate, its cadence, no heel, no feet.

A plate's one stream is stored as the left device and its one sensor covers the whole foot
(``insole import table --side both``; docs/importers.md). Its consecutive contacts are steps
of alternating feet, one step apart, not a stride: the cadence is 60 / step time, as
``insole analyze`` computes it. It has no heel region: no heel peak, no heel load, no heel
trend. The recording is `helpers_plate.plate_recording` (0.28 s contacts every 0.38 s, 12 s).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from helpers_live import live_window, recorded_chunks  # tests/ is on the path (tests/conftest.py)
from helpers_plate import plate_recording

from insole.cli import main
from insole.core.alerts import AlertMonitor
from insole.live.loadwatch import RecentMax, SessionWatch
from insole.live.runtime import LiveRuntime
from insole.session.analysis import SessionAnalysis

REC_N = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"
#: The plate's contacts: one every 0.38 s, so 60 / 0.38 = 157.9 steps per minute.
CADENCE = 60.0 / 0.38

PLATE_STATUS = re.compile(
    r"^ +(\d+\.\d) s  steps (\d+) \(force plate, both feet\)  cadence (\d+|–)(?: /min)?  "
    r"contact (\d+ ms|–)  peak force (\S+ (?:N|BW)|–)  frames lost 0 · unreadable 0$"
)


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plate_recording(tmp_path_factory.mktemp("plate"))


@pytest.fixture(scope="module")
def summary(plate: Path) -> dict[str, Any]:
    return SessionAnalysis().run(plate).summary_


def _status_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[str], str]:
    assert main(argv) == 0
    out = capsys.readouterr().out
    view = out.split("session summary")[0]
    return [ln for ln in view.splitlines() if ln.strip()], out


@pytest.mark.parametrize("command", ["replay", "live"])
def test_terminal_says_plate_cadence_of_steps_and_no_heel(
    command: str, plate: Path, summary: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = (["replay", str(plate), "--speed", "max", "--no-gui"] if command == "replay"
            else ["live", f"file:{plate}?speed=max", "--no-gui"])
    lines, out = _status_lines(argv, capsys)
    assert len(lines) >= (10 if command == "replay" else 1), out  # live: one a wall-clock second
    for ln in lines:  # every status line is a plate's: no side letters, no heel
        assert PLATE_STATUS.match(ln), ln
        assert "heel" not in ln, ln
        assert " L " not in ln, ln
        assert " R " not in ln, ln
    last = PLATE_STATUS.match(lines[-1])
    assert last is not None
    assert int(last.group(2)) == summary["step_count"]
    # the cadence of the steps (not twice it: consecutive contacts are one step apart) ...
    cadences = [int(m.group(3)) for ln in lines if (m := PLATE_STATUS.match(ln))
                and m.group(3) != "–"]
    assert cadences
    assert all(abs(c - CADENCE) <= 2 for c in cadences), cadences
    # ... agreeing with the session summary that follows
    assert summary["cadence_spm"] == pytest.approx(CADENCE, abs=1)
    assert f"cadence          {round(summary['cadence_spm'])} steps per minute" in out
    assert last.group(5).endswith(" N")
    peak = float(last.group(5).removesuffix(" N"))
    assert 1100 <= peak <= 1200  # the plate's 1.2 kN contacts
    # with a body mass in the history: the peak force in body weights, still no heel
    db = tmp_path / "h.sqlite3"
    assert main(["profile", "--mass-kg", "70", "--db", str(db)]) == 0
    capsys.readouterr()
    lines, _ = _status_lines([*argv, "--db", str(db)], capsys)
    status = [ln for ln in lines if not ln.startswith("history:")]
    assert all(PLATE_STATUS.match(ln) for ln in status), status
    assert status[-1].split("peak force ")[1].split("  ")[0] == f"{peak / (70 * 9.80665):.2f} BW"


def test_insole_status_lines_keep_their_sides_and_heel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines, _ = _status_lines(["replay", str(REC_N), "--speed", "max", "--no-gui"], capsys)
    assert re.match(r"^ +20\.0 s  steps 56 · L 28 · R 28  cadence 169 /min  contact L \d+ · R "
                    r"\d+ ms  heel peak L \d+ · R \d+ N  battery", lines[-1]), lines[-1]


def test_runtime_snapshot_of_a_plate(plate: Path, summary: dict[str, Any]) -> None:
    rt = LiveRuntime(f"file:{plate}")
    rt.process(recorded_chunks(plate), finish=True)
    snap = rt.snapshot()
    assert snap.plate
    assert rt.plate
    assert rt.monitor.plate  # no heel drift or asymmetry alerts of the plate's force
    assert list(snap.sides) == ["left"]  # the plate's one stream
    view = snap.sides["left"]
    assert snap.steps_total == view.steps == summary["step_count"]
    assert snap.cadence_spm == pytest.approx(CADENCE, abs=2)
    assert math.isnan(view.heel_peak_n)
    assert math.isnan(view.heel_impulse_ns)
    assert math.isnan(view.heel_trend_pct)
    assert all(math.isnan(v) for v in view.heel_n)
    assert 1100 <= view.peak_force_n <= 1200
    assert view.total_n[~(view.total_n != view.total_n)].max() > 1100


def test_heel_cues_on_a_plate_are_refused_in_one_line(
    plate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # They cued the plate's whole force as a "LEFT HEEL" against heel targets.
    capsys.readouterr()
    assert main(["live", f"file:{plate}", "--no-gui", "--feedback", "heel",
                 "--exit-after", "1"]) == 2
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        "insole live: error: a force plate under both feet has no heel to cue: use --feedback "
        "strike (a cue on every contact), or a recording of insoles"]
    assert main(["live", f"file:{plate}", "--no-gui", "--feedback", "strike",
                 "--exit-after", "1"]) == 0


def test_runtime_of_insoles_is_no_plate() -> None:
    rt = LiveRuntime(f"file:{REC_N}")
    rt.process(recorded_chunks(REC_N), finish=True)
    snap = rt.snapshot()
    assert not snap.plate
    assert not rt.monitor.plate
    assert snap.cadence_spm == pytest.approx(168, abs=3)
    assert snap.sides["left"].heel_impulse_ns > 0


def test_plate_run_leaves_heel_load_out_of_too_much_too_soon() -> None:
    recent = RecentMax(reference={"step_count": 100.0, "duration_s": 60.0,
                                  "heel_impulse_ns": 500.0}, armed=True)
    plate = SessionWatch(AlertMonitor(), recent, plate=True)
    assert plate.load is not None
    assert set(plate.load.reference) == {"step_count", "duration_s"}
    assert set(plate.figures()["ratios"]) == {"step_count", "duration_s"}
    insoles = SessionWatch(AlertMonitor(), recent)
    assert insoles.load is not None
    assert "heel_impulse_ns" in insoles.load.reference


# -- the window -----------------------------------------------------------------------------------


def _scene_texts(w: Any) -> list[str]:
    """Every text item drawn in the plots' scene (titles, axes, legends, labels)."""
    from pyqtgraph.Qt import QtWidgets

    out = []
    for item in w.graphics.scene().items():
        if isinstance(item, QtWidgets.QGraphicsTextItem) and item.isVisible():
            out.append(item.toPlainText())
    return out


def test_window_of_a_plate_is_a_plate_without_feet_or_heel(qt, plate: Path,
                                                           tmp_path: Path) -> None:
    w = live_window(qt, plate, 10.0)
    snap = w._snap
    assert w.plate
    assert snap.plate
    assert w.maps == {}  # no feet: no pressure maps, no medial / lateral labels
    assert list(w.traces) == ["left"]  # one force plot: the plate's
    trace = w.traces["left"]
    assert "force plate under both feet" in str(trace.plot.titleLabel.text)
    assert trace.plot.getAxis("left").label.toPlainText().strip().startswith("plate force")
    assert trace.heel not in trace.plot.items  # no heel curve
    texts = _scene_texts(w)
    shown = re.sub(r"<[^>]*>", " ", w.metrics.text())  # the panel's text, not its HTML
    words = " ".join([*texts, shown, w.banner.text()])
    for word in ("heel peak", "heel load", "heel strike", "heel trend", "heel:", "left",
                 "right", "LEFT", "RIGHT", "medial", "lateral", "balance"):
        assert word not in words, (word, words)
    assert "No alerts — data quality within this run's limits" == w.banner.text()
    assert "contact start" in texts
    assert "contact end" in texts
    metrics = w.metrics.text()
    assert "force plate (both feet)" in metrics
    cadence = re.search(r"<td>cadence</td>.*?<b>(\d+) /min</b>", metrics)
    assert cadence is not None
    assert abs(int(cadence.group(1)) - CADENCE) <= 2
    assert re.search(r"<td>peak force \(last\)</td>.*?<b>1,\d{3} N</b>", metrics), metrics
    # the force is drawn; the contact markers sit at the pipeline's contacts
    assert len(trace.marker_hs_s) >= 10
    image = w.save_screenshot(tmp_path / "plate.png")
    assert image.width() > 0
    assert (tmp_path / "plate.png").stat().st_size > 0


def test_window_of_insoles_keeps_both_feet(qt) -> None:
    w = live_window(qt, REC_N, 8.0)
    assert not w.plate
    assert set(w.maps) == {"left", "right"}
    assert set(w.traces) == {"left", "right"}
    texts = _scene_texts(w)
    assert {"medial", "lateral", "heel", "heel strike", "toe-off"} <= set(texts)
    assert "heel load so far" in w.metrics.text()
