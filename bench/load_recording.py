"""Time loading a one-hour two-insole 16-sensor 200 Hz recording into arrays.

Creates the recording with the simulator (in a temporary folder, or at --path if given and
missing), then loads it with `insole.recordings.loader.load_recording` several times and prints the
figures. Run: .venv/bin/python bench/load_recording.py [--path FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.recordings.loader import load_recording


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--path", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or Path(tmp) / "hour.insrec"
        if not path.exists():
            t = time.perf_counter()
            simulate_to_file(SimulationRequest(duration_s=3600, seed=2), path)
            print(f"simulated and wrote one hour in {time.perf_counter() - t:.2f} s")
        size_mb = path.stat().st_size / 1e6
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            rec = load_recording(path)
            times.append(time.perf_counter() - t)
        samples = sum(d.n_samples for d in rec.devices)
        print(
            f"file {size_mb:.1f} MB, {rec.frames} frames, {samples} samples "
            f"({rec.devices[0].n_sensors} sensors), {rec.duration_s:.0f} s"
        )
        print(
            f"load_recording: median {statistics.median(times):.3f} s, "
            f"best {min(times):.3f} s over {args.repeat} runs "
            f"({rec.duration_s / statistics.median(times):.0f}x real time)"
        )


if __name__ == "__main__":
    main()
