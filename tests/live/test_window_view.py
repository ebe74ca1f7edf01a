"""Live window (issue 12 item 4): replay position, source status, swing, labels, flash, cost."""

from __future__ import annotations

import dataclasses
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from helpers_live import recorded_chunks  # noqa: E402  (tests/ is on the path)

from insole.live.runtime import LiveRuntime, ReplayReader  # noqa: E402
from insole.recordings.container import read_raw_recording  # noqa: E402
from insole.session.analysis import SessionAnalysis  # noqa: E402
from insole.sources.readers import Chunk  # noqa: E402

REC = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"


@pytest.fixture(scope="module")
def offline() -> SessionAnalysis:
    return SessionAnalysis().run(REC)


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    """The recording's chunks in time order, as the replay hands them out (recorded time)."""
    return recorded_chunks(REC)


def _window(qtbot, rt: LiveRuntime, **kwargs: Any):
    from insole.live.window import LiveWindow

    w = LiveWindow(rt, fps=30, **kwargs)
    w.timer.stop()  # the tests redraw explicitly
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _feed_until(rt: LiveRuntime, chunks: list[Chunk], t_s: float) -> None:
    """Process the chunks recorded before ``t_s`` (the runtime is not started)."""
    rt.process([c for c in chunks if c.host_time_s <= t_s])


# -- replay position ---------------------------------------------------------------------------


