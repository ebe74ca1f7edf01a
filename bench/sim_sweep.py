"""Heel-strike timing against the simulator's truth over many conditions, one change at a time.

`bench/sim_accuracy.py` judges the four strike patterns at the default conditions (200 Hz,
16 sensors, running at the model's cadence). This sweeps what a user may change: the
sampling rate (50-400 Hz), running or walking, cadence and speed, sensor count, a stand before
the gait, asymmetry, fatigue, body mass, random and burst frame loss and garbage on the link,
each from the default (seed 3, rearfoot). Per condition: true steps, share found within one
sample and within 10 ms, extra detections (more than 50 ms from any true contact), median and
p95 |error| of the heel strike, median contact-time error (valid toe-offs) and strike-class
agreement; see `bench/sim_accuracy.py` for the matching.

The simulator's truth is the first sample of non-zero force; the detector marks where the rise
leaves the swing's noise floor (docs/events.md step 3), so a slow rise (walking heel strikes)
is found a little after it: that bias is what the walking rows' median shows.

Run: .venv/bin/python bench/sim_sweep.py [--duration S]   (about 10 s at the default 120 s)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from sim_accuracy import measure  # bench/ is on the path when run as a script

from insole.commands.simulate import SimulationRequest

#: One change from the default request per row (seed 3, rearfoot, running, 200 Hz, 16 sensors).
CONDITIONS: list[dict[str, Any]] = [
    *({"sample_rate_hz": r, "gait": g} for r in (50, 100, 200, 400) for g in ("run", "walk")),
    *({"gait": "walk", "cadence_spm": c} for c in (80, 100, 130)),
    *({"gait": "run", "cadence_spm": c} for c in (150, 190)),
    {"speed_mps": 2.2},
    {"speed_mps": 5.5},
    *({"n_sensors": n} for n in (4, 8, 64)),
    {"gait": "walk", "n_sensors": 4, "sample_rate_hz": 100},
    {"strike": "forefoot", "sample_rate_hz": 100},
    {"stand_s": 20.0},
    {"gait": "walk", "stand_s": 20.0},
    {"asymmetry_pct": 15.0},
    {"fatigue_pct": 20.0},
    {"body_mass_kg": 45.0},
    {"body_mass_kg": 110.0},
    {"loss": 0.05},
    {"gait": "walk", "loss": 0.02},
    {"gait": "walk", "burst_loss": 0.01},
    {"gait": "walk", "garbage_per_min": 30.0},
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="seconds per run (120)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"{len(CONDITIONS)} conditions, {args.duration:g} s each, seed 3; errors in ms")
    print(f"{'condition':48s} {'steps':>5s} {'1 smp':>7s} {'10 ms':>7s} {'extra':>5s} "
          f"{'med':>6s} {'p95|e|':>6s} {'CT med':>6s} {'class':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        for change in CONDITIONS:
            req = SimulationRequest(duration_s=args.duration, seed=3, **change)
            m = measure(req, Path(tmp))
            label = ", ".join(f"{k}={v}" for k, v in change.items())
            print(f"{label:48s} {m['n']:5d} {m['within_pct']:6.2f}% {m['within_10ms_pct']:6.2f}% "
                  f"{m['extra']:5d} {m['median_ms']:+6.2f} {m['p95_ms']:6.2f} "
                  f"{m['contact_median']:+6.1f} {m['class_pct']:5.1f}%", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
