"""Time to simulate one hour of running with two 16-sensor insoles at 200 Hz.

Run: ``.venv/bin/python bench/sim_speed.py [duration_s]``
"""

import sys
import time
import tracemalloc

from insole.sources.sim.gait import GaitConfig, simulate_gait


def main() -> None:
    duration_s = float(sys.argv[1]) if len(sys.argv) > 1 else 3600.0
    config = GaitConfig(duration_s=duration_s, sample_rate_hz=200.0, strike="mixed")
    simulate_gait(GaitConfig(duration_s=5.0))  # warm-up (imports, caches)
    tracemalloc.start()
    start = time.perf_counter()
    sim = simulate_gait(config)
    elapsed_s = time.perf_counter() - start
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n_samples, n_sensors = sim.left.counts.shape
    print(
        f"simulated {duration_s:.0f} s, 2 insoles x {n_sensors} sensors x {n_samples} samples "
        f"({len(sim.truth)} steps) in {elapsed_s:.2f} s; peak traced memory "
        f"{peak_bytes / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