def test_position_follows_the_pipeline_not_the_reader(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed_until(rt, chunks, 5.0)
    reader = rt.reader
    assert isinstance(reader, ReplayReader)
    reader.position_s = reader.duration_s  # the reader has read ahead to the end
    w.refresh()
    snap = w._snap
    assert snap.replay_position_s == pytest.approx(5.0, abs=0.1)
    assert w.position.text().split("/")[0].strip() == f"{snap.replay_position_s:.1f}"
    assert w.seek.value() == pytest.approx(1000 * 5.0 / snap.replay_duration_s, abs=6)
    assert "replay 5.0 / 20.0 s" in w.status.text() or "replay 4.9 / 20.0 s" in w.status.text()


def test_position_reaches_the_end_when_the_replay_ended(qtbot) -> None:
    rt = LiveRuntime(f"file:{REC}?speed=max").start()
    assert rt.wait_ended(30)
    w = _window(qtbot, rt)
    w.refresh()
    rt.stop()
    snap = w._snap
    assert snap.replay_position_s == pytest.approx(snap.replay_duration_s, abs=0.1)
    assert w.seek.value() >= 995


# -- status by source kind ---------------------------------------------------------------------


def test_status_of_a_file_says_file_not_the_recorded_ble_labels(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed_until(rt, chunks, 2.0)
    w.refresh()
    text = w.status.text()
    assert w.kind == "file"
    assert text.startswith("file run_rearfoot_20s.insrec (recorded over BLE): reading")
    assert "ble-left" not in text
    assert "receiving" not in text
    assert "reconnects" not in text
    assert "not recording" not in text


@pytest.mark.parametrize(
    ("source", "kind", "start"),
    [
        ("sim:?seed=1", "sim", "simulator: connected"),
        ("serial:/dev/ttyUSB0", "serial", "serial /dev/ttyUSB0: connected"),
        ("ble:", "ble", "BLE: connected"),
        ("moticon-udp:9999", "moticon-udp", "Moticon UDP 9999: connected"),
    ],
)
def test_status_names_each_live_source_kind(source: str, kind: str, start: str) -> None:
    from insole.live.window import source_kind, window_status_text

    fake = SimpleNamespace(reader=SimpleNamespace(streams=[]), is_replay=False, source=source)
    assert source_kind(fake) == kind  # type: ignore[arg-type]
    snap = LiveRuntime("sim:?seed=1&duration=1").snapshot()
    snap = dataclasses.replace(snap, source=source,
                               connection={"left": "connected", "right": "connected"})
    text = window_status_text(snap, kind)
    assert text.startswith(start)
    assert "reconnects 0" in text
    assert "not recording" in text
    mixed = dataclasses.replace(snap, connection={"left": "connected", "right": "reconnecting"})
    assert "left: connected, right: reconnecting" in window_status_text(mixed, kind)


def test_a_live_source_keeps_its_stream_labels_when_they_disagree(qtbot) -> None:
    rt = LiveRuntime("sim:?seed=2&duration=2&speed=max").start()
    assert rt.wait_ended(30)
    w = _window(qtbot, rt)
    w.refresh()
    rt.stop()
    assert w.kind == "sim"
    assert w.status.text().startswith("simulator: ended")


# -- controls ----------------------------------------------------------------------------------


def test_no_record_button_during_a_replay(qtbot) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    assert w.replay_controls.isVisible()
    assert not w.record_button.isVisible()


def test_record_button_records_a_live_source(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rt = LiveRuntime("sim:?seed=4&duration=3&speed=4").start()
    w = _window(qtbot, rt)
    assert w.record_button.isVisible()
    assert not w.replay_controls.isVisible()
    w.record_button.click()
    assert rt.recording is not None
    assert "Stop recording" in w.record_button.text()
    assert rt.wait_ended(10)
    w.record_button.click()
    assert rt.recording is None
    rt.stop()
    files = list(tmp_path.glob("live-*.insrec"))
    assert len(files) == 1
    assert read_raw_recording(files[0]).streams


# -- pressure maps -----------------------------------------------------------------------------


def _swing_time(offline: SessionAnalysis, side: str, other_in_stance: bool) -> float:
    """A time in the middle of ``side``'s swing (optionally while the other foot is loaded)."""
    steps = offline.steps_
    own = [r for r in steps if r["side"] == side]
    other = [r for r in steps if r["side"] != side]
    for a, b in zip(own[5:], own[6:], strict=False):
        if other_in_stance:
            for r in other:
                mid = 0.5 * (r["heel_strike_s"] + r["toe_off_s"])
                if a["toe_off_s"] + 0.02 < mid < b["heel_strike_s"] - 0.02:
                    return mid
        else:
            return 0.5 * (a["toe_off_s"] + b["heel_strike_s"])
    raise AssertionError("no swing found")


def test_a_foot_in_swing_is_drawn_as_an_unloaded_insole(qtbot, offline, chunks) -> None:
    from PySide6.QtGui import QColor

    from insole.live.window import UNLOADED_COLOUR

    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed_until(rt, chunks, _swing_time(offline, "right", other_in_stance=True))
    w.refresh()
    swing, stance = w.maps["right"], w.maps["left"]
    assert swing.unloaded
    assert not stance.unloaded
    assert swing.no_load.isVisible()
    assert not stance.no_load.isVisible()
    # inside the outline: opaque, close to the slate "no load" colour, never black
    inside = swing.rgba[swing.mask]
    assert (inside[:, 3] == 255).all()
    want = np.array(QColor(UNLOADED_COLOUR).getRgb())[:3]
    assert np.abs(inside[:, :3].astype(int) - want).max() < 40
    assert inside[:, :3].max(axis=1).min() > 40  # no black pixel
    assert (swing.rgba[~swing.mask, 3] == 0).all()  # outside stays transparent
    # outline and sensors are there
    ox, _ = swing.outline.getData()
    assert len(ox) > 20
    assert len(swing.sensors.data) == len(w._snap.sides["right"].sensor_x_mm)
    # the loaded foot is warmer than the unloaded one
    assert stance.rgba[stance.mask, 0].max() > inside[:, 0].max() + 60


def test_medial_and_lateral_labels_face_the_right_way(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed_until(rt, chunks, 1.0)
    w.refresh()
    for side in ("left", "right"):
        fmap = w.maps[side]
        view = w._snap.sides[side]
        assert fmap.medial.textItem.toPlainText() == "medial"
        assert fmap.lateral.textItem.toPlainText() == "lateral"
        # the most medial sensor (first metatarsal side, negative x_mm) is drawn nearer the
        # medial label than the lateral one
        x_drawn, _ = fmap.sensors.getData()
        most_medial = x_drawn[int(np.argmin(view.sensor_x_mm))]
        assert abs(most_medial - fmap.medial.pos().x()) < abs(most_medial - fmap.lateral.pos().x())
    # medial sides face each other in the middle of the window
    assert w.maps["left"].medial.pos().x() > w.maps["left"].lateral.pos().x()
    assert w.maps["right"].medial.pos().x() < w.maps["right"].lateral.pos().x()


def test_centre_of_pressure_has_a_legend(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed_until(rt, chunks, 6.0)  # steps reach the runtime a few seconds in
    w.refresh()
    labels = [label.text for _, label in w.map_legend.items]
    assert any("centre-of-pressure" in text for text in labels)
    sample, _ = w.map_legend.items[0]
    assert sample.item is w.maps["left"].cop
    assert len(w.maps["left"].cop.getData()[0]) > 10  # a CoP path is drawn


def test_feet_are_drawn_the_same_size(qtbot) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    widths = [w.maps[s].plot.vb.width() for s in ("left", "right")]
    assert widths[0] == pytest.approx(widths[1], abs=1)


# -- feedback flash ----------------------------------------------------------------------------


class _FakeFlashSignal:
    """The interface of `insole.live.feedback.FlashSignal` the window relies on."""

    def __init__(self) -> None:
        self.subscribers: list[Any] = []

    def subscribe(self, fn: Any) -> None:
        self.subscribers.append(fn)

    def unsubscribe(self, fn: Any) -> None:
        self.subscribers.remove(fn)

    def cue(self, cue: Any) -> None:
        for fn in list(self.subscribers):
            fn(cue)


def test_flash_from_a_worker_thread_shows_then_hides(qtbot) -> None:
    from insole.live.window import FLASH_MS

    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    cue = SimpleNamespace(kind="heel", side="left", what="loading rate")
    worker = threading.Thread(target=w.flash, args=(cue,))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: w.flash_overlay.isVisible(), timeout=1000)
    assert w.flashes == 1
    assert w.flash_overlay.text() == "LEFT HEEL — loading rate above target"
    assert w.flash_overlay.geometry() == w.graphics.rect()
    qtbot.waitUntil(lambda: not w.flash_overlay.isVisible(), timeout=FLASH_MS + 1000)
    w.flash()  # no cue: a plain flash
    qtbot.waitUntil(lambda: w.flashes == 2, timeout=1000)
    assert w.flash_overlay.text() == "CUE"


def test_window_subscribes_to_the_runtime_feedback_flash(qtbot) -> None:
    rt = LiveRuntime(f"file:{REC}")
    signal = _FakeFlashSignal()
    rt.feedback = SimpleNamespace(flash=signal)  # what FeedbackEngine exposes
    w = _window(qtbot, rt)
    assert signal.subscribers == [w.flash]
    signal.cue(SimpleNamespace(kind="strike", side="right", what=""))
    qtbot.waitUntil(lambda: w.flashes == 1, timeout=1000)
    assert w.flash_overlay.text() == "RIGHT STRIKE"
    w.close()
    assert signal.subscribers == []


# -- redraw cost -------------------------------------------------------------------------------


def test_peak_envelope_keeps_extremes_and_stable_blocks() -> None:
    from insole.live.window import peak_envelope

    fs = 1000.0
    rng = np.random.default_rng(1)
    values = rng.normal(size=6000)
    values[1000:1100] = np.nan  # a lost stretch: whole NaN blocks, no warnings
    t = (12_345 + np.arange(6000)) / fs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x1, y1 = peak_envelope(t[:5000], values[:5000], sampling_rate_hz=fs, max_points=1200)
        x2, y2 = peak_envelope(t[1:5001], values[1:5001], sampling_rate_hz=fs, max_points=1200)
    assert len(x1) <= 1200 + 2 * 10
    assert np.nanmax(y1) == np.nanmax(values[:5000])
    assert np.nanmin(y1) == np.nanmin(values[:5000])
    assert np.isnan(y1).any()
    assert x1[0] == t[0]
    assert x1[-1] == t[4999]
    assert np.all(np.diff(x1) >= 0)
    # scrolling by one sample keeps the same blocks (no shimmer)
    common = np.intersect1d(x1[20:-20], x2[20:-20])
    assert len(common) > 0.9 * (len(x1) - 40)
    i1, i2 = np.searchsorted(x1, common), np.searchsorted(x2, common)
    np.testing.assert_array_equal(y1[i1], y2[i2])
    # short traces are drawn as they are
    xs, ys = peak_envelope(t[:500], values[:500], sampling_rate_hz=fs, max_points=1200)
    assert xs is t[:500] or np.array_equal(xs, t[:500])
    np.testing.assert_array_equal(ys, values[:500])


def test_a_1000_hz_trace_is_reduced_to_the_plot_width(qtbot, tmp_path: Path) -> None:
    rt = LiveRuntime("sim:?rate=1000&seed=1&duration=6&speed=max").start()
    assert rt.wait_ended(60)
    w = _window(qtbot, rt)
    w.refresh()
    rt.stop()
    for side in ("left", "right"):
        trace = w.traces[side]
        x, y = trace.total.getData()
        view = w._snap.sides[side]
        assert len(view.total_n) == 5000
        assert len(x) <= 3 * trace.plot.vb.width() + 20
        assert np.nanmax(y) == np.nanmax(view.total_n)  # peaks survive the reduction
        assert x[-1] == pytest.approx(0.0, abs=0.0015)  # the newest sample (of either side)


def test_an_unchanged_map_is_not_uploaded_again(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed_until(rt, chunks, 3.0)
    w.refresh()
    before = {s: m.uploads for s, m in w.maps.items()}
    w.refresh()
    w.refresh()
    assert {s: m.uploads for s, m in w.maps.items()} == before
    _feed_until(rt, [c for c in chunks if c.host_time_s > 3.0], 3.1)
    w.refresh()
    assert sum(m.uploads for m in w.maps.values()) > sum(before.values())
