"""Heel-strike feedback latency: from the triggering frame to the cue, and from the footfall.

A simulated run (``insole simulate``: gait model, firmware batching SET_BATCH 2 at 200 Hz, a BLE
link with its 7.5 ms connection-interval grid; ground truth from the gait model, ``--truth``) is
fed chunk by chunk, in arrival order, to the live runtime (`LiveRuntime.process`, the code the
worker thread runs) with a `FeedbackEngine` whose sink records when each cue arrives.

Two figures per cue kind:

``interface``
    From handing the chunk that holds the triggering frame to the runtime (its host receive
    stamp, ``time.monotonic()``) to the cue arriving at the sink — the processing latency the
    software adds (decoder, pipeline, contact detector, impact follower, sinks). Target: p99
    ≤ 20 ms.
``physical`` (strike cues)
    From the physical heel strike (the gait model's exact contact start) to the cue: the link's
    arrival time of the triggering chunk minus the true heel strike, plus the interface latency.
    It holds the firmware batch (2 samples = 10 ms at 200 Hz), the BLE connection interval and
    the detector's confirmation delay (the contact is certain 10-30 ms of data after its
    onset). Target: p99 ≤ 60 ms. The heel strikes of the detector's start-up (the first
    `STARTUP_S` seconds, announced late in one go once it has learnt the signal's range) are
    reported apart.

Heel cues use targets at the runner's mean (``--feedback-above 0``; many cues, for
statistics) from an offline analysis of another simulated run of the same runner ("the
history"). A heel cue fires when the heel force passes the heel-peak target, or at the frame
completing the impact peak if the loading-rate index is above its target; both are reported.

``threaded`` (strike cues)
    The interface latency again, on the real live path: `LiveRuntime` started on a paced
    ``sim:`` source (reader thread → queue → worker thread → sink).

Not included: radio time beyond the simulated connection-interval grid, the OS audio / bell /
window latency after the sink (the window flashes on its next redraw: up to 1/fps later).

Usage::

    python bench/feedback_latency.py                  # 300 s run, seed 1, + 30 s threaded
    python bench/feedback_latency.py --seconds 120 --threaded-seconds 0 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.live.feedback import FeedbackEngine, FeedbackTarget, RecordingSink
from insole.live.runtime import LiveRuntime
from insole.recordings.container import read_raw_recording
from insole.session.analysis import SessionAnalysis
from insole.sources.readers.base import Chunk

#: The contact detector's start-up [s]: it learns the swing level and the force range from the
#: first seconds, and announces the heel strikes of that stretch only when it has (late, in one
#: go). Strike latencies are reported without it, and for it separately.
STARTUP_S = 5.0


def _pcts(ms: np.ndarray) -> dict[str, float]:
    if len(ms) == 0:
        return {"n": 0}
    return {"n": int(len(ms)), "median_ms": round(float(np.median(ms)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "max_ms": round(float(np.max(ms)), 2)}


def _feed(path: Path, engine: FeedbackEngine) -> dict[float, float]:
    """Feed the recording's chunks in arrival order; return host stamp → recorded arrival."""
    raw = read_raw_recording(path)
    items: list[tuple[float, int, bytes]] = []
    for sid, s in raw.streams.items():
        start = 0
        for end, t in zip(s.chunk_end.tolist(), s.chunk_time_s.tolist(), strict=True):
            items.append((t, sid, bytes(s.data[start:end])))
            start = end
    items.sort(key=lambda x: x[0])
    rt = LiveRuntime(f"file:{path}", feedback=engine)
    arrival: dict[float, float] = {}
    for t, sid, data in items:
        host = time.monotonic()
        arrival[host] = t
        rt.process([Chunk(sid, data, host, t)])
    rt.process([], finish=True)
    return arrival


def _truth(path: Path) -> dict[str, np.ndarray]:
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {side: np.sort([float(r["heel_strike_s"]) for r in rows if r["side"] == side])
            for side in ("left", "right")}


