"""Time simulating one hour of two insoles end to end (gait model, firmware, link, recording).

Run: .venv/bin/python bench/simulate_speed.py [--duration S]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from insole.commands.simulate import SimulationRequest, simulate_to_file
from insole.sources.sim.gait import simulate_gait


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=3600.0)
    args = ap.parse_args()
    req = SimulationRequest(duration_s=args.duration, seed=3, loss=0.02, garbage_per_min=1.0)
    t = time.perf_counter()
    simulate_gait(req.gait_config())
    gait_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        written = simulate_to_file(req, Path(tmp) / "sim.insrec")
        total_s = time.perf_counter() - t
    print(f"gait model alone: {gait_s:.2f} s for {args.duration:.0f} s of two insoles")
    print(
        f"simulate_to_file: {total_s:.2f} s for {args.duration:.0f} s "
        f"({args.duration / total_s:.0f}x real time), {written['frames_sent']} frames, "
        f"{written['bytes'] / 1e6:.1f} MB, {written['steps']} steps"
    )


if __name__ == "__main__":
    main()
