"""Peak memory of ``insole replay FILE --no-gui --speed max`` on 10 min, 1 h and 4 h recordings.

The reliability issue's target: the 4-hour replay peaks at most 1.2 x the 10-minute one
(replay streams from disk). Recordings are simulated once (two 16-sensor insoles, 200 Hz,
1 % loss, seed 2) and kept in ``--dir`` (default: the temp folder) for later runs.

Run: .venv/bin/python bench/replay_memory.py [--dir D] [--durations 600 3600 14400]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _peak_of(cmd: list[str]) -> float:
    """Peak RSS [MB] of one child process (its own ``ru_maxrss``, via wait4)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-500:]}")
    return usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--durations", type=int, nargs="+", default=[600, 3600, 14400])
    args = ap.parse_args()
    insole = str(Path(sys.executable).with_name("insole"))
    peaks = {}
    for d in args.durations:
        rec = args.dir / f"insole-bench-replay-{d}s.insrec"
        if not rec.exists():
            subprocess.run([insole, "simulate", "--duration", str(d), "--seed", "2", "--loss",
                            "0.01", "--out", str(rec), "--quiet"], check=True,
                           stdout=subprocess.DEVNULL)
        peaks[d] = _peak_of([insole, "replay", str(rec), "--no-gui", "--speed", "max",
                             "--quiet"])
        print(f"replay --speed max {d / 60:6.0f} min: peak RSS {peaks[d]:.0f} MB", flush=True)
    first, last = args.durations[0], args.durations[-1]
    print(f"ratio {last / 60:.0f} min / {first / 60:.0f} min: {peaks[last] / peaks[first]:.2f} "
          "(target <= 1.2)")


if __name__ == "__main__":
    main()
