"""Time the offline analysis of a one-hour two-insole 16-sensor 200 Hz recording, and the
streaming cost per chunk (the live path: one BLE notification's bytes per call).

Run: .venv/bin/python bench/analyze_speed.py [--path FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from insole.analysis import SessionAnalysis
from insole.core.pipeline import Pipeline
from insole.recording import read_raw_recording
from insole.sim.run import SimulationRequest, simulate_to_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--path", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or Path(tmp) / "hour.insrec"
        if not path.exists():
            simulate_to_file(SimulationRequest(duration_s=3600, seed=2, loss=0.01), path)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            a = SessionAnalysis().run(path)
            times.append(time.perf_counter() - t)
        dur = a.summary_["duration_s"]
        med = statistics.median(times)
        print(
            f"offline: {a.summary_['step_count']} steps in {dur:.0f} s of recording; "
            f"median {med:.2f} s, best {min(times):.2f} s ({dur / med:.0f}x real time, one core)"
        )
        # Streaming: the first 10 minutes, chunk by chunk as received.
        raw = read_raw_recording(path)
        pipe = Pipeline(raw.header, emit_samples=True)
        costs = []
        limit = 600.0
        for sid, stream in raw.streams.items():
            for t_host, data in stream.iter_chunks():
                if t_host > limit:
                    break
                t = time.perf_counter()
                pipe.feed(sid, data)
                costs.append(time.perf_counter() - t)
        costs.sort()
        n = len(costs)
        total = sum(costs)
        print(
            f"streaming: {n} chunks (one frame each) for {limit:.0f} s of two insoles: "
            f"p50 {1e6 * costs[n // 2]:.0f} us, p99 {1e6 * costs[int(n * 0.99)]:.0f} us per chunk, "
            f"{total:.2f} s in all ({limit / total:.0f}x real time)"
        )


if __name__ == "__main__":
    main()
