"""The live window and the terminal view of recordings whose readings are counts, not newtons.

Uncalibrated sensors (gaitndd footswitches, stAPPone insoles) give relative readings without a
true zero: the session layer words them in ``counts`` and never in N, kPa or body weights
(tests/session/test_report_units.py). The live faces must say the same. The recordings are
built here with the project's importers: a two-foot footswitch table in ADC counts around a
mid-scale offset (negative in swing, as PhysioNet gaitndd stores it; ``import table --unit
counts``) and a stAPPone CSV export of 12 raw channels on a resting level (``import stappone``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers_importers import write_stappone  # tests/ is on the path (tests/conftest.py)
from helpers_live import live_window, recorded_chunks

import insole
from insole.cli import main
from insole.live.runtime import LiveRuntime
from insole.live.terminal import StatusState, status_line
from insole.session.plain import Profile
from insole.sources.readers import Chunk

REC_N = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"

FS = 200.0
STRIDE_S, CONTACT_S = 1.1, 0.65
#: Footswitch levels [counts]: swing (negative, as gaitndd's digital values) and rise in contact.
SWING = {"left": -1700.0, "right": -1950.0}
RISE = {"left": 2600.0, "right": 2500.0}
FIRST_HS = {"left": 0.3, "right": 0.85}
#: stAPPone-like channels [counts]: each sensor's resting level and its rise in contact.
REST = 300.0 + 20.0 * np.arange(12)
LIFT = 100.0 + 40.0 * np.arange(12)
STAPPONE_FS = 62.5


def _shape(x: np.ndarray) -> np.ndarray:
    """A contact's load over its duration (0..1): a smooth hump of height 1."""
    return np.sin(np.pi * x) ** 1.5


@pytest.fixture(scope="module")
def footswitch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two footswitches in counts, negative in swing, imported with ``insole import table``."""
    folder = tmp_path_factory.mktemp("fsw")
    t = np.arange(0.0, 40.0, 1.0 / FS)
    cols = {}
    for side in ("left", "right"):
        f = np.full(len(t), SWING[side])
        for hs in np.arange(FIRST_HS[side], 39.0, STRIDE_S):
            a, n = int(round(hs * FS)), int(CONTACT_S * FS)
            f[a : a + n] += RISE[side] * _shape(np.linspace(0.0, 1.0, n))
        cols[side] = f
    src = folder / "fsw.csv"
    src.write_text("time,L,R\n" + "".join(
        f"{a:.4f},{b:.1f},{c:.1f}\n" for a, b, c in zip(t, cols["left"], cols["right"],
                                                         strict=True)))
    out = folder / "fsw.insrec"
    insole.import_file("table", src, out, columns=["L", "R"], time_column="time",
                       unit="counts")
    return out


@pytest.fixture(scope="module")
def stappone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A left stAPPone sole, 12 raw channels resting at 300-520 counts, imported as exported."""
    folder = tmp_path_factory.mktemp("stappone")
    n = int(40.0 * STAPPONE_FS)
    load = np.zeros(n)
    for hs in np.arange(0.5, n / STAPPONE_FS - 1.0, STRIDE_S):
        a, m = int(hs * STAPPONE_FS), int(CONTACT_S * STAPPONE_FS)
        load[a : a + m] = _shape(np.linspace(0.0, 1.0, m))
    press = np.round(REST[None, :] + load[:, None] * LIFT[None, :]).astype(int)
    rows: list[list[object]] = [[1, 1_768_494_979_568 + 16 * i, *([0] * 9), *p.tolist(), 0]
                                for i, p in enumerate(press)]
    src = write_stappone(folder / "st.csv", rows)
    out = folder / "st.insrec"
    insole.import_file("stappone", src, out, sides="left")
    return out


def _chunks(rec: Path) -> list[Chunk]:
    """The recording's chunks in time order, as a replay hands them out (recorded time)."""
    return recorded_chunks(rec)


def _axis_title(w: Any, side: str) -> str:
    """The force axis title as drawn (pyqtgraph's label item, units and SI prefix included)."""
    return str(w.traces[side].plot.getAxis("left").label.toPlainText()).strip()


def _texts(w: Any) -> list[str]:
    """Every label of the window that can carry a unit: axes, titles, colour bar, panels."""
    texts = [w.metrics.text(), w.status.text(), w.banner.text(),
             str(w.colorbar.getAxis("left").label.toPlainText())]
    for fmap in w.maps.values():
        texts.append(str(fmap.plot.titleLabel.text))
    for trace in w.traces.values():
        texts += [str(trace.plot.titleLabel.text),
                  str(trace.plot.getAxis("left").label.toPlainText()),
                  str(trace.plot.getAxis("bottom").label.toPlainText())]
    return texts


def _metric(w: Any, name: str) -> list[str]:
    """The values of one row of the metrics panel."""
    row = re.search(rf"<td>{re.escape(name)}</td>(.*?)</tr>", w.metrics.text())
    assert row is not None, w.metrics.text()
    return re.findall(r"<b>(.*?)</b>", row.group(1))


