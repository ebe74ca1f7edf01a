"""Start-up of an analysis process: numba's import and the first call of a compiled kernel.

Each variant runs in a fresh process (caches warm), best and median of ``--repeat``:

plain
    ``import insole.analysis``, then the first `insole.core.events.ContactDetector` (it imports
    numba and loads the detector's kernels from numba's cache), as `bench/analyze_speed.py`
    times it.
load_numba
    The same with `firmware_protocol._jit.load_numba` called first (numba's registries loaded
    without scipy.linalg and cffi), as ``insole.core.events._kernel`` would call it.

Printed per variant: the imports of the analysis path, then numba's import plus the first
call (what `bench/analyze_speed.py` reports as "first call of a compiled kernel"), and whether
scipy.linalg ended up imported.

Run: .venv/bin/python bench/startup_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CODE = """
import sys, time
t = time.perf_counter()
import numpy as np
import insole.analysis
t1 = time.perf_counter()
if {first!r}:
    from firmware_protocol._jit import load_numba
    load_numba()
from insole.core.events import ContactDetector
ContactDetector(sampling_rate_hz=200.0).feed(np.zeros(400))
t2 = time.perf_counter()
print(t1 - t, t2 - t1, "scipy.linalg" in sys.modules)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    variants = {"plain": False, "load_numba": True}
    res: dict[str, list[tuple[float, float, str]]] = {k: [] for k in variants}
    for _ in range(args.repeat):  # interleaved, so that load from other work falls on both
        for name, first in variants.items():
            out = subprocess.run(
                [sys.executable, "-c", CODE.format(first=first)],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            res[name].append((float(out[0]), float(out[1]), out[2]))
    for name, rows in res.items():
        imp = [r[0] for r in rows]
        first_call = [r[1] for r in rows]
        print(
            f"{name:<11} imports best {min(imp):.3f} s, median {statistics.median(imp):.3f} s; "
            f"numba + first kernel call best {min(first_call):.3f} s, median "
            f"{statistics.median(first_call):.3f} s; scipy.linalg imported: {rows[0][2]}"
        )


if __name__ == "__main__":
    main()
