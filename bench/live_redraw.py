"""Live window under load: 2 insoles x 16 sensors at 200 Hz and 1000 Hz, offscreen.

Streams a source in real time through `LiveRuntime` (reader + pipeline in worker threads) into
`LiveWindow` (QTimer pull, offscreen Qt, the Qt event loop running as in ``insole live``) and
prints, per rate:

- redraws/s actually done by the window;
- CPU share of the whole process (process time / wall time: the reader, the decoder and
  pipeline, and the GUI; with ``--source sim`` also the simulator generating the data) and of
  the GUI thread alone;
- samples the pipeline produced per insole vs samples written into the ring buffer the window
  draws from (lost = produced - buffered; target 0), and the decoder's lost frames;
- lag: how far the newest drawn sample is behind the source's own clock at the end (sim: wall
  time since start; file: the replay position the reader handed out).

Sources: ``file`` (default) simulates a recording at the rate first (not timed) and replays it
at 1x (``file:REC``, as ``insole replay REC``); ``sim`` streams the simulator (``sim:?rate=R``,
which also spends CPU generating the data).

Targets (issue 12): <= 40 % of one core for the whole process at 200 Hz with a file source and
the default 40 redraws/s; >= 50 redraws/s at 1000 Hz with ``--fps 60`` and 0 samples lost.

Usage: ``.venv/bin/python bench/live_redraw.py [--source file|sim] [--seconds 10] [--fps 40]
[--rates 200,1000]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _recording(rate: int, seconds: float, folder: Path) -> Path:
    from insole.commands.simulate import SimulationRequest, simulate_to_file

    path = folder / f"bench-{rate}hz.insrec"
    if not path.exists():
        simulate_to_file(SimulationRequest(duration_s=seconds + 5.0, seed=1,
                                           sample_rate_hz=rate), path)
    return path


def run(rate: int, seconds: float, fps: float, source: str, folder: Path) -> dict[str, float]:
    """Stream one source for ``seconds`` into an offscreen window; return the figures."""
    from pyqtgraph.Qt import QtCore, QtWidgets

    from insole.live.runtime import LiveRuntime
    from insole.live.window import LiveWindow

    url = (f"file:{_recording(rate, seconds, folder)}" if source == "file"
           else f"sim:?rate={rate}&seed=1&sensors=16")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rt = LiveRuntime(url)
    win = LiveWindow(rt, fps=fps)
    win.show()
    app.processEvents()
    rt.start()
    wall0, cpu0, gui0 = time.monotonic(), time.process_time(), time.thread_time()
    r0 = win.redraws
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(1000 * seconds), loop.quit)
    loop.exec()
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    gui = time.thread_time() - gui0
    redraws = win.redraws - r0
    snap = rt.snapshot()
    position = getattr(rt.reader, "position_s", None)
    rt.stop()
    win.close()
    produced = sum(v.samples for v in snap.sides.values())
    buffered = sum(v.samples_buffered for v in snap.sides.values())
    clock = wall if position is None else float(position)
    return {
        "rate_hz": rate,
        "redraws_per_s": redraws / wall,
        "cpu_process_pct": 100 * cpu / wall,
        "cpu_gui_thread_pct": 100 * gui / wall,
        "samples_produced": produced,
        "samples_buffered": buffered,
        "samples_lost": produced - buffered,
        "frames_lost": snap.frames_lost,
        "lag_s": clock - snap.now_s,
    }


def main() -> None:
    """Run the bench and print one line per rate."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--source", choices=("file", "sim"), default="file")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=40.0)
    ap.add_argument("--rates", default="200,1000", help="comma-separated sample rates [Hz]")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    print(f"live window, 2 insoles x 16 sensors, {args.source} source in real time, "
          f"{args.seconds:g} s per rate, QTimer at {args.fps:g} Hz, Qt offscreen, "
          f"{os.cpu_count()} CPUs")
    print(f"{'rate':>6} {'redraws/s':>10} {'CPU proc %':>11} {'CPU GUI %':>10} "
          f"{'produced':>9} {'buffered':>9} {'lost':>5} {'frames lost':>11} {'lag s':>6}"
          f"  load average (1, 5, 15 min) before / after")
    with tempfile.TemporaryDirectory(prefix="live-redraw-") as tmp:
        for rate in rates:
            if args.source == "file":
                _recording(rate, args.seconds, Path(tmp))  # simulate before timing
            before = os.getloadavg()
            r = run(rate, args.seconds, args.fps, args.source, Path(tmp))
            after = os.getloadavg()
            load = (f"{before[0]:.2f} {before[1]:.2f} {before[2]:.2f} / "
                    f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
            print(f"{r['rate_hz']:>6} {r['redraws_per_s']:>10.1f} {r['cpu_process_pct']:>11.1f} "
                  f"{r['cpu_gui_thread_pct']:>10.1f} {r['samples_produced']:>9} "
                  f"{r['samples_buffered']:>9} {r['samples_lost']:>5} {r['frames_lost']:>11} "
                  f"{r['lag_s']:>6.2f}  {load}", flush=True)
    print("targets: <= 40 % of one core (CPU proc) at 200 Hz with a file source at 40 redraws/s; "
          ">= 50 redraws/s at 1000 Hz with --fps 60; 0 samples lost")


if __name__ == "__main__":
    main()