NEWTON_UNIT = re.compile(r"\d N\b|\bk?N\)|N·s|N/s|\bBW\b|kPa")


# -- the terminal ---------------------------------------------------------------------------------


STATUS = re.compile(r"^ +\d+\.\d s  steps \d+ · L \d+ · R \d+  cadence ")


def _status_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if STATUS.match(ln)]
    assert lines, out
    return lines


@pytest.mark.parametrize("command", ["replay", "live"])
def test_terminal_status_lines_of_a_counts_recording_say_counts(
    command: str, footswitch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = (["replay", str(footswitch), "--speed", "max", "--no-gui"] if command == "replay"
            else ["live", f"file:{footswitch}?speed=max", "--no-gui"])
    lines = _status_lines(argv, capsys)
    heel = [ln.split("heel peak ")[1].split("  ")[0] for ln in lines]
    assert heel[-1] == "L 2600 · R 2500 counts"
    assert all(h.endswith(" counts") for h in heel), heel
    # with a body mass in the history: still counts (a count is no body weight) ...
    db = tmp_path / "history.sqlite3"
    assert main(["profile", "--mass-kg", "70", "--db", str(db)]) == 0
    capsys.readouterr()
    heel = [ln.split("heel peak ")[1].split("  ")[0]
            for ln in _status_lines([*argv, "--db", str(db)], capsys)]
    assert heel[-1] == "L 2600 · R 2500 counts"
    assert not any("BW" in h for h in heel), heel
    # ... while a recording in newtons is shown in body weights
    n_argv = (["replay", str(REC_N), "--speed", "max", "--no-gui"] if command == "replay"
              else ["live", f"file:{REC_N}?speed=max", "--no-gui"])
    assert _status_lines([*n_argv, "--db", str(db)], capsys)[-1].split("heel peak ")[1].split(
        "  ")[0].endswith(" BW")


def test_status_line_says_each_insoles_unit() -> None:
    s = StatusState(20.0, {"left": 9, "right": 9}, 109.0, {"left": 612.0, "right": 612.0},
                    {"left": 2600.0, "right": 2500.0},
                    force_unit={"left": "counts", "right": "counts"})
    assert "heel peak L 2600 · R 2500 counts  frames lost" in status_line(s)
    assert "heel peak L 2600 · R 2500 counts  frames lost" in status_line(
        s, profile=Profile(70.0))
    mixed = StatusState(20.0, {"left": 9, "right": 9}, 109.0, {}, {"left": 2600.0,
                        "right": 951.0}, force_unit={"left": "counts", "right": "N"})
    assert "heel peak L 2600 counts · R 951 N  frames lost" in status_line(mixed)
    newtons = StatusState(20.0, {"left": 9}, 109.0, {}, {"left": 951.0})
    assert "heel peak L 951 N  frames lost" in status_line(newtons)
    assert "heel peak L 1.39 BW  frames lost" in status_line(newtons, profile=Profile(70.0))


# -- the window -----------------------------------------------------------------------------------


def test_window_on_footswitch_counts_labels_everything_in_counts(qt, footswitch) -> None:
    # 0.3 s into a left contact; the right foot is in swing
    t_s = FIRST_HS["left"] + 18 * STRIDE_S + 0.3
    w = live_window(qt, footswitch, t_s)
    snap = w._snap
    for side in ("left", "right"):
        assert snap.sides[side].unit == "counts"
        assert _axis_title(w, side) == f"{side} force [counts (relative)]"
        # no SI prefix: pyqtgraph would say "kcounts" and divide the ticks by 1000
        assert w.traces[side].plot.getAxis("left").autoSIPrefixScale == 1.0
        # no kPa from counts: the runtime hands out no pressure
        assert np.isnan(snap.sides[side].pressure_kpa).all()
    for text in _texts(w):
        assert NEWTON_UNIT.search(text) is None, text
    assert str(w.colorbar.getAxis("left").label.toPlainText()).strip() == (
        "reading above swing [counts (relative)] (grey: no load)")
    assert [str(m.plot.titleLabel.text) for m in w.maps.values()] == [
        "<b>LEFT</b> sensor readings", "<b>RIGHT</b> sensor readings"]
    # the loads as the session summary words them (insole.session.plain.fmt_value)
    assert _metric(w, "heel peak (last)") == ["2,600 counts", "2,500 counts"]
    left_load, right_load = _metric(w, "heel load so far")
    assert left_load.endswith(" counts·s")
    assert right_load.endswith(" counts·s")
    assert "Relative sensor readings (counts), not newtons" in w.metrics.text()


def test_window_on_counts_stays_in_counts_with_a_body_mass_in_the_history(qt, footswitch,
                                                                         ) -> None:
    """A profile turns newtons into body weights (as the status line), never counts."""
    from insole.live.loadwatch import RecentMax
    from insole.live.window import LiveWindow

    rt = LiveRuntime(f"file:{footswitch}", recent=RecentMax(profile=Profile(72.0)))
    w = LiveWindow(rt, fps=30)
    w.timer.stop()
    qt.addWidget(w)
    rt.process([c for c in _chunks(footswitch) if c.host_time_s <= 20.0])
    w.refresh()
    assert w.profile == Profile(72.0)
    assert all(v.endswith(" counts") for v in _metric(w, "heel peak (last)"))
    assert all(v.endswith(" counts·s") for v in _metric(w, "heel load so far"))
    for text in _texts(w):
        assert NEWTON_UNIT.search(text) is None, text


def test_footswitch_traces_span_the_negative_swing_and_the_maps_show_counts_above_it(
    qt, footswitch
) -> None:
    t_s = FIRST_HS["left"] + 18 * STRIDE_S + 0.3
    w = live_window(qt, footswitch, t_s)
    snap = w._snap
    for side in ("left", "right"):
        y0, y1 = w.traces[side].plot.viewRange()[1]
        # every sample of the last 5 s is on the plot: swing (about -1,700) and peaks
        view = snap.sides[side]
        assert y0 < SWING[side] < SWING[side] + RISE[side] < y1
        assert y0 <= np.nanmin(view.total_n)
        assert np.nanmax(view.total_n) <= y1
        # the event markers run over the whole height, not from a zero that is off the plot
        _, ys = w.traces[side].hs.getData()
        assert len(ys)
        assert set(np.round(ys, 6)) == {round(y0, 6), round(y1, 6)}
    # left: a footswitch in stance, shown as its reading above the swing level, in counts
    left = snap.sides["left"]
    expected = RISE["left"] * _shape(np.array([0.3 / CONTACT_S]))[0]
    assert left.map_values[0] == pytest.approx(left.total_n[-1] - SWING["left"], abs=1.0)
    assert left.map_values[0] == pytest.approx(expected, rel=0.03)
    assert not w.maps["left"].unloaded
    # right: in swing, so at its swing baseline: an unloaded insole
    assert snap.sides["right"].map_values[0] == pytest.approx(0.0, abs=1.0)
    assert w.maps["right"].unloaded
    assert w.maps["right"].no_load.isVisible()
    # the colour scale: counts, from 0 to a round value just above the highest reading so far
    lo, hi = w.colorbar.levels()
    assert lo == 0.0
    assert max(RISE.values()) <= hi <= 1.5 * max(RISE.values())
    assert np.nanmax(w.maps["left"].values) == pytest.approx(left.map_values[0], rel=1e-3)


def test_stappone_window_counts_each_sensor_above_its_own_rest(qt, stappone) -> None:
    """A one-foot stAPPone recording: 12 sensors on different resting levels, in counts."""
    t_s = 0.5 + 20 * STRIDE_S + CONTACT_S / 2  # mid-stance
    w = live_window(qt, stappone, t_s)
    snap = w._snap
    assert list(snap.sides) == ["left"]
    view = snap.sides["left"]
    assert view.unit == "counts"
    assert view.map_unit == "counts"
    # each sensor's rise over its own resting level: not the raw reading, not a pressure
    frame = np.round(REST + _shape(np.array([0.5]))[0] * LIFT)
    np.testing.assert_allclose(view.map_values, frame - REST, atol=LIFT.max() * 0.05)
    assert np.isnan(view.pressure_kpa).all()
    # the empty right plot says the recording's unit too
    assert _axis_title(w, "left") == "left force [counts (relative)]"
    assert _axis_title(w, "right") == "right force [counts (relative)]"
    for text in _texts(w):
        assert NEWTON_UNIT.search(text) is None, text
    # total (12 resting sensors, about 4,900 counts) and heel both stay on the plot
    y0, y1 = w.traces["left"].plot.viewRange()[1]
    both = np.concatenate((view.total_n, view.heel_n))
    assert y0 <= np.nanmin(both)
    assert np.nanmax(both) <= y1


def test_window_keeps_newtons_and_kpa_for_a_calibrated_recording(qt, footswitch) -> None:
    """The same window on newtons and on counts: each in its own unit."""
    counts = live_window(qt, footswitch, 20.0)
    newtons = live_window(qt, REC_N, 8.6)
    assert re.fullmatch(r"left force \(k?N\)", _axis_title(newtons, "left"))
    assert str(newtons.colorbar.getAxis("left").label.toPlainText()).strip() == (
        "pressure [kPa] (grey: no load)")
    assert newtons.colorbar.levels() == (0.0, 400.0)
    assert str(newtons.maps["left"].plot.titleLabel.text) == "<b>LEFT</b> pressure"
    assert all(v.endswith(" N") for v in _metric(newtons, "heel peak (last)"))
    assert all(v.endswith(" N·s") for v in _metric(newtons, "heel load so far"))
    assert "Insole forces;" in newtons.metrics.text()
    assert newtons.traces["left"].plot.viewRange()[1][0] == 0.0  # newtons: zero at the bottom
    assert _axis_title(counts, "left") == "left force [counts (relative)]"
    assert "kPa" not in str(counts.colorbar.getAxis("left").label.toPlainText())
