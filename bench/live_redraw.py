"""Live window under load: 2 insoles x 16 sensors at 200 Hz and 1000 Hz, offscreen.

Streams the simulator in real time (``sim:?rate=R``) through `LiveRuntime` (reader + pipeline
in worker threads) into `LiveWindow` (QTimer pull, offscreen Qt) and prints, per rate:

- redraws/s actually done by the window (target >= 30);
- CPU share of the whole process (process time / wall time; includes the simulator generating
  the data, the decoder and pipeline, and the GUI) and of the GUI thread alone
  (target < 50 % of one core at 200 Hz);
- samples the pipeline produced per insole vs samples written into the ring buffer the window
  draws from (lost = produced - buffered; target 0), and the decoder's lost frames;
- lag: wall time since start minus the newest sample time (how far the display is behind).

Usage: ``.venv/bin/python bench/live_redraw.py [--seconds 10] [--fps 40]``
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def run(rate: int, seconds: float, fps: float) -> dict[str, float]:
    from pyqtgraph.Qt import QtWidgets

    from insole.live.runtime import LiveRuntime
    from insole.live.window import LiveWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rt = LiveRuntime(f"sim:?rate={rate}&seed=1&sensors=16")
    win = LiveWindow(rt, fps=fps)
    win.show()
    app.processEvents()
    rt.start()
    wall0, cpu0, gui0 = time.monotonic(), time.process_time(), time.thread_time()
    r0 = win.redraws
    while time.monotonic() - wall0 < seconds:
        app.processEvents()
        time.sleep(0.002)
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    gui = time.thread_time() - gui0
    redraws = win.redraws - r0
    snap = rt.snapshot()
    rt.stop()
    win.close()
    produced = sum(v.samples for v in snap.sides.values())
    buffered = sum(v.samples_buffered for v in snap.sides.values())
    return {
        "rate_hz": rate,
        "redraws_per_s": redraws / wall,
        "cpu_process_pct": 100 * cpu / wall,
        "cpu_gui_thread_pct": 100 * gui / wall,
        "samples_produced": produced,
        "samples_buffered": buffered,
        "samples_lost": produced - buffered,
        "frames_lost": snap.frames_lost,
        "lag_s": wall - snap.now_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=40.0)
    args = ap.parse_args()
    print(f"live window, 2 insoles x 16 sensors, sim source in real time, {args.seconds:g} s "
          f"per rate, QTimer at {args.fps:g} Hz, Qt offscreen, {os.cpu_count()} CPUs")
    print(f"{'rate':>6} {'redraws/s':>10} {'CPU proc %':>11} {'CPU GUI %':>10} "
          f"{'produced':>9} {'buffered':>9} {'lost':>5} {'frames lost':>11} {'lag s':>6}")
    for rate in (200, 1000):
        r = run(rate, args.seconds, args.fps)
        print(f"{r['rate_hz']:>6} {r['redraws_per_s']:>10.1f} {r['cpu_process_pct']:>11.1f} "
              f"{r['cpu_gui_thread_pct']:>10.1f} {r['samples_produced']:>9} "
              f"{r['samples_buffered']:>9} {r['samples_lost']:>5} {r['frames_lost']:>11} "
              f"{r['lag_s']:>6.2f}")
    print("targets: >= 30 redraws/s, 0 samples lost, < 50 % of one core at 200 Hz "
          "(CPU proc % includes the simulator generating the data)")


if __name__ == "__main__":
    main()
