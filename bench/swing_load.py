"""How much of a contact's peak the foot carries just before it: steps vs a stand's sway.

The detector's ``max_swing_load`` (0.5, with ``unloaded_level=0.0`` for force in N) calls a
contact a weight shift when its swing carried more than half its peak. This prints, for every
contact the detector finds with the test off, the load its swing carried (the lower of the
swing's median and its last 0.1 s, as the detector measures it) over its peak:

- gaitpdb (19 walks, both feet, 8-sensor insoles in N) and the running force plate (RBDS001):
  real steps, the distribution that must stay under the limit;
- simulated runs that start with a 20 s stand (``GaitConfig.stand_s``, 10 seeds): the
  contacts found before the truth's first heel strike are the stand's sway.

Run: .venv/bin/python bench/swing_load.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate import GAITPDB_DIR, PLATE_FILE, PLATE_RATE_HZ  # noqa: E402

from insole.core.events import detect_contacts  # noqa: E402
from insole.sources.importers.physionet import read_gaitpdb  # noqa: E402
from insole.sources.importers.table import read_table  # noqa: E402
from insole.sources.sim.gait import GaitConfig, simulate_gait  # noqa: E402

LIMIT = 0.5  # the detector's max_swing_load default


def ratios(force: np.ndarray, fs: float, before_s: float = np.inf) -> np.ndarray:
    """The load a contact's swing carried over the contact's peak, per contact.

    As the detector measures it: the lower of the swing's median (from the previous contact's
    toe-off, at most 3 s back) and the median of its last 0.1 s, here taken up to the heel
    strike (the detector's own swing ends at the on-crossing, a few samples later).
    """
    c = detect_contacts(force, sampling_rate_hz=fs)
    out = []
    prev_to = -np.inf
    for t, to, peak in zip(c.heel_strike_s, c.toe_off_s, c.peak_force_n, strict=True):
        i = int(t * fs)
        a = max(0, int(np.ceil(prev_to * fs)) if np.isfinite(prev_to) else 0, i - int(3 * fs))
        prev_to = to
        if t >= before_s:
            continue
        swing = force[a:i]
        swing = swing[np.isfinite(swing)]
        last = force[max(a, i - int(round(0.1 * fs))) : i]
        last = last[np.isfinite(last)]
        if swing.size and last.size and peak > 0:
            out.append(min(float(np.median(swing)), float(np.median(last))) / peak)
    return np.asarray(out)


def line(name: str, r: np.ndarray) -> str:
    if r.size == 0:
        return f"{name:44s} no contacts"
    return (
        f"{name:44s} {r.size:5d} contacts: min {r.min():.3f}, median {np.median(r):.3f}, "
        f"p99 {np.percentile(r, 99):.3f}, max {r.max():.3f}; "
        f"above {LIMIT}: {np.count_nonzero(r > LIMIT)}"
    )


def main() -> int:
    if GAITPDB_DIR.is_dir():
        walks = []
        for path in sorted(GAITPDB_DIR.glob("*_*.txt")):
            _, left, right, fs = read_gaitpdb(path)
            walks += [ratios(left.sum(axis=1), fs), ratios(right.sum(axis=1), fs)]
        print(line("gaitpdb, 19 walks, both feet (steps)", np.concatenate(walks)))
        (fy,), fs_plate = read_table(PLATE_FILE, columns=["Fy"], sampling_rate_hz=PLATE_RATE_HZ)
        assert fs_plate is not None
        print(line("running force plate RBDS001 (steps)", ratios(fy, fs_plate)))
    else:
        print("../shared/data not found: real-data lines skipped")
    sway = []
    for seed in range(1, 11):
        sim = simulate_gait(GaitConfig(duration_s=30.0, stand_s=20.0, seed=seed))
        for side in ("left", "right"):
            first = sim.truth.for_side(side).heel_strike_s.min()
            force = sim[side].force_n.sum(axis=1).astype(np.float64)
            sway.append(ratios(force, sim.sample_rate_hz, before_s=first - 0.05))
    print(line("simulated 20 s stands, 10 seeds (sway)", np.concatenate(sway)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
