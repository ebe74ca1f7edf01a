"""Peak memory of ``insole analyze`` and ``insole info`` on a 1-hour and a 4-hour recording.

Simulates two-insole 16-sensor 200 Hz recordings of one and four hours (``insole simulate`` in a
child process, cached in the cache folder, ``/tmp/insole_bench`` by default: the 4-hour one
takes a while to simulate), runs each command in a fresh subprocess and prints its peak
resident set size (``ru_maxrss`` of that child, from :func:`os.wait4`; see bench/peak_rss.py
for why the bench itself must stay small) and the 4 h / 1 h ratio. Reading the recording block
by block keeps the ratio close to 1 (target: at most 1.3 for ``analyze``).

Run: .venv/bin/python bench/analyze_memory.py [--cache DIR] [--hours 1 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from peak_rss import own_peak_mb, peak_rss_mb, simulated  # bench/ is on the path

_BIN = Path(sys.executable).parent


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "insole_bench")
    ap.add_argument("--hours", type=int, nargs="+", default=[1, 4])
    args = ap.parse_args()
    paths = {h: simulated(args.cache / f"sim_{h}h.insrec", 3600.0 * h) for h in args.hours}
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
    print(f"(this bench's own peak RSS {own_peak_mb():.0f} MB: a child inherits it across exec, "
          "so figures above it are the commands' own; bench/peak_rss.py)")


if __name__ == "__main__":
    main()
