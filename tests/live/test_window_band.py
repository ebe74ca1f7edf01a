"""Live window: "too much, too soon" band crossings in the banner; status words; flash place."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("pyqtgraph")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from helpers_live import recorded_chunks  # noqa: E402  (tests/ is on the path)

from insole.live.loadwatch import RecentMax  # noqa: E402
from insole.live.runtime import LiveRuntime  # noqa: E402
from insole.sources.readers import Chunk  # noqa: E402

REC = Path(__file__).resolve().parents[2] / "recordings" / "run_rearfoot_20s.insrec"
#: The "longest recent run" of the test history: 10 s (bands at 11 s, 13 s and 20 s).
REFERENCE = {"step_count": 1000.0, "duration_s": 10.0, "heel_impulse_ns": 1e9}


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    """The recording's chunks in time order (recorded time)."""
    return recorded_chunks(REC)


def _window(qtbot, rt: LiveRuntime) -> Any:
    from insole.live.window import LiveWindow

    w = LiveWindow(rt, fps=30)
    w.timer.stop()  # the test redraws explicitly
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _feed(rt: LiveRuntime, chunks: list[Chunk], t0_s: float, t1_s: float) -> None:
    rt.process([c for c in chunks if t0_s < c.host_time_s <= t1_s])


def test_a_band_crossing_shows_once_in_the_banner_when_it_happens(
    qtbot, chunks, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from insole.live import window

    monkeypatch.setattr(window, "BAND_BANNER_S", 1.5)
    rt = LiveRuntime(f"file:{REC}", recent=RecentMax(reference=REFERENCE, armed=True))
    w = _window(qtbot, rt)
    _feed(rt, chunks, -1.0, 10.8)
    w.refresh()
    assert w.band_alerts == 0
    assert w.banner.text().startswith("No alerts")
    _feed(rt, chunks, 10.8, 11.5)
    w.refresh()
    text = w.banner.text()
    assert w.band_alerts == 1
    assert text.startswith("11.0 s: past 1.1× your longest run of the last 30 days — duration")
    assert text == f"11.0 s: {rt.events()[0].text}"  # the terminal's sentence
    assert "caution band" in text
    w.refresh()
    w.refresh()
    assert w.band_alerts == 1  # read once, not on every redraw
    _feed(rt, chunks, 11.5, 12.8)  # 1.8 s later: the announcement is gone from the banner,
    w.refresh()  # but the run is still above the band: a steady line, never "No alerts"
    assert w.banner.text() == (
        "Above the caution band since 11.0 s: past 1.1× your longest run of the last 30 days "
        "— higher than your recent normal (an association in a study of runners, not a "
        "diagnosis)")
    assert w.band_alerts == 1
    _feed(rt, chunks, 12.8, 13.4)  # the next band: shown once as well
    w.refresh()
    assert w.band_alerts == 2
    assert w.banner.text().startswith("13.0 s: past 1.3×")
    assert "warning band" in w.banner.text()
    assert [e.kind for e in rt.events()].count("band") == 2
    _feed(rt, chunks, 13.4, 15.0)
    w.refresh()
    assert w.banner.text().startswith("Above the warning band since 13.0 s: past 1.3× your "
                                      "longest run of the last 30 days — ")
    assert w.band_alerts == 2


def test_band_crossing_is_shown_with_the_alerts_and_reset_by_a_new_session(qtbot, chunks,
                                                                            ) -> None:
    from insole.core.alerts import Alert
    from insole.live.loadwatch import SessionWatch

    rt = LiveRuntime(f"file:{REC}", recent=RecentMax(reference=REFERENCE, armed=True))
    w = _window(qtbot, rt)
    _feed(rt, chunks, -1.0, 11.5)
    w.refresh()
    alert = Alert(code="asymmetry", level="caution", message="left/right differ", time_s=11.2)
    rt.monitor.active[("asymmetry", None)] = alert
    w.refresh()
    assert w.banner.text().startswith("11.0 s: past 1.1×")
    assert w.banner.text().endswith("  •  left/right differ")
    rt.monitor.active.clear()
    rt.watch = SessionWatch(rt.monitor, rt.recent)  # what a seek does: a new event list
    w.refresh()
    assert w.band_event is None
    assert w.banner.text().startswith("No alerts")


def test_no_history_no_band_and_status_in_the_terminal_words(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed(rt, chunks, -1.0, 20.0)
    w.refresh()
    assert w.band_alerts == 0
    status = w.status.text()
    assert "frames lost 0 · unreadable 0" in status
    assert "bad" not in status


def test_flash_word_covers_no_title_or_axis(qtbot, chunks) -> None:
    rt = LiveRuntime(f"file:{REC}")
    w = _window(qtbot, rt)
    _feed(rt, chunks, -1.0, 6.0)
    w.refresh()
    w.flash(SimpleNamespace(kind="heel", side="left", what="loading rate"))
    qtbot.waitUntil(lambda: w.flash_overlay.isVisible(), timeout=1000)
    label = w.flash_overlay.label.geometry()  # overlay coordinates = graphics coordinates
    assert w.flash_overlay.geometry() == w.graphics.rect()
    assert w.graphics.rect().contains(label)
    plots = [m.plot for m in w.maps.values()] + [t.plot for t in w.traces.values()]
    for item in [*plots, w.colorbar, w.map_legend]:
        rect = w.graphics.mapFromScene(item.sceneBoundingRect()).boundingRect()
        assert not rect.intersects(label), item
