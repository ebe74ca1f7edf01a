"""The live window with real widgets offscreen: content, not just that a window opened."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from insole.live.runtime import LiveRuntime  # noqa: E402
from insole.recordings.container import read_raw_recording  # noqa: E402
from insole.session.analysis import SessionAnalysis  # noqa: E402
from insole.sources.readers import Chunk  # noqa: E402

REC = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"


@pytest.fixture(scope="module")
def offline() -> SessionAnalysis:
    return SessionAnalysis().run(REC)


def _chunks(path: Path) -> list[Chunk]:
    raw = read_raw_recording(path)
    items = []
    for sid, s in raw.streams.items():
        a = 0
        for t, end in zip(s.chunk_time_s, s.chunk_end, strict=True):
            items.append(Chunk(sid, s.data[a:int(end)], float(t)))
            a = int(end)
    return sorted(items, key=lambda c: c.host_time_s)


def _window(qtbot, rt: LiveRuntime):
    from insole.live.window import LiveWindow

    w = LiveWindow(rt, fps=30)
    w.timer.stop()  # the tests redraw explicitly
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.mark.parametrize("side", ["left", "right"])
def test_heel_is_hottest_just_after_a_rearfoot_heel_strike(qtbot, offline, side) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    hs = [r["heel_strike_s"] for r in offline.steps_ if r["side"] == side][10]
    assert offline.steps_[10]["strike_pattern"] == "rearfoot"
    for chunk in _chunks(REC):
        rt.process([chunk])
        view = rt.snapshot().sides.get(side)
        if view is not None and view.time_s[-1] >= hs + 0.03:
            break
    w.refresh()
    fmap = w.maps[side]
    values = fmap.values
    row, _ = np.unravel_index(np.nanargmax(values), values.shape)
    length = view.foot_length_mm
    y_mm = -2.5 + (row + 0.5) * 2.5  # the grid starts one 2.5 mm pixel behind the heel
    assert y_mm < 0.3 * length  # hottest pixel in the heel third
    heel = values[: int(0.25 * length / 2.5)]
    fore = values[int(0.55 * length / 2.5):]
    assert np.nanmax(heel) > 1.5 * np.nanmax(fore)
    assert np.nanmax(heel) > 100.0  # kPa: a loaded heel, not noise
    # and the image really shows it: heel pixels bright, forefoot dark
    rgba = fmap.rgba
    heel_rows, fore_rows = slice(0, int(0.25 * length / 2.5)), slice(int(0.55 * length / 2.5), None)
    assert rgba[heel_rows, :, :3].max() > rgba[fore_rows, :, :3].max()


def test_markers_and_counters_match_the_pipeline(qtbot, offline) -> None:
    rt = LiveRuntime(f"file:{REC}?speed=max").start()
    assert rt.wait_ended(30)
    w = _window(qtbot, rt)
    w.refresh()
    snap = w._snap
    rt.stop()
    for side in ("left", "right"):
        trace = w.traces[side]
        x0 = snap.now_s - rt.trace_s
        want_hs = [s.heel_strike_s for s in rt.steps if s.side == side and s.heel_strike_s >= x0]
        want_to = [s.toe_off_s for s in rt.steps if s.side == side and s.toe_off_s >= x0]
        assert len(want_hs) >= 5
        xs, _ = trace.hs.getData()  # x axis: seconds before the newest sample
        np.testing.assert_allclose(xs + snap.now_s, np.repeat(want_hs, 2))
        xs, _ = trace.to.getData()
        np.testing.assert_allclose(xs + snap.now_s, np.repeat(want_to, 2))
        # the curve is the pipeline's total force of the last 5 s
        tx, ty = trace.total.getData()
        assert tx[-1] == pytest.approx(0.0, abs=0.01)
        assert tx[-1] - tx[0] == pytest.approx(rt.trace_s, abs=0.01)
        view = snap.sides[side]
        np.testing.assert_array_equal(ty, view.total_n)
    text = w.metrics.text()
    assert f"<b>{len(offline.steps_)}</b>" in text  # steps total as SessionAnalysis counts
    n_left = sum(r["side"] == "left" for r in offline.steps_)
    assert f"<b>{n_left}</b>" in text
    assert "ended" in w.status.text()
    assert "frames lost 0" in w.status.text()


def test_banner_shows_data_loss_and_pause_display_stops_drawing(qtbot) -> None:
    rt = LiveRuntime("sim:?seed=5&loss=0.08&duration=10&speed=max").start()
    assert rt.wait_ended(30)
    w = _window(qtbot, rt)
    w.refresh()
    rt.stop()
    assert "Data loss" in w.banner.text()
    n = w.redraws
    w.pause_display.click()
    w.refresh()
    assert w.redraws == n
    w.pause_display.click()
    w.refresh()
    assert w.redraws == n + 1


def test_replay_controls_and_no_record_button(qtbot) -> None:
    # Issue 12: a replay offers no "Start recording" (recording a live source:
    # tests/live/test_window_view.py::test_record_button_records_a_live_source).
    rt = LiveRuntime(f"file:{REC}?speed=2").start()
    w = _window(qtbot, rt)
    assert w.replay_controls.isVisible()
    assert not w.record_button.isVisible()
    w.speed.setCurrentText("max")
    assert rt.wait_ended(10)
    rt.stop()


def test_screenshot_is_a_png_of_the_window(qtbot, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    rt = LiveRuntime(f"file:{REC}?speed=max").start()
    rt.wait_ended(30)
    w = _window(qtbot, rt)
    out = tmp_path / "shot.png"
    w.save_screenshot(out)
    rt.stop()
    img = QImage(str(out))
    assert not img.isNull()
    dpr = w.devicePixelRatioF()
    assert (img.width(), img.height()) == (round(w.width() * dpr), round(w.height() * dpr))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "insole.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_cli_screenshot_offscreen(tmp_path: Path) -> None:
    out = tmp_path / "cli.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = _cli("live", "sim:?seed=2", "--exit-after", "2", "--screenshot", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (1400, 820)
    assert "steps" in proc.stdout  # the session summary follows


def test_offscreen_replay_screenshot_ends_with_the_recording(tmp_path: Path) -> None:
    # Without --exit-after the window waited for a close nobody could make: it hung for ever.
    out = tmp_path / "replay.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = _cli("replay", str(REC), "--speed", "max", "--screenshot", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    assert QImage(str(out)).width() == 1400
    assert "steps" in proc.stdout  # the session summary follows


def test_replay_without_display_keeps_terminal_output() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = _cli("replay", str(REC), "--speed", "max", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" steps ") >= 20  # one status line per second, as before
    proc = _cli("live", f"file:{REC}?speed=max", "--no-gui", env=env)
    assert proc.returncode == 0, proc.stderr
    blocks = [ln for ln in proc.stdout.splitlines() if " s  steps " in ln]
    assert "steps 56" in blocks[-1]  # the same metrics as the window (56 = SessionAnalysis)
    assert "frames lost 0" in proc.stdout


def _free_display() -> int:
    for n in range(99, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", 6000 + n)) != 0:
                    return n
    raise RuntimeError("no free X display number")


def test_replay_window_under_xvfb(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb xauth)")
    n = _free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if xvfb.poll() is not None or time.monotonic() > deadline:
                pytest.skip("Xvfb did not start")
            time.sleep(0.05)
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM",
                                                              "WAYLAND_DISPLAY")}
        env["DISPLAY"] = f":{n}"
        out = tmp_path / "x.png"
        proc = _cli("replay", str(REC), "--speed", "4", "--exit-after", "3", "--screenshot",
                    str(out), env=env)
        if proc.returncode != 0 and 'platform plugin "xcb"' in proc.stderr:
            pytest.skip("Qt's xcb platform cannot load (apt-get install libxcb-icccm4 "
                        "libxcb-keysyms1)")
        assert proc.returncode == 0, proc.stderr
        from PySide6.QtGui import QImage

        img = QImage(str(out))
        assert (img.width(), img.height()) == (1400, 820)
        # real pixels were drawn: the image is not one flat colour
        assert len({img.pixel(x, y) for x in range(0, 1400, 50) for y in range(0, 820, 50)}) > 10
    finally:
        xvfb.terminate()
        xvfb.wait(10)