def run(seconds: float, seed: int) -> dict[str, Any]:
    """Simulate, feed, measure; return the figures."""
    with tempfile.TemporaryDirectory(prefix="insole-feedback-") as tmp:
        run_path, truth_path = Path(tmp) / "run.insrec", Path(tmp) / "run.truth.csv"
        hist_path = Path(tmp) / "history.insrec"
        req = SimulationRequest(duration_s=seconds, seed=seed, sample_rate_hz=200, batch=2,
                                link="ble")
        simulate_to_file(req, run_path, truth_path=truth_path)
        simulate_to_file(SimulationRequest(duration_s=120.0, seed=seed + 1, batch=2), hist_path)
        history = SessionAnalysis().run(hist_path).steps_
        heel_t = FeedbackTarget.from_values(history.column("heel_peak_n"), source="history",
                                            above_pct=0.0)
        rate_t = FeedbackTarget.from_values(history.column("loading_rate_index"),
                                            source="history", above_pct=0.0)

        strike_sink = RecordingSink()
        strike_engine = FeedbackEngine("strike", [strike_sink])
        arrival = _feed(run_path, strike_engine)
        heel_sink = RecordingSink()
        heel_arrival = _feed(run_path, FeedbackEngine("heel", [heel_sink], heel_target=heel_t,
                                                      rate_target=rate_t))
        truth = _truth(truth_path)

    interface_strike = strike_sink.latencies_ms()
    physical: list[float] = []
    startup: list[float] = []
    detection: list[float] = []
    for c, lat in zip(strike_sink.cues, interface_strike, strict=True):
        hs = truth[c.side]
        j = int(np.argmin(np.abs(hs - c.heel_strike_s)))
        if abs(hs[j] - c.heel_strike_s) > 0.05:
            continue  # a contact cut by the start or end (not in the truth)
        detection.append(1000.0 * (c.heel_strike_s - hs[j]))
        ms = 1000.0 * (arrival[c.trigger_host_s] - hs[j]) + lat
        (startup if hs[j] < STARTUP_S else physical).append(ms)
    heel_lat = heel_sink.latencies_ms()
    kinds = np.array([c.what for c in heel_sink.cues])
    heel_delay = np.array([1000.0 * (heel_arrival[c.trigger_host_s] - c.heel_strike_s)
                           for c in heel_sink.cues])
    return {
        "seconds": seconds,
        "sample_rate_hz": 200,
        "batch": 2,
        "link": "ble",
        "heel_strikes_in_truth": int(sum(len(v) for v in truth.values())),
        "strike_cues": len(strike_sink.cues),
        "strikes_not_cued_late": strike_engine.late_strikes,
        "strike_interface": _pcts(interface_strike),
        "strike_physical": _pcts(np.asarray(physical)),
        "strike_physical_startup": _pcts(np.asarray(startup)),
        "strike_time_error_ms_median": round(float(np.median(detection)), 2),
        "heel_cues": len(heel_sink.cues),
        "heel_interface": _pcts(heel_lat),
        "heel_interface_heel_peak": _pcts(heel_lat[kinds == "heel peak"]),
        "heel_interface_loading_rate": _pcts(heel_lat[kinds == "loading rate"]),
        "heel_after_contact_arrival": _pcts(heel_delay),
        "targets": {"heel_peak_n": round(heel_t.limit, 1) if heel_t else None,
                    "loading_rate_index": round(rate_t.limit, 0) if rate_t else None},
    }


def run_threaded(seconds: float, seed: int) -> dict[str, Any]:
    """The live path as ``insole live sim:`` runs it: reader thread, queue, worker thread.

    A ``sim:`` source paced in real time (200 Hz, SET_BATCH 2, BLE link) stamps each chunk when
    its reader hands it over; the cue's latency then also holds the queue hop to the runtime's
    worker and any wait for the GIL while the reader thread works.
    """
    sink = RecordingSink()
    source = f"sim:?rate=200&batch=2&link=ble&duration={seconds:g}&seed={seed}"
    rt = LiveRuntime(source, feedback=FeedbackEngine("strike", [sink])).start()
    rt.wait_ended(seconds + 30.0)
    rt.stop()
    return {"source": source, "strike_interface_threaded": _pcts(sink.latencies_ms())}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the figures (or JSON)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threaded-seconds", type=float, default=30.0,
                   help="length of the real-time threaded run (0: skip)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    r = run(args.seconds, args.seed)
    if args.threaded_seconds > 0:
        r.update(run_threaded(args.threaded_seconds, args.seed))
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['seconds']:g} s run, 200 Hz, SET_BATCH 2, simulated BLE link; "
          f"{r['heel_strikes_in_truth']} heel strikes in the truth")
    for name, key in (("strike cue, frame → cue", "strike_interface"),
                      ("strike cue, footfall → cue", "strike_physical"),
                      (f"  first {STARTUP_S:g} s (detector start-up)", "strike_physical_startup"),
                      ("heel cue, frame → cue", "heel_interface"),
                      ("  of which heel-peak cues", "heel_interface_heel_peak"),
                      ("  of which loading-rate cues", "heel_interface_loading_rate"),
                      ("heel cue, contact → frame arrival", "heel_after_contact_arrival"),
                      ("strike cue, frame → cue, threaded*", "strike_interface_threaded")):
        f = r.get(key, {"n": 0})
        if f["n"]:
            print(f"  {name:36s} n {f['n']:5d}  median {f['median_ms']:6.2f} ms  "
                  f"p99 {f['p99_ms']:6.2f} ms  max {f['max_ms']:6.2f} ms")
    print(f"  strike time vs truth (median)        {r['strike_time_error_ms_median']:+.2f} ms")
    print(f"  heel strikes not cued (announced > 150 ms late, start-up): "
          f"{r['strikes_not_cued_late']}")
    if "source" in r:
        print(f"  * live runtime threads, {r['source']} paced in real time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
