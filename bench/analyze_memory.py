"""Peak memory of ``insole analyze`` and ``insole info`` on a 1-hour and a 4-hour recording.

Simulates two-insole 16-sensor 200 Hz recordings of one and four hours (cached in the cache
folder, ``/tmp/insole_bench`` by default: the 4-hour one takes a while to simulate), runs each
command in a fresh subprocess and prints its peak resident set size (``ru_maxrss`` of that
child, from :func:`os.wait4`) and the 4 h / 1 h ratio. Reading the recording block by block
keeps the ratio close to 1 (target: at most 1.3 for ``analyze``).

Run: .venv/bin/python bench/analyze_memory.py [--cache DIR] [--hours 1 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from insole.commands.simulate import SimulationRequest, simulate_to_file

_BIN = Path(sys.executable).parent


def recording(cache: Path, hours: int) -> Path:
    """Return the cached simulated recording of ``hours`` hours, simulating it if needed.

    Parameters
    ----------
    cache : pathlib.Path
        Folder holding the recordings.
    hours : int
        Length of the recording [h].

    Returns
    -------
    pathlib.Path
        The recording (``sim_<hours>h.insrec``, seed 2, 1 % frame loss).
    """
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"sim_{hours}h.insrec"
    if not path.exists():
        t = time.perf_counter()
        tmp = path.with_suffix(".part")
        tmp.unlink(missing_ok=True)
        simulate_to_file(SimulationRequest(duration_s=3600.0 * hours, seed=2, loss=0.01), tmp)
        tmp.rename(path)
        print(f"simulated {path} in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in a fresh subprocess; return its peak RSS [MB] and wall time [s].

    Raises
    ------
    RuntimeError
        If the command fails.
    """
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode(errors='replace')}")
    return usage.ru_maxrss / 1024.0, time.perf_counter() - t  # ru_maxrss is in KiB on Linux


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "insole_bench")
    ap.add_argument("--hours", type=int, nargs="+", default=[1, 4])
    args = ap.parse_args()
    paths = {h: recording(args.cache, h) for h in args.hours}
    insole = str(_BIN / "insole")
    for command in ("analyze", "info"):
        peaks = {}
        for h, path in paths.items():
            peak, wall = peak_rss_mb([insole, command, str(path), "--json"])
            peaks[h] = peak
            size = path.stat().st_size / 1e6
            print(f"insole {command:7s} {h} h ({size:5.0f} MB file): peak RSS {peak:6.0f} MB, "
                  f"{wall:5.1f} s", flush=True)
        lo, hi = min(peaks), max(peaks)
        if hi != lo:
            print(f"insole {command:7s} ratio {hi} h / {lo} h: {peaks[hi] / peaks[lo]:.2f}")


if __name__ == "__main__":
    main()
