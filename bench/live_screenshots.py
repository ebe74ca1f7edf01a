"""The live window's screenshots in docs/ (running, swing, alert, flash, band crossing), offscreen.

``screenshot-live.png`` is the window running on a live simulated source
(``sim:?seed=3&loss=0.01``: reader and pipeline in their threads, the window's own timer),
saved at the first redraw after 6 s that shows a foot loaded above 150 kPa. Each other shot
feeds a recording's chunks, up to a chosen recording time, through a `LiveRuntime`
(`LiveRuntime.process`, the worker's own code path, in this thread) and saves the window with
`LiveWindow.save_screenshot`, so the moment shown is exact and repeatable:

- ``screenshot-live-swing.png``: ``recordings/run_rearfoot_20s.insrec`` mid-swing of the right
  foot while the left foot is in stance;
- ``screenshot-live-alert.png``: a simulated run with a 35 % left/right heel-load asymmetry,
  20 s in (the asymmetry alert is active);
- ``screenshot-live-flash.png``: the same rearfoot run 30 ms after a left heel strike, with the
  window's feedback flash for a heel cue (``LiveWindow.flash``);
- ``screenshot-live-band.png``: the same rearfoot run compared with a history whose longest
  recent run lasted 15 s (with the steps of its first 16 s and the heel load of its first 14 s;
  armed), 1.5 s after it passed 1.1× of that: the band crossing in the banner, the progress
  under the metrics.

Usage: ``.venv/bin/python bench/live_screenshots.py [--out docs]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
REC = ROOT / "recordings" / "run_rearfoot_20s.insrec"


def _chunks(path: Path) -> list[Any]:
    from insole.recordings.container import read_raw_recording
    from insole.sources.readers import Chunk

    raw = read_raw_recording(path)
    items = []
    for sid, s in raw.streams.items():
        a = 0
        for t, end in zip(s.chunk_time_s, s.chunk_end, strict=True):
            items.append(Chunk(sid, s.data[a:int(end)], float(t), float(t)))
            a = int(end)
    return sorted(items, key=lambda c: c.host_time_s)


def _window_at(path: Path, t_s: float, recent: Any = None) -> tuple[Any, Any]:
    from pyqtgraph.Qt import QtWidgets

    from insole.live.runtime import LiveRuntime
    from insole.live.window import LiveWindow

    QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rt = LiveRuntime(f"file:{path}", recent=recent)
    win = LiveWindow(rt)
    win.timer.stop()
    win.show()
    rt.process([c for c in _chunks(path) if c.host_time_s <= t_s])
    return rt, win


def _steps(path: Path) -> list[dict[str, Any]]:
    from insole.session.analysis import SessionAnalysis

    return list(SessionAnalysis().run(path).steps_)


def running(out: Path) -> None:
    """The window on a live simulated source, caught with a foot in stance."""
    import time

    import numpy as np
    from pyqtgraph.Qt import QtWidgets

    from insole.live.runtime import LiveRuntime
    from insole.live.window import LiveWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rt = LiveRuntime("sim:?seed=3&loss=0.01").start()
    win = LiveWindow(rt, fps=40)
    win.show()
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 30.0:
            app.processEvents()
            time.sleep(0.005)
            loaded = [np.nanmax(m.values) for m in win.maps.values() if m.values is not None]
            if time.monotonic() - t0 > 6.0 and loaded and max(loaded) > 150.0:
                break
        win.timer.stop()
        pixmap = win.grab()  # as drawn by the running window (no extra redraw)
        pixmap.save(str(out / "screenshot-live.png"), "PNG")
    finally:
        win.close()
        rt.stop()


def swing(out: Path) -> None:
    """Right foot mid-swing, left foot mid-stance."""
    steps = _steps(REC)
    left = [r for r in steps if r["side"] == "left"][12]
    t = 0.5 * (left["heel_strike_s"] + left["toe_off_s"])
    _, win = _window_at(REC, t)
    win.save_screenshot(out / "screenshot-live-swing.png")
    win.close()


def alert(out: Path, tmp: Path) -> None:
    """An asymmetric run: the asymmetry alert in the banner."""
    from insole.commands.simulate import SimulationRequest, simulate_to_file

    path = tmp / "asymmetric.insrec"
    simulate_to_file(SimulationRequest(duration_s=30.0, seed=11, asymmetry_pct=35.0), path)
    steps = _steps(path)
    right = [r for r in steps if r["side"] == "right" and r["heel_strike_s"] > 20.0][0]
    _, win = _window_at(path, right["heel_strike_s"] + 0.04)
    win.save_screenshot(out / "screenshot-live-alert.png")
    if not win._snap.alerts:
        raise SystemExit("no alert at the chosen moment")
    win.close()


def flash(out: Path) -> None:
    """30 ms after a left heel strike, with the flash of a heel cue."""
    from pyqtgraph.Qt import QtWidgets

    steps = _steps(REC)
    left = [r for r in steps if r["side"] == "left"][14]
    _, win = _window_at(REC, left["heel_strike_s"] + 0.03)
    win.refresh()
    win.flash(SimpleNamespace(kind="heel", side="left", what="loading rate"))
    QtWidgets.QApplication.processEvents()
    win.save_screenshot(out / "screenshot-live-flash.png")
    win.close()


def band(out: Path) -> None:
    """1.5 s after the run passed 1.1× a "longest recent run" of its own first 15 s."""
    import math

    from insole.live.loadwatch import RecentMax

    steps = _steps(REC)
    n_steps = sum(r["toe_off_s"] <= 16.0 for r in steps)  # fewer steps than this run's cadence
    heel = sum(r["heel_impulse_ns"] for r in steps  # and a lower heel load
               if r["toe_off_s"] <= 14.0 and math.isfinite(r["heel_impulse_ns"]))
    recent = RecentMax(reference={"step_count": float(n_steps), "duration_s": 15.0,
                                  "heel_impulse_ns": heel}, armed=True)
    rt, win = _window_at(REC, 1.1 * 15.0 + 1.5, recent)
    win.save_screenshot(out / "screenshot-live-band.png")
    if win.band_event is None or "past 1.1×" not in win.banner.text():
        raise SystemExit(f"no band crossing in the banner: {win.banner.text()!r}")
    win.close()


def main() -> None:
    """Write the five screenshots."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    running(args.out)
    swing(args.out)
    with tempfile.TemporaryDirectory(prefix="live-shots-") as tmp:
        alert(args.out, Path(tmp))
    flash(args.out)
    band(args.out)
    for name in ("", "-swing", "-alert", "-flash", "-band"):
        print(args.out / f"screenshot-live{name}.png")


if __name__ == "__main__":
    main()
